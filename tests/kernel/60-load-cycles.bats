#!/usr/bin/env bats
# Load, attach, use, detach, unload: 20 times, nothing left behind.
# vm: --timeout 1200
# kernels: all

load helpers

@test "module load/unload with devices attached and detached 20 times" {
	start_donor 7470 256M 64M
	local i
	for i in $(seq 20); do
		insmod "$RMEM_KO"
		DEV=$("$RMEMCTL" attach --donor "$FAB_ADDR:7470" --size 128M)
		echo "cycle $i: $DEV" >&2
		dd if=/dev/urandom of=/tmp/p bs=64k count=4 status=none
		dd if=/tmp/p of="$DEV" bs=64k oflag=direct status=none
		cmp /tmp/p <(dd if="$DEV" bs=64k count=4 iflag=direct status=none)
		# The module cannot go while a device exists.
		run rmmod rmem
		[ "$status" -ne 0 ]
		"$RMEMCTL" detach "$(basename "$DEV")"
		rmmod rmem
	done
	kill -0 "$DONOR_PID"
}
