#!/usr/bin/env bats
# rmem as the only swap: a workload three times its cgroup's memory.max
# writes and checks all of its memory while the kernel swaps to the donor.
# vm: --timeout 1500 --mem 3G
# kernels: all

load helpers

@test "swap on rmem: workload at 3x memory.max keeps every byte" {
	rmem_standard_setup 1G 1G
	mkswap "$DEV"
	swapon --discard "$DEV"
	rmem_on_teardown "swapoff $DEV"
	swapon --show --noheadings | grep -q "^$DEV "
	local out0 in0 out1 in1
	out0=$(vmstat_get pswpout) in0=$(vmstat_get pswpin)
	run_in_cgroup rmem-swap 128M "$RMEM_TREE/bench/memstress" \
		--size 384 --mode uniform --ops 100000
	out1=$(vmstat_get pswpout) in1=$(vmstat_get pswpin)
	echo "pswpout +$((out1 - out0)) pswpin +$((in1 - in0))"
	# At least the excess over memory.max went out and came back in.
	[ $((out1 - out0)) -gt $(((384 - 128) * 256)) ]
	[ $((in1 - in0)) -gt 0 ]
	# The device saw those writes.
	run "$RMEMCTL" -j status "$(basename "$DEV")"
	[ "$status" -eq 0 ]
	local writes
	writes=$(python3 -c 'import json,sys; d=json.load(sys.stdin)["devices"][0]; print(d["stats"]["writes"])' <<<"$output")
	[ "$writes" -gt 0 ]
	# A busy device cannot be detached.
	run "$RMEMCTL" detach "$(basename "$DEV")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"in use"* ]]
	swapoff "$DEV"
	"$RMEMCTL" detach "$(basename "$DEV")"
	[ ! -b "$DEV" ]
	rmmod rmem
}

@test "swap on two replicas: a donor killed mid-run, the workload's check passes, nothing killed" {
	rmem_load donor_timeout=10
	rmem_on_teardown "rmmod rmem"
	start_donor 7470 768M 64M; local d0=$DONOR_PID
	start_donor 7471 768M 64M; local d1=$DONOR_PID
	start_donor 7472 768M 64M
	DEV=$("$RMEMCTL" attach --donor "$FAB_ADDR:7470" --donor "$FAB_ADDR:7471" \
		--donor "$FAB_ADDR:7472" --replicas 2 --size 512M)
	[ -b "$DEV" ]
	rmem_on_teardown "\"$RMEMCTL\" detach $(basename "$DEV")"
	"$RMEMCTL" agent --interval 2 >"$BATS_TEST_TMPDIR/agent.log" 2>&1 3>&- &
	rmem_on_teardown "kill $!"
	mkswap "$DEV"
	swapon --discard "$DEV"
	rmem_on_teardown "swapoff $DEV"
	local oom0 out0
	oom0=$(vmstat_get oom_kill) out0=$(vmstat_get pswpout)
	run_in_cgroup rmem-swap2 128M "$RMEM_TREE/bench/memstress" \
		--size 384 --mode uniform --ops 200000 >"$BATS_TEST_TMPDIR/ms.out" 2>&1 3>&- &
	local mpid=$!
	# kill a donor once the workload is swapping
	local i
	for i in $(seq 120); do
		[ $(($(vmstat_get pswpout) - out0)) -gt 20000 ] && break
		sleep 1
	done
	kill -9 "$d1"
	echo "donor killed after $i s, pswpout +$(($(vmstat_get pswpout) - out0))"
	local rc=0
	wait "$mpid" || rc=$?
	cat "$BATS_TEST_TMPDIR/ms.out"
	cat "$BATS_TEST_TMPDIR/agent.log"
	[ "$rc" -eq 0 ]
	[ "$(vmstat_get oom_kill)" -eq "$oom0" ]
	run "$RMEMCTL" -j status "$(basename "$DEV")"
	[ "$status" -eq 0 ]
	[ "$(jq '.devices[0].stats.errors' <<<"$output")" -eq 0 ]
	swapoff "$DEV"
}
