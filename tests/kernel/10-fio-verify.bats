#!/usr/bin/env bats
# Data integrity over the whole device with fio verify=crc32c: 4 KiB random
# and 128 KiB sequential, QD1 and QD32, two jobs each covering half the
# device; then everything is read back and checked again.
# vm: --timeout 1500
# kernels: all

load helpers

fio_verify() {
	local name=$1 rw=$2 bs=$3 qd=$4
	fio --name="$name" --filename="$DEV" --direct=1 --ioengine=libaio \
		--rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs=2 \
		--size=50% --offset_increment=50% \
		--verify=crc32c --verify_fatal=1 --verify_state_save=0 --do_verify=1 \
		--randrepeat=0 --group_reporting --output-format=terse \
		>"$BATS_TEST_TMPDIR/$name.out" 2>&1 || {
		cat "$BATS_TEST_TMPDIR/$name.out" >&2; return 1; }
	# Then a separate read-only pass must find every block as written.
	fio --name="$name" --filename="$DEV" --direct=1 --ioengine=libaio \
		--rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs=2 \
		--size=50% --offset_increment=50% \
		--verify=crc32c --verify_fatal=1 --verify_state_save=0 --verify_only=1 \
		--randrepeat=0 --group_reporting --output-format=terse \
		>"$BATS_TEST_TMPDIR/$name.verify" 2>&1 || {
		cat "$BATS_TEST_TMPDIR/$name.verify" >&2; return 1; }
}

@test "device geometry: 4 KiB blocks, non-rotational, discard, queues" {
	rmem_standard_setup 128M 256M
	local b
	b=$(basename "$DEV")
	[ "$(blockdev --getsize64 "$DEV")" -eq $((128 << 20)) ]
	[ "$(cat /sys/block/$b/queue/logical_block_size)" -eq 4096 ]
	[ "$(cat /sys/block/$b/queue/physical_block_size)" -eq 4096 ]
	[ "$(cat /sys/block/$b/queue/rotational)" -eq 0 ]
	[ "$(cat /sys/block/$b/queue/discard_max_bytes)" -gt 0 ]
	[ "$(ls /sys/block/$b/mq | wc -l)" -eq "$(nproc)" ]
}

@test "fio verify: 4 KiB random writes, QD1, two jobs" {
	rmem_standard_setup 128M 256M
	fio_verify rand4k-qd1 randwrite 4k 1
}

@test "fio verify: 4 KiB random writes, QD32, two jobs" {
	rmem_standard_setup 128M 256M
	fio_verify rand4k-qd32 randwrite 4k 32
}

@test "fio verify: 128 KiB sequential writes, QD1, two jobs" {
	rmem_standard_setup 128M 256M
	fio_verify seq128k-qd1 write 128k 1
}

@test "fio verify: 128 KiB sequential writes, QD32, two jobs" {
	rmem_standard_setup 128M 256M
	fio_verify seq128k-qd32 write 128k 32
}

@test "data spans slab boundaries intact; discarding one slab spares the rest" {
	rmem_standard_setup 128M 256M
	# A pattern across every slab boundary, read back through the page cache
	# bypass.
	dd if=/dev/urandom of="$BATS_TEST_TMPDIR/pat" bs=1M count=128 status=none
	dd if="$BATS_TEST_TMPDIR/pat" of="$DEV" bs=1M oflag=direct status=none
	cmp "$BATS_TEST_TMPDIR/pat" <(dd if="$DEV" bs=1M iflag=direct status=none)
	# A discard of the first slab leaves the rest intact.
	blkdiscard -o 0 -l $((64 << 20)) "$DEV"
	cmp <(tail -c +$(((64 << 20) + 1)) "$BATS_TEST_TMPDIR/pat") \
	    <(dd if="$DEV" bs=1M skip=64 iflag=direct status=none)
}
