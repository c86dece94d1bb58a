#!/usr/bin/env bats
# rmemctl donate/undonate: a host starts lending with `rmemctl donate`,
# grows and gives memory back through the donor's control socket, and the
# controller's capacity follows; slabs a client holds are never returned.
# vm: --timeout 1200 --mem 3G

load helpers

# `run !`: a command that must fail, checked (a bare `! cmd` is not).
bats_require_minimum_version 1.5.0

CTL_PORT=17490
SLAB_BYTES=$((64 << 20))

ctl() { "$RMEMCTL" --config "$DON_DIR/rmem.conf" "$@"; }

# The controller's view of the (only) donor: "total used"
ctl_donor() {
	curl -sf -H "Authorization: Bearer $(cat "$DON_DIR/token")" \
		"http://127.0.0.1:$CTL_PORT/v1/donors" |
		jq -r '.donors[0] | "\(.total_slabs) \(.used_slabs)"'
}

# wait_ctl_donor "TOTAL USED": the controller heard the new capacity
wait_ctl_donor() {
	local i got
	for i in $(seq 200); do
		got=$(ctl_donor 2>/dev/null)
		[ "$got" = "$1" ] && return 0
		sleep 0.1
	done
	echo "controller shows '$got', wanted '$1'" >&2
	tail -n 20 "$DON_DIR"/*.log >&2
	return 1
}

setup_file() {
	export DON_DIR=$BATS_FILE_TMPDIR/donate
	mkdir -p "$DON_DIR"
	head -c 32 /dev/urandom | base64 >"$DON_DIR/token"
	chmod 600 "$DON_DIR/token"
	cat >"$DON_DIR/rmem.conf" <<CONF
[cluster]
controller = 127.0.0.1:$CTL_PORT
token_file = $DON_DIR/token
slab_size = 64M
replicas = 1
[node]
name = donate-test
rdma_addr = 10.77.0.1
[controller]
listen = 127.0.0.1:$CTL_PORT
db = $DON_DIR/controller.db
heartbeat_interval_ms = 500
CONF
	rmem_load
	"$RMEM_TREE/server/controller/rmem-controllerd" --config "$DON_DIR/rmem.conf" \
		>"$DON_DIR/controller.log" 2>&1 3>&- &
	echo $! >"$DON_DIR/controller.pid"
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$CTL_PORT/metrics" && return 0
		sleep 0.1
	done
	return 1
}

teardown_file() {
	if [ -f /run/rmem/donord.pid ]; then
		kill "$(cat /run/rmem/donord.pid)" 2>/dev/null
	fi
	kill "$(cat "$DON_DIR/controller.pid")" 2>/dev/null
	sleep 1
	rmmod rmem 2>/dev/null || true
}

@test "donate starts a donor, grows it; undonate returns only free slabs" {
	export RMEM_DONORD=$DONORD
	local dev name pid

	run ctl donate
	[ "$status" -eq 2 ]
	run ctl undonate
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no rmem-donord answers"* ]]

	# No donor yet: donate starts one lending 128M (2 slabs of 64M).
	run ctl donate 128M --log "$DON_DIR/donord.log"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"started rmem-donord: lending 128M as 2 slabs"* ]]
	pid=$(cat /run/rmem/donord.pid)
	kill -0 "$pid"
	[ "$(stat -c %a /run/rmem/donord.sock)" = 600 ]
	wait_ctl_donor "2 0"

	# A second donate grows the same donor (same pid) to 4 slabs.
	run ctl donate 128M
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"grown: lending 256M as 4 slabs"* ]]
	[ "$(cat /run/rmem/donord.pid)" = "$pid" ]
	wait_ctl_donor "4 0"
	run ctl donate 100M
	[ "$status" -eq 1 ]
	[[ "$output" == *"multiple of the slab size"* ]]

	# A client takes 2 slabs by size and writes through them.
	dev=$(ctl attach --size 128M) || false
	[ -b "$dev" ]
	name=$(basename "$dev")
	rmem_on_teardown "\"$RMEMCTL\" --config \"$DON_DIR/rmem.conf\" detach $name"
	wait_ctl_donor "4 2"
	dd if=/dev/urandom of="$DON_DIR/pattern" bs=1M count=16 status=none
	dd if="$DON_DIR/pattern" of="$dev" bs=1M oflag=direct status=none
	cmp -n $((16 << 20)) "$DON_DIR/pattern" "$dev"

	# undonate gives back the 2 free slabs only; the held ones stay.
	run ctl undonate
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"returned 128M to the host; still lending 128M (2 slabs)"* ]]
	[[ "$output" == *"2 assigned slabs wait"* ]]
	wait_ctl_donor "2 2"
	# the client's data is untouched
	cmp -n $((16 << 20)) "$DON_DIR/pattern" "$dev"
	run ctl undonate
	[ "$status" -eq 0 ]
	[[ "$output" == *"returned nothing"* ]]

	# Detached: the rest goes back and the donor, lending nothing, stops.
	ctl detach "$name"
	run ctl undonate
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"returned 128M to the host; still lending 0"*"(0 slabs)"* ]]
	[[ "$output" == *"stopped"* ]]
	run ! kill -0 "$pid"
	[ ! -e /run/rmem/donord.sock ]
	grep -q "gave 128 MiB back to the host" "$DON_DIR/donord.log" || { tail -n 30 "$DON_DIR/donord.log"; false; }
}
