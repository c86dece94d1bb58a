#!/usr/bin/env bats
# Bad input to the driver and to rmemctl: every request gets an error,
# nothing changes, the kernel stays quiet.
# vm: --timeout 900
# kernels: all

load helpers

# `run !`: a command that must fail, checked (a bare `! cmd` is not).
bats_require_minimum_version 1.5.0

@test "malformed and random netlink requests are refused, nothing changes" {
	rmem_load
	rmem_on_teardown "rmmod rmem"
	start_donor 7470 256M 64M
	attach_dev 128M
	run "$RMEM_TREE/tests/nlfuzz/rmem-nlfuzz" --iterations 3000 --seed "$RANDOM" \
		--donor "$FAB_ADDR:7470"
	echo "$output"
	[ "$status" -eq 0 ]
	# The existing device still works.
	dd if=/dev/urandom of="$BATS_TEST_TMPDIR/p" bs=1M count=4 status=none
	dd if="$BATS_TEST_TMPDIR/p" of="$DEV" bs=1M oflag=direct status=none
	cmp "$BATS_TEST_TMPDIR/p" <(dd if="$DEV" bs=1M count=4 iflag=direct status=none)
}

@test "rmemctl: malformed sizes and addresses are usage errors" {
	local bad
	for bad in 0 -1 1.5X abc 99999999999T 12Q ""; do
		run "$RMEMCTL" attach --donor "$FAB_ADDR:7470" --size "$bad"
		[ "$status" -eq 2 ] || { echo "size '$bad' gave $status: $output" >&2; false; }
	done
	for bad in 10.77.0.1:0 10.77.0.1:70000 10.77.0.1:x 999.1.1.1:7470 "[::1" ""; do
		run "$RMEMCTL" attach --donor "$bad" --size 64M
		[ "$status" -eq 2 ] || { echo "address '$bad' gave $status: $output" >&2; false; }
	done
	run "$RMEMCTL" attach --size 64M
	[ "$status" -eq 2 ]
	run "$RMEMCTL" frobnicate
	[ "$status" -eq 2 ]
}

@test "rmemctl: module not loaded is named" {
	run ! rmem_loaded
	run "$RMEMCTL" status
	[ "$status" -eq 1 ]
	[[ "$output" == *"not loaded"* ]]
}

@test "attach errors: unreachable donor, more than the donor lends, unknown name" {
	rmem_load
	rmem_on_teardown "rmmod rmem"
	start_donor 7470 128M 64M
	run timeout 60 "$RMEMCTL" attach --donor "$FAB_ADDR:7471" --size 64M
	echo "$output"
	[ "$status" -eq 1 ]
	run "$RMEMCTL" attach --donor "$FAB_ADDR:7470" --size 256M
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"space"* || "$output" == *"lends"* || "$output" == *"enough"* ]]
	run "$RMEMCTL" detach rmem-nosuch
	[ "$status" -eq 1 ]
	run "$RMEMCTL" status rmem-nosuch
	[ "$status" -eq 1 ]
	# Nothing was left behind, and the donor's slabs were all given back:
	# the whole donation can still be attached.
	run "$RMEMCTL" -j status
	[ "$status" -eq 0 ]
	python3 -c 'import json,sys; assert json.load(sys.stdin)["devices"] == []' <<<"$output"
	attach_dev 128M
}

@test "a busy device cannot be detached; an unprivileged user cannot attach" {
	rmem_standard_setup 128M 256M
	# bats owns fd 3: hold the device open from another process.
	sleep 120 <"$DEV" 3>&- &
	local holder=$!
	sleep 0.5
	run "$RMEMCTL" detach "$(basename "$DEV")"
	kill "$holder"; wait "$holder" 2>/dev/null || true
	[ "$status" -eq 1 ]
	[[ "$output" == *"in use"* ]]
	[ -b "$DEV" ]
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$RMEMCTL" attach --donor "$FAB_ADDR:7470" --size 64M
	[ "$status" -eq 1 ]
	[[ "$output" == *"ermission"* || "$output" == *"root"* ]]
	"$RMEMCTL" detach "$(basename "$DEV")"
	[ ! -b "$DEV" ]
}
