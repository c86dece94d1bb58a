#!/usr/bin/env bats
# Polled I/O (module parameter poll_queues): io_uring IOPOLL requests go to
# the poll hardware queues, whose completions the submitter reaps; data
# stays intact, a dying donor still fails requests in time, and without
# poll queues polled I/O is handled as the kernel handles it for any queue
# that cannot poll (null_blk is the reference).
# vm: --timeout 1200

load helpers

IO_TIMEOUT=5

polled_fio() {	# polled_fio NAME RW BS QD [fio args...]
	local name=$1 rw=$2 bs=$3 qd=$4
	shift 4
	fio --name="$name" --filename="$DEV" --direct=1 --ioengine=io_uring \
		--hipri=1 --rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs=2 \
		--size=50% --offset_increment=50% --randrepeat=0 \
		--group_reporting --output-format=terse "$@" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>&1 || {
		cat "$BATS_TEST_TMPDIR/$name.out" >&2; return 1; }
}

debugfs_up() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
}

# polled DISK: the driver's count of completions reaped by polling.
polled() {
	"$RMEMCTL" -j status "$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"][0]["stats"].get("polled", 0))'
}

@test "poll_queues=2: polling on, nproc + 2 hardware queues, 2 of type poll" {
	rmem_standard_setup 64M 128M poll_queues=2
	local b
	b=$(basename "$DEV")
	[ "$(cat /sys/block/$b/queue/io_poll)" = 1 ]
	[ "$(ls /sys/block/$b/mq | wc -l)" -eq $(($(nproc) + 2)) ]
	debugfs_up
	[ "$(cat /sys/kernel/debug/block/$b/hctx*/type | grep -cx poll)" -eq 2 ]
}

@test "poll_queues above the CPU count is capped at one per CPU" {
	rmem_standard_setup 64M 128M poll_queues=64
	[ "$(ls /sys/block/$(basename "$DEV")/mq | wc -l)" -eq $((2 * $(nproc))) ]
}

@test "fio verify over polled I/O: 4 KiB random QD1 and QD32, on the poll queues" {
	rmem_standard_setup 128M 256M poll_queues=2
	local b before after
	b=$(basename "$DEV")
	before=$(polled "$b")
	polled_fio rand4k-qd1 randwrite 4k 1 --verify=crc32c --verify_fatal=1 \
		--verify_state_save=0 --do_verify=1
	polled_fio rand4k-qd32 randwrite 4k 32 --verify=crc32c --verify_fatal=1 \
		--verify_state_save=0 --do_verify=1
	# and read back by interrupt-driven I/O: both kinds see the same data
	fio --name=readback --filename="$DEV" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=32 --numjobs=2 --size=50% \
		--offset_increment=50% --randrepeat=0 --verify=crc32c \
		--verify_fatal=1 --verify_state_save=0 --verify_only=1 \
		>"$BATS_TEST_TMPDIR/readback.out" 2>&1 || {
		cat "$BATS_TEST_TMPDIR/readback.out" >&2; false; }
	after=$(polled "$b")
	echo "$((after - before)) completions reaped by polling"
	# 128 MiB written and read back in 4 KiB polled requests, twice:
	# 131072 of them; the libaio read-back adds none
	[ $((after - before)) -ge 131072 ]
}

# kernel_serves_unpolled: does this kernel's block layer serve polled I/O
# on a blk-mq queue that cannot poll?  null_blk without poll queues, the
# block layer's own test device, answers: 6.1 clears REQ_POLLED and serves
# the request from the interrupt queues, 6.12 refuses it (EOPNOTSUPP).
kernel_serves_unpolled() {
	modprobe null_blk nr_devices=1 queue_mode=2 poll_queues=0 || return 2
	local rc=0
	fio --name=ref --filename=/dev/nullb0 --direct=1 --ioengine=io_uring \
		--hipri=1 --rw=write --bs=4k --size=64k >"$BATS_TEST_TMPDIR/ref.out" 2>&1 || rc=$?
	rmmod null_blk
	cat "$BATS_TEST_TMPDIR/ref.out"
	[ "$rc" -eq 0 ] && return 0
	grep -q 'Operation not supported' "$BATS_TEST_TMPDIR/ref.out" || return 2
	return 1
}

@test "without poll queues, polled I/O is handled as for any queue that cannot poll" {
	# Either way the data stays intact and nothing is counted as polled.
	local ref=0
	kernel_serves_unpolled || ref=$?
	echo "null_blk reference: $ref (0 served, 1 refused)"
	[ "$ref" -ne 2 ]
	rmem_standard_setup 64M 128M
	[ "$(cat /sys/block/$(basename "$DEV")/queue/io_poll)" = 0 ]
	if [ "$ref" -eq 0 ]; then
		polled_fio unpolled randwrite 4k 4 --verify=crc32c --verify_fatal=1 \
			--verify_state_save=0 --do_verify=1
	else
		run polled_fio unpolled randwrite 4k 4
		[ "$status" -ne 0 ]
		[[ "$output" == *"Operation not supported"* ]]
		# refused up front: no other error, and the device still works
		run grep -v 'error=Operation not supported' "$BATS_TEST_TMPDIR/unpolled.out"
		[[ "$output" != *"error="* ]]
		fio --name=after --filename="$DEV" --direct=1 --ioengine=libaio \
			--rw=randwrite --bs=4k --iodepth=4 --size=32M --randrepeat=0 \
			--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
			--output-format=terse >"$BATS_TEST_TMPDIR/after.out" 2>&1 ||
			{ cat "$BATS_TEST_TMPDIR/after.out"; false; }
	fi
	[ "$(polled "$(basename "$DEV")")" -eq 0 ]
}

@test "donor SIGKILLed during polled fio: errors within the timeout, no hang" {
	rmem_standard_setup 128M 256M io_timeout=$IO_TIMEOUT poll_queues=2
	fio --name=killme --filename="$DEV" --direct=1 --ioengine=io_uring \
		--hipri=1 --rw=randrw --bs=4k --iodepth=16 --numjobs=2 \
		--time_based --runtime=120 --output-format=terse \
		>"$BATS_TEST_TMPDIR/fio.out" 2>&1 3>&- &
	local fpid=$!
	sleep 4
	kill_donor_expect_fio_stops "$fpid" "$IO_TIMEOUT"
	grep -qi 'error' "$BATS_TEST_TMPDIR/fio.out"
	"$RMEMCTL" detach "$(basename "$DEV")"
	[ ! -b "$DEV" ]
	rmmod rmem
}
