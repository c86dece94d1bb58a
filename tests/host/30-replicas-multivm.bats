#!/usr/bin/env bats
# Host failures at two replicas, with real machines' worth of separation:
# a client VM and two donor VMs joined by qemu socket links (each link its
# own Soft-RoCE device), and two more donors in the client VM.  fio with
# verify=crc32c runs through each fault (tests/host/replicas-mv-client.sh):
# first a donor's whole VM killed (its qemu process, SIGKILL), then the
# other donor's link cut for good.  Each must give no I/O error, no verify
# error, no kernel splat (the VM harness fails a run with a splat), and
# the slab re-protected by the agent on a donor in the client VM.
# One boot of the three VMs serves both faults (TCG boots are slow).

setup() {
	TREE=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	P1=$((20000 + RANDOM % 20000))
	P2=$((P1 + 1))
	mkdir -p "$TREE/tests/.vm"
	SYNC=$(mktemp -d "$TREE/tests/.vm/sync.XXXXXX")
	PIDS=()
}

teardown() {
	local p
	touch "$SYNC/done"
	for p in "${PIDS[@]}"; do kill_vm "$p"; done
	rm -rf "$SYNC"
}

# kill_vm PID: SIGKILL the qemu under the tests/vm/run process PID.
kill_vm() {
	local p=$1 c
	for c in $(pgrep -P "$p"); do
		if [ "$(ps -o comm= -p "$c")" = qemu-system-x86 ]; then
			kill -9 "$c"
		else
			kill_vm "$c"
		fi
	done
}

# start_donor_vm NAME PORT ADDR: a donor VM on the client's link PORT, in
# the background ($! is its tests/vm/run).
start_donor_vm() {
	"$TREE/tests/vm/run" --quiet --mem 1G --smp 1 --name "mv-donor-$1" \
		--timeout 900 --link "connect:$2:$3/24" -- \
		bash tests/host/replicas-mv-donor.sh "$SYNC" "$3" \
		>"$BATS_TEST_TMPDIR/donor-$1.log" 2>&1 3>&- &
}

# start_vms: the client VM (listening on both links), then the donors.
start_vms() {
	"$TREE/tests/vm/run" --rxe --mem 2G --name mv-client --timeout 900 \
		--link "listen:$P1:10.77.1.1/24" --link "listen:$P2:10.77.2.1/24" -- \
		bash tests/host/replicas-mv-client.sh "$SYNC" \
		>"$BATS_TEST_TMPDIR/client.log" 2>&1 3>&- &
	CLIENT=$!
	PIDS+=("$CLIENT")
	sleep 3
	start_donor_vm a "$P1" 10.77.1.2
	DONOR_A=$!
	start_donor_vm b "$P2" 10.77.2.2
	DONOR_B=$!
	PIDS+=("$DONOR_A" "$DONOR_B")
}

finish_client() {
	local rc=0
	wait "$CLIENT" || rc=$?
	grep -E '^client:|fio|agent' "$BATS_TEST_TMPDIR/client.log" || true
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$BATS_TEST_TMPDIR/client.log"
		return 1
	fi
}

@test "a donor's VM killed, then another's link cut for good, at two replicas: no I/O error, re-protected each time" {
	start_vms
	local i
	for i in $(seq 600); do
		[ -e "$SYNC/kill-a" ] && break
		kill -0 "$CLIENT" 2>/dev/null || break
		sleep 1
	done
	[ -e "$SYNC/kill-a" ] || { finish_client; false; }
	echo "killing donor VM A's qemu"
	kill_vm "$DONOR_A"
	finish_client
}
