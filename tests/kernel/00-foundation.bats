#!/usr/bin/env bats
# The foundation: the module loads and unloads cleanly, Soft-RoCE works,
# and DKMS installs a module that modprobe finds.
# vm: --timeout 1200

load helpers

@test "module loads and unloads 50 times without a splat" {
	local before after i
	before=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)
	for i in $(seq 50); do
		insmod "$RMEM_KO"
		[ -d /sys/module/rmem ]
		rmmod rmem
		[ ! -d /sys/module/rmem ]
	done
	after=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)
	# 50 cycles must not eat memory: allow noise of 8 MiB.
	[ $((before - after)) -lt 8192 ] || {
		echo "MemAvailable dropped from $before to $after kB" >&2; false; }
}

@test "module registers its generic netlink family and unregisters it" {
	insmod "$RMEM_KO"
	rmem_on_teardown "rmmod rmem"
	run genl ctrl get name rmem
	[ "$status" -eq 0 ]
	[[ "$output" == *"Name: rmem"* ]]
	run "$RMEMCTL" status
	[ "$status" -eq 0 ]
	rmmod rmem
	run genl ctrl get name rmem
	[ "$status" -ne 0 ]
	run "$RMEMCTL" status
	[ "$status" -ne 0 ]
	[[ "$output" == *"not loaded"* ]]
}

@test "Soft-RoCE is up and an RDMA connection works (rping)" {
	run rdma link show rxe0/1
	[[ "$output" == *"state ACTIVE"* ]]
	rping -s -a "$FAB_ADDR" -p 7999 -C 5 >"$BATS_TEST_TMPDIR/server.log" 2>&1 &
	local spid=$!
	sleep 1
	run timeout 30 rping -c -a "$FAB_ADDR" -p 7999 -C 5 -v
	wait "$spid"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'ping data' <<<"$output")" -eq 5 ]
}

@test "DKMS builds and installs rmem; modprobe loads it" {
	local kver ver
	kver=$(uname -r)
	ver=$(cat "$RMEM_TREE/VERSION")
	run "$RMEM_TREE/tests/dkms-install.sh" "$kver"
	echo "$output"
	[ "$status" -eq 0 ]
	run dkms status -m rmem -v "$ver" -k "$kver"
	[[ "$output" == *installed* ]]
	modprobe rmem
	rmem_on_teardown "rmmod rmem"
	[ -d /sys/module/rmem ]
	# The loaded module is the DKMS one, not the one in the tree.
	[[ "$(modinfo -n rmem)" == */updates/dkms/* ]]
	rmmod rmem
}
