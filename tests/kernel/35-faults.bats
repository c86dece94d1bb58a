#!/usr/bin/env bats
# Faults that must never become I/O errors.  Each test runs fio with
# verify=crc32c (writes checked while they go, then all read back) through
# the fault and fails on any I/O error, any verify error and, in teardown,
# any kernel splat:
# - the fabric link down for 2 s and for 8 s, at one replica and at two;
# - a donor SIGKILLed at two replicas: the agent re-protects the slabs on
#   a third donor and the device is healthy again; a second donor failure
#   after that loses nothing; the resync target killed mid-resync;
# - the agent down while a donor dies: degraded I/O goes on, and
#   re-protection completes when it returns;
# - bad REPLICA_REPLACE requests are refused and change nothing.
# vm: --timeout 1800 --mem 3G

load helpers

# fio_start NAME: random 4 KiB writes at QD8 over the whole device, each
# block verified soon after it is written (verify_backlog) and all of it at
# the end; sets FIO_PID.
fio_start() {
	local name=$1 loops=${2:-2}
	fio --name="$name" --filename="$DEV" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=8 --numjobs=1 --loops="$loops" \
		--verify=crc32c --verify_fatal=1 --verify_backlog=512 \
		--verify_state_save=0 --randrepeat=0 --output-format=terse \
		>"$BATS_TEST_TMPDIR/$name.out" 2>&1 3>&- &
	FIO_PID=$!
}

# fio_wait: fio must finish cleanly: no I/O error, no verify error.
fio_wait() {
	local rc=0
	wait "$FIO_PID" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "fio failed ($rc):" >&2
		cat "$BATS_TEST_TMPDIR"/*.out >&2
		return 1
	fi
}

# fio_verify_all NAME: read back everything fio_start NAME wrote, checked.
fio_verify_all() {
	fio --name="$1" --filename="$DEV" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=8 --verify=crc32c \
		--verify_only=1 --verify_fatal=1 --verify_state_save=0 \
		--randrepeat=0 --output-format=terse >/dev/null
}

# dev_json: the device's status as JSON.
dev_json() { "$RMEMCTL" -j status "$(basename "$DEV")"; }

# dev_get EXPR: evaluate a python expression over the device dict `d`.
dev_get() {
	dev_json | python3 -c "import json,sys; d=json.load(sys.stdin)['devices'][0]; print($1)"
}

# no_errors: the driver counted no failed request.
no_errors() {
	local e
	e=$(dev_get 'd["stats"]["errors"]')
	echo "driver errors: $e"
	[ "$e" -eq 0 ]
}

# wait_healthy SECONDS: every slab live (all replicas in sync).
wait_healthy() {
	local i states
	for i in $(seq "$1"); do
		states=$(dev_get '" ".join(sorted({s["state"] for s in d["slabs"]}))' 2>/dev/null || true)
		[ "$states" = live ] && return 0
		sleep 1
	done
	echo "slabs not healthy after $1 s: $states" >&2
	dev_json >&2
	return 1
}

# link_blip SECONDS: the fabric netdev down, then up again.
link_blip() {
	ip link set fab0 down
	sleep "$1"
	ip link set fab0 up
}

setup_r1() {
	rmem_load io_timeout=45
	rmem_on_teardown "rmmod rmem"
	start_donor 7470 128M 64M
	attach_dev 64M 7470
}

# setup_r2 NDONORS SIZE [insmod params]: donors on ports 7470.. (pids in
# D0, D1, ...), all of them in the device, two replicas per slab.
setup_r2() {
	local n=$1 size=$2 i args=()
	shift 2
	rmem_load io_timeout=45 donor_timeout=10 "$@"
	rmem_on_teardown "rmmod rmem"
	for ((i = 0; i < n; i++)); do
		start_donor $((7470 + i)) 128M 64M
		eval "D$i=$DONOR_PID"
		args+=(--donor "$FAB_ADDR:$((7470 + i))")
	done
	DEV=$("$RMEMCTL" attach "${args[@]}" --replicas 2 --size "$size")
	[ -b "$DEV" ]
	rmem_on_teardown "\"$RMEMCTL\" detach $(basename "$DEV")"
	[ "$(dev_get 'd["replicas"]')" -eq 2 ]
}

start_agent() {
	"$RMEMCTL" agent --interval 2 >>"$BATS_TEST_TMPDIR/agent.log" 2>&1 3>&- &
	AGENT_PID=$!
	rmem_on_teardown "kill $AGENT_PID"
}

@test "link down 2 s at one replica: no I/O error" {
	setup_r1
	fio_start blip2
	sleep 5
	link_blip 2
	fio_wait
	no_errors
	wait_healthy 60
}

@test "link down 8 s at one replica: no I/O error" {
	setup_r1
	fio_start blip8
	sleep 5
	link_blip 8
	fio_wait
	no_errors
	wait_healthy 60
}

@test "link down 2 s at two replicas: no I/O error, replicas back in sync" {
	setup_r2 2 64M
	fio_start blip2r2
	sleep 5
	link_blip 2
	fio_wait
	no_errors
	wait_healthy 120
}

@test "link down 8 s at two replicas: no I/O error, replicas back in sync" {
	setup_r2 2 64M
	fio_start blip8r2
	sleep 5
	link_blip 8
	fio_wait
	no_errors
	wait_healthy 120
}

@test "donor SIGKILL at two replicas: no error, re-protected on a third donor" {
	# slab 0 on donors 0 and 1, slab 1 on donors 1 and 2
	setup_r2 3 128M
	start_agent
	fio_start kill1
	sleep 5
	kill -9 "$D1"
	fio_wait
	no_errors
	wait_healthy 180
	cat "$BATS_TEST_TMPDIR/agent.log"
	# every slab's replicas are now on 7470 and 7472, none on the dead donor
	local on
	on=$(dev_get '" ".join(sorted({r["donor_addr"] for s in d["slabs"] for r in s["replicas"]}))')
	echo "replicas on: $on"
	[[ "$on" != *:7471* ]] || false
	[[ "$on" == *:7472* ]] || false
	# and the data is there: a read-only pass over everything fio wrote
	fio_verify_all kill1
	# a second donor failure after re-protection loses nothing
	fio_start kill2 1
	sleep 3
	kill -9 "$D0"
	fio_wait
	no_errors
}

@test "resync target killed during resync: resync restarts elsewhere, no loss" {
	# one slab, on donors 0 and 1; donors 2 and 3 stand by.  A slow
	# resync (1 MB/s) so that the target can be killed while it copies.
	setup_r2 4 64M resync_rate=1
	fio_start prefill 1
	fio_wait
	start_agent
	kill -9 "$D1"
	local i st=""
	for i in $(seq 90); do
		st=$(dev_get '" ".join(r["state"]+"@"+r["donor_addr"] for r in d["slabs"][0]["replicas"])')
		[[ "$st" == *resyncing* ]] && break
		sleep 1
	done
	echo "replicas: $st"
	[[ "$st" == *resyncing@$FAB_ADDR:7472* ]] || false
	kill -9 "$D2"
	for i in $(seq 90); do
		st=$(dev_get '" ".join(r["state"]+"@"+r["donor_addr"] for r in d["slabs"][0]["replicas"])')
		[[ "$st" == *resyncing@$FAB_ADDR:7473* ]] && break
		sleep 1
	done
	echo "replicas after the target died: $st"
	[[ "$st" == *resyncing@$FAB_ADDR:7473* ]] || false
	echo 0 >/sys/module/rmem/parameters/resync_rate
	wait_healthy 180
	cat "$BATS_TEST_TMPDIR/agent.log"
	fio_verify_all prefill
	no_errors
}

@test "agent down while a donor dies: degraded I/O goes on, re-protection when it returns" {
	setup_r2 3 64M
	fio_start noagent 3
	sleep 4
	kill -9 "$D1"
	sleep 8
	# degraded, and nobody has replaced anything
	local st
	st=$(dev_get '" ".join(sorted({s["state"] for s in d["slabs"]}))')
	echo "slab states without the agent: $st"
	[[ "$st" == *degraded* ]] || false
	start_agent
	fio_wait
	no_errors
	wait_healthy 180
}

@test "REPLICA_REPLACE: a wrong slab, generation, slot or donor is refused and changes nothing" {
	setup_r2 3 128M
	local name before after
	name=$(basename "$DEV")
	kill -9 "$D1"
	# wait until the dead donor's replicas are lost
	local i
	for i in $(seq 30); do
		[[ "$(dev_get '" ".join(r["state"] for s in d["slabs"] for r in s["replicas"])')" == *lost* ]] && break
		sleep 1
	done
	before=$(dev_get '[(r["donor"],r["slab_id"],r["generation"],r["state"]) for s in d["slabs"] for r in s["replicas"]]')
	echo "before: $before"
	local slot
	slot=$(dev_get '[j for j,r in enumerate(d["slabs"][0]["replicas"]) if r["state"]=="lost"][0]')
	# the kernel's own checks: every REPLICA_OLD field given, so rmemctl
	# sends the request as it is
	run "$RMEMCTL" replace "$name" 7 "$slot" --donor "$FAB_ADDR:7472" \
		--old-donor-index 1 --old-slab-id 0 --old-generation 1
	[ "$status" -ne 0 ]
	[[ "$output" == *"no such slab"* ]] || false
	run "$RMEMCTL" replace "$name" 0 2 --donor "$FAB_ADDR:7472" \
		--old-donor-index 1 --old-slab-id 0 --old-generation 1
	[ "$status" -ne 0 ]
	[[ "$output" == *"no such replica slot"* ]] || false
	run "$RMEMCTL" replace "$name" 0 "$slot" --donor "$FAB_ADDR:7472" --old-donor-index 2
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not match"* ]] || false
	run "$RMEMCTL" replace "$name" 0 "$slot" --donor "$FAB_ADDR:7472" --old-generation 999
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not match"* ]] || false
	run "$RMEMCTL" replace "$name" 0 $((1 - slot)) --donor "$FAB_ADDR:7472"
	[ "$status" -ne 0 ]
	[[ "$output" == *"only a lost replica"* ]] || false
	run "$RMEMCTL" replace "$name" 0 "$slot" --donor "$FAB_ADDR:7470"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already holds a replica"* ]] || false
	run "$RMEMCTL" replace "$name" 0 "$slot" --donor "$FAB_ADDR:7999"
	[ "$status" -ne 0 ]
	after=$(dev_get '[(r["donor"],r["slab_id"],r["generation"],r["state"]) for s in d["slabs"] for r in s["replicas"]]')
	[ "$before" = "$after" ]
	# and the right request works
	run "$RMEMCTL" replace "$name" 0 "$slot" --donor "$FAB_ADDR:7472"
	[ "$status" -eq 0 ]
}
