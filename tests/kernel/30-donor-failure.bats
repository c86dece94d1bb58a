#!/usr/bin/env bats
# A donor that dies at one replica (no other copy): I/O waits for it, then
# errors within the request timeout, no hang, no splat, and the device can
# still be detached.  (At two replicas the same death costs nothing: see
# 35-faults.bats.)  A donor that restarts: the
# slabs it held report errors, never zeros.
# vm: --timeout 1500
# kernels: all

load helpers

IO_TIMEOUT=5

@test "donor SIGKILLed during fio: errors within the timeout, no hang" {
	rmem_standard_setup 256M 512M io_timeout=$IO_TIMEOUT
	# block 0 holds data (a never-written block reads as zeros without
	# asking any donor, rightly, so it would prove nothing below)
	dd if=/dev/urandom of="$DEV" bs=4k count=1 oflag=direct status=none
	fio --name=killme --filename="$DEV" --direct=1 --ioengine=libaio \
		--rw=randrw --bs=4k --iodepth=16 --numjobs=2 --time_based \
		--runtime=120 --output-format=terse \
		>"$BATS_TEST_TMPDIR/fio.out" 2>&1 3>&- &
	local fpid=$!
	sleep 4
	# fio must see errors and stop well before its 120 s runtime.
	kill_donor_expect_fio_stops "$fpid" "$IO_TIMEOUT"
	grep -qi 'error' "$BATS_TEST_TMPDIR/fio.out"
	# Further I/O fails promptly instead of hanging.
	run timeout $((IO_TIMEOUT * 3)) dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ]
	# The kernel noticed and counted it.
	run "$RMEMCTL" -j status "$(basename "$DEV")"
	[ "$status" -eq 0 ]
	python3 -c 'import json,sys; d=json.load(sys.stdin)["devices"][0]; assert d["stats"]["errors"] > 0, d["stats"]' <<<"$output"
	"$RMEMCTL" detach "$(basename "$DEV")"
	[ ! -b "$DEV" ]
	rmmod rmem
}

@test "donor restarted: its slabs fail, never read as zeros" {
	rmem_standard_setup 128M 256M io_timeout=$IO_TIMEOUT
	# Non-zero data everywhere.
	dd if=/dev/urandom of="$BATS_TEST_TMPDIR/pat" bs=1M count=128 status=none
	dd if="$BATS_TEST_TMPDIR/pat" of="$DEV" bs=1M oflag=direct status=none
	kill -9 "$DONOR_PID"
	wait "$DONOR_PID" 2>/dev/null || true
	start_donor 7470 256M 64M
	# Let the driver reconnect and learn the new instance id.
	local i state=""
	for i in $(seq 60); do
		state=$("$RMEMCTL" -j status "$(basename "$DEV")" |
			python3 -c 'import json,sys; d=json.load(sys.stdin)["devices"][0]; print(" ".join(sorted({s["state"] for s in d.get("slabs",[])})))' 2>/dev/null || true)
		[[ "$state" == *failed* ]] && break
		sleep 1
	done
	echo "slab states: $state"
	[[ "$state" == *failed* ]]
	# Every block read fails; none comes back as zeros or as old data.
	local off ok=0
	for off in 0 100 16383 16384 32767; do
		if dd if="$DEV" of="$BATS_TEST_TMPDIR/blk" bs=4k skip=$off count=1 \
			iflag=direct status=none 2>/dev/null; then
			echo "block $off read succeeded after the donor restarted" >&2
			ok=1
		fi
	done
	[ "$ok" -eq 0 ]
	# Writes fail too: the old memory is gone, new data has nowhere to go.
	run dd if=/dev/zero of="$DEV" bs=4k count=1 oflag=direct
	[ "$status" -ne 0 ]
	"$RMEMCTL" detach "$(basename "$DEV")"
}
