#!/usr/bin/env bats
# The foundation: the module loads and unloads cleanly, its netlink family
# comes and goes with it, and Soft-RoCE works.  (DKMS: tests/host/20-dkms.bats)
# vm: --timeout 1200
# kernels: all

load helpers

# Unreclaimable kernel memory (slab + percpu) in kB, caches dropped first.
kmem_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^SUnreclaim:/ { s += $2 } /^Percpu:/ { s += $2 } END { print s }' /proc/meminfo
}

@test "module loads and unloads 50 times without a splat or a leak" {
	local before after i
	# A few warm-up cycles fill caches that stay (module loader, kallsyms).
	for i in $(seq 5); do insmod "$RMEM_KO"; rmmod rmem; done
	before=$(kmem_kb)
	for i in $(seq 45); do
		insmod "$RMEM_KO"
		[ -d /sys/module/rmem ]
		rmmod rmem
		[ ! -d /sys/module/rmem ]
	done
	after=$(kmem_kb)
	echo "unreclaimable kernel memory: $before kB before, $after kB after"
	# A leak of even 50 kB a cycle would show as 2 MiB here.
	[ $((after - before)) -lt 2048 ]
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
	# fd 3 is bats' own: a background process must not hold it.
	timeout 120 rping -s -a "$FAB_ADDR" -p 7999 -C 5 \
		>"$BATS_TEST_TMPDIR/server.log" 2>&1 3>&- &
	local spid=$! i
	# The server needs a moment to listen under emulation: retry.
	for i in $(seq 20); do
		run timeout 30 rping -c -a "$FAB_ADDR" -p 7999 -C 5 -v
		[ "$status" -eq 0 ] && break
		sleep 1
	done
	wait "$spid"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'ping data' <<<"$output")" -eq 5 ]
}
