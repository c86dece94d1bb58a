#!/usr/bin/env bats
# rmemctl against the real driver: attach/status/detach in text and JSON,
# the monitor's events (device added/removed, donor lost), and the
# operator-facing errors.
# vm: --timeout 900

load helpers

# json_get EXPR: evaluate a Python expression over the JSON on stdin (as d)
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# wait_for FILE PATTERN: up to 20 s for PATTERN to show up in FILE
wait_for() {
	local i
	for i in $(seq 200); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "'$2' never appeared in $1:" >&2
	cat "$1" >&2
	return 1
}

@test "rmemctl: attach, status (text, JSON, verbose), detach" {
	rmem_load
	rmem_on_teardown "rmmod rmem"
	start_donor 7470 256M 64M
	run "$RMEMCTL" attach --donor "$FAB_ADDR:7470" --size 128M
	[ "$status" -eq 0 ]
	[ "$output" = /dev/rmem0 ]
	[ -b /dev/rmem0 ]
	rmem_on_teardown "\"$RMEMCTL\" detach rmem0"

	run "$RMEMCTL" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"rmem0: /dev/rmem0 state live size 128M slab-size 64M"* ]]
	[[ "$output" == *"donor 0: $FAB_ADDR:7470 state live"* ]]
	[[ "$output" == *"slabs 2: live 2 reconnecting 0 failed 0"* ]]
	[[ "$output" != *"slab 0:"* ]]
	run "$RMEMCTL" status -v rmem0
	[ "$status" -eq 0 ]
	[[ "$output" == *"slab 1: live"* ]]

	run "$RMEMCTL" -j status
	[ "$status" -eq 0 ]
	[ "$(json_get 'd["devices"][0]["size"]' <<<"$output")" = 134217728 ]
	[ "$(json_get 'd["devices"][0]["slab_size"]' <<<"$output")" = 67108864 ]
	[ "$(json_get 'd["devices"][0]["donors"][0]["port"]' <<<"$output")" = 7470 ]
	[ "$(json_get 'len(d["devices"][0]["slabs"])' <<<"$output")" = 2 ]
	[ "$(json_get 'd["devices"][0]["slab_summary"]["live"]' <<<"$output")" = 2 ]

	# writes show up in the counters, in bytes
	dd if=/dev/zero of=/dev/rmem0 bs=1M count=2 oflag=direct status=none
	run "$RMEMCTL" -j status /dev/rmem0
	[ "$status" -eq 0 ]
	[ "$(json_get 'd["devices"][0]["stats"]["write_bytes"]' <<<"$output")" = 2097152 ]

	run "$RMEMCTL" -j attach --donor "$FAB_ADDR:7470" --size 64M --name spare
	[ "$status" -eq 0 ]
	[ "$(json_get 'd["path"]' <<<"$output")" = /dev/spare ]
	run "$RMEMCTL" attach --donor "$FAB_ADDR:7470" --size 64M --name spare
	[ "$status" -eq 1 ]
	[[ "$output" == *"already exists"* ]]
	"$RMEMCTL" detach /dev/spare
	"$RMEMCTL" detach rmem0
	[ ! -b /dev/rmem0 ]
	run "$RMEMCTL" -j status
	[ "$(json_get 'len(d["devices"])' <<<"$output")" = 0 ]
	run "$RMEMCTL" status rmem0
	[ "$status" -eq 1 ]
	[[ "$output" == *"no such device: rmem0"* ]]
}

@test "rmemctl monitor: device and donor events, text and JSON; ends on rmmod" {
	rmem_load io_timeout=5
	rmem_on_teardown "rmmod rmem"
	local mon="$BATS_TEST_TMPDIR/mon" monj="$BATS_TEST_TMPDIR/monj"
	"$RMEMCTL" monitor >"$mon" 2>&1 3>&- &
	local mon_pid=$!
	"$RMEMCTL" -j monitor >"$monj" 2>&1 3>&- &
	local monj_pid=$!
	rmem_on_teardown "kill $mon_pid $monj_pid"
	sleep 0.5
	start_donor 7470 256M 64M
	attach_dev 128M
	wait_for "$mon" "rmem0 dev-added"
	wait_for "$monj" '"event":"dev-added"'

	kill -9 "$DONOR_PID"
	wait "$DONOR_PID" 2>/dev/null || true
	# any I/O notices the dead donor
	dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct status=none || true
	wait_for "$mon" "rmem0 donor-lost donor 0"
	wait_for "$monj" '"event":"donor-lost","donor":0'
	run "$RMEMCTL" -j status rmem0
	[ "$(json_get 'd["devices"][0]["state"]' <<<"$output")" = degraded ]

	"$RMEMCTL" detach rmem0
	wait_for "$mon" "rmem0 dev-removed"
	# SIGINT ends the JSON monitor cleanly; every line it wrote is JSON
	kill -INT "$monj_pid"
	wait "$monj_pid"
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$monj"
	# unloading the module ends the other one, with a reason
	rmmod rmem
	local st=0
	wait "$mon_pid" || st=$?
	[ "$st" -eq 1 ]
	grep -q "module was unloaded" "$mon"
}

@test "rmemctl errors: unreachable donor, too big, busy, no permission" {
	rmem_load
	rmem_on_teardown "rmmod rmem"
	start_donor 7470 128M 64M
	run timeout 60 "$RMEMCTL" attach --donor "$FAB_ADDR:7471" --size 64M
	[ "$status" -eq 1 ]
	[[ "$output" == *"donor unreachable"* ]]
	[[ "$output" == *"(kernel: "* ]]
	run "$RMEMCTL" attach --donor "$FAB_ADDR:7470" --size 256M
	[ "$status" -eq 1 ]
	[[ "$output" == *"larger than the donors lend"* ]]
	attach_dev 64M
	# hold the device open (not on fd 3: bats owns it)
	sleep 60 <"$DEV" 3>&- &
	local holder=$!
	rmem_on_teardown "kill $holder"
	sleep 0.5
	run "$RMEMCTL" detach "$DEV"
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	[ "$status" -eq 1 ]
	[[ "$output" == *"device rmem0 is in use (mounted, open or swapped on)"* ]]
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$RMEMCTL" detach rmem0
	[ "$status" -eq 1 ]
	[[ "$output" == *"needs root (CAP_NET_ADMIN)"* ]]
	# reading status needs no privilege
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$RMEMCTL" -j status
	[ "$status" -eq 0 ]
}
