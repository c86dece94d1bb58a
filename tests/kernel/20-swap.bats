#!/usr/bin/env bats
# rmem as the only swap: a workload three times its cgroup's memory.max
# writes and checks all of its memory while the kernel swaps to the donor.
# vm: --timeout 1500 --mem 3G

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
