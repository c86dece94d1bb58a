#!/usr/bin/env bats
# The operator flow through the controller: three donors register with
# rmem-controllerd, clients attach by size alone, the controller places
# and grants the slabs, detach gives them back.
# vm: --timeout 1500 --mem 4G
# kernels: all

load helpers

CTL_PORT=17480
SLAB=64M
SLAB_BYTES=$((64 << 20))
DONOR_ADDRS="10.77.0.1 10.77.0.2 10.77.0.3"

controllerd() { echo "$RMEM_TREE/server/controller/rmem-controllerd"; }

# rmemctl with this suite's cluster config
ctl() { "$RMEMCTL" --config "$CLUSTER_DIR/rmem.conf" "$@"; }

# ctl_api METHOD PATH: the controller's API with the token, as curl sees it
ctl_api() {
	curl -sf -X "$1" -H "Authorization: Bearer $(cat "$CLUSTER_DIR/token")" \
		"http://127.0.0.1:$CTL_PORT$2"
}

setup_file() {
	local a i
	export CLUSTER_DIR=$BATS_FILE_TMPDIR/cluster
	mkdir -p "$CLUSTER_DIR"
	head -c 32 /dev/urandom | base64 >"$CLUSTER_DIR/token"
	chmod 600 "$CLUSTER_DIR/token"
	cat >"$CLUSTER_DIR/rmem.conf" <<CONF
[cluster]
controller = 127.0.0.1:$CTL_PORT
token_file = $CLUSTER_DIR/token
slab_size = $SLAB
replicas = 1
[node]
name = client
rdma_addr = 10.77.0.1:7470
[controller]
listen = 127.0.0.1:$CTL_PORT
db = $CLUSTER_DIR/controller.db
heartbeat_interval_ms = 500
CONF
	for a in 10.77.0.2 10.77.0.3; do
		ip addr add "$a/24" dev fab0 2>/dev/null || true
	done
	rmem_load
	"$(controllerd)" --config "$CLUSTER_DIR/rmem.conf" \
		>"$CLUSTER_DIR/controller.log" 2>&1 3>&- &
	echo $! >"$CLUSTER_DIR/controller.pid"
	# three donors of 256M (4 slabs each), in three zones, started together
	i=0
	for a in $DONOR_ADDRS; do
		i=$((i + 1))
		"$DONORD" --listen "$a:7470" --size 256M --slab-size "$SLAB" \
			--controller "127.0.0.1:$CTL_PORT" \
			--token-file "$CLUSTER_DIR/token" --zone "z$i" \
			>"$CLUSTER_DIR/donor-$a.log" 2>&1 3>&- &
		echo $! >"$CLUSTER_DIR/donor-$a.pid"
	done
	for i in $(seq 600); do
		[ "$(ctl_api GET /v1/status 2>/dev/null | jq -r '.donors.up')" = 3 ] && return 0
		sleep 0.1
	done
	echo "donors did not all register:" >&2
	tail -n 20 "$CLUSTER_DIR"/*.log >&2
	return 1
}

teardown_file() {
	local f
	for f in "$CLUSTER_DIR"/donor-*.pid "$CLUSTER_DIR/controller.pid"; do
		if [ -f "$f" ]; then
			kill "$(cat "$f")" 2>/dev/null
		fi
	done
	sleep 1
	rmmod rmem 2>/dev/null || true
	for a in 10.77.0.2 10.77.0.3; do
		ip addr del "$a/24" dev fab0 2>/dev/null || true
	done
}

# attach_by_size SIZE [rmemctl attach args]: sets DEV
attach_by_size() {
	local size=$1
	shift
	DEV=$(ctl attach --size "$size" "$@") || return 1
	[ -b "$DEV" ] || { echo "attach printed '$DEV'" >&2; return 1; }
	rmem_on_teardown "\"$RMEMCTL\" --config \"$CLUSTER_DIR/rmem.conf\" detach $(basename "$DEV")"
}

# The device's slabs, as the kernel reports them: "ADDR:PORT SLAB_ID" lines
kernel_slabs() {
	"$RMEMCTL" -j status "$1" | jq -r '.devices[0] as $d |
		$d.slabs[] | .replicas[0] as $r |
		"\($d.donors[$r.donor].addr):\($d.donors[$r.donor].port) \($r.slab_id)"'
}

# The same from the controller, for the allocation of client id $1
controller_slabs() {
	ctl -j slabs | jq -r --arg c "$1" '.allocations[] | select(.client_id == $c) |
		.slabs | sort_by(.index)[] | .replicas[0] | "\(.addr) \(.slab_id)"'
}

@test "two clients attach by size; the controller spreads and bounds them" {
	local dev1 dev2 id1 id2 used total
	attach_by_size 320M --name rmemc1
	dev1=$DEV
	attach_by_size 256M --name rmemc2
	dev2=$DEV

	id1=$("$RMEMCTL" -j status rmemc1 | jq -r '.devices[0].client_id')
	id2=$("$RMEMCTL" -j status rmemc2 | jq -r '.devices[0].client_id')
	[ "$id1" != "$id2" ]
	[ ${#id1} -eq 32 ]

	# every slab the kernel uses is the one the controller granted it
	diff <(kernel_slabs rmemc1) <(controller_slabs "$id1")
	diff <(kernel_slabs rmemc2) <(controller_slabs "$id2")
	[ "$(kernel_slabs rmemc1 | wc -l)" -eq 5 ]
	[ "$(kernel_slabs rmemc2 | wc -l)" -eq 4 ]
	"$RMEMCTL" -j status rmemc1 | jq -e '[.devices[0].slabs[].state] | all(. == "live")'

	# spread: 9 slabs on 4-slab donors touch every donor, none beyond its size
	ctl -j donors | jq -e '.donors | length == 3 and all(.used <= .capacity) and all(.used > 0)'
	used=$(ctl -j donors | jq '[.donors[].used_slabs] | add')
	[ "$used" -eq 9 ]

	# status: the local devices as before, and the cluster as the controller sees it
	run ctl -j status
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.devices | length == 2'
	echo "$output" | jq -e '.cluster.clients == 2 and .cluster.donors_up == 3'
	echo "$output" | jq -e ".cluster.used_bytes == 9 * $SLAB_BYTES"
	ctl status | grep -q '^cluster: donors 3 up'

	# capacity is respected: 3 slabs are left, 256M (4) cannot be had
	run ctl attach --size 256M --name rmemc3
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"507"* ]]
	[ ! -e /dev/rmemc3 ]
	[ "$(ctl_api GET /v1/status | jq .allocations)" -eq 2 ]

	# the data path works on both
	for d in "$dev1" "$dev2"; do
		fio --name=verify --filename="$d" --direct=1 --rw=randwrite --bs=4k \
			--size=64M --offset=0 --verify=crc32c --verify_fatal=1 \
			--ioengine=psync --numjobs=1 >/dev/null
	done

	# detach gives the allocations back
	ctl detach rmemc1
	ctl detach rmemc2
	RMEM_CLEANUPS=()
	[ "$(ctl_api GET /v1/status | jq .allocations)" -eq 0 ]
	[ "$(ctl_api GET /v1/status | jq .slabs.used)" -eq 0 ]
	[ -z "$(controller_slabs "$id1")" ]
}

@test "a donor refuses slabs the controller did not grant" {
	run "$RMEM_TREE/tests/tools/rmem-abuse" --donor 10.77.0.2:7470 \
		--token-file "$CLUSTER_DIR/token" --wait 30
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *grant* ]]
	# and the donor is still registered and up
	ctl -j donors | jq -e '[.donors[] | select(.addr == "10.77.0.2:7470")][0].state == "up"'
}

@test "without a cluster config, attach still needs --donor" {
	run env -u RMEM_CONFIG "$RMEMCTL" attach --size 64M
	[ "$status" -eq 2 ]
	[[ "$output" == *"--donor"* ]]
}

# restart_controller: the controller again, on the same database
restart_controller() {
	"$(controllerd)" --config "$CLUSTER_DIR/rmem.conf" \
		>>"$CLUSTER_DIR/controller.log" 2>&1 3>&- &
	echo $! >"$CLUSTER_DIR/controller.pid"
	local i
	for i in $(seq 100); do
		ctl_api GET /v1/status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# Last: it kills a donor and the controller.
@test "two replicas through the controller: controller, agent and a donor down, no error; re-protected when they return" {
	echo 10 >/sys/module/rmem/parameters/donor_timeout
	attach_by_size 128M --replicas 2
	local name victim vpid
	name=$(basename "$DEV")
	[ "$("$RMEMCTL" -j status "$name" | jq '.devices[0].replicas')" -eq 2 ]
	# every slab's two copies on two different donors
	"$RMEMCTL" -j status "$name" | jq -e '[.devices[0].slabs[] |
		(.replicas | map(.donor) | unique | length) == 2] | all'
	fio --name=ctl --filename="$DEV" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=8 --loops=6 --verify=crc32c \
		--verify_fatal=1 --verify_backlog=512 --verify_state_save=0 \
		--randrepeat=0 --output-format=terse >"$BATS_TEST_TMPDIR/fio.out" 2>&1 3>&- &
	local fpid=$!
	sleep 3
	# controller down, no agent, then the donor of slab 0's second copy dies
	kill -9 "$(cat "$CLUSTER_DIR/controller.pid")"
	victim=$("$RMEMCTL" -j status "$name" | jq -r '.devices[0] as $d |
		$d.donors[$d.slabs[0].replicas[1].donor].addr')
	vpid=$(cat "$CLUSTER_DIR/donor-$victim.pid")
	echo "killing donor $victim ($vpid)"
	kill -9 "$vpid"
	local i st=""
	for i in $(seq 60); do
		st=$("$RMEMCTL" -j status "$name" | jq -r '[.devices[0].slabs[].replicas[].state] | join(" ")')
		[[ "$st" == *lost* ]] && break
		sleep 1
	done
	echo "replicas with controller and agent down: $st"
	[[ "$st" == *lost* ]] || false
	# degraded I/O went on: fio is still running, nothing failed so far
	kill -0 "$fpid"
	restart_controller
	"$RMEMCTL" --config "$CLUSTER_DIR/rmem.conf" agent --interval 2 \
		>"$BATS_TEST_TMPDIR/agent.log" 2>&1 3>&- &
	rmem_on_teardown "kill $!"
	wait "$fpid" || { cat "$BATS_TEST_TMPDIR/fio.out" >&2; false; }
	for i in $(seq 180); do
		st=$("$RMEMCTL" -j status "$name" | jq -r '[.devices[0].slabs[].state] | unique | join(" ")')
		[ "$st" = live ] && break
		sleep 1
	done
	cat "$BATS_TEST_TMPDIR/agent.log"
	echo "slab states: $st"
	[ "$st" = live ]
	[ "$("$RMEMCTL" -j status "$name" | jq '.devices[0].stats.errors')" -eq 0 ]
	# no copy left on the dead donor, and the controller saw it through
	run jq -e --arg v "$victim" '[.devices[0] as $d | $d.slabs[].replicas[] |
		$d.donors[.donor].addr] | index($v) == null' < <("$RMEMCTL" -j status "$name")
	[ "$status" -eq 0 ]
	local m
	m=$(curl -sf "http://127.0.0.1:$CTL_PORT/metrics")
	echo "$m" | grep -E '^rmem_(replacements_total|resync_bytes_total|slabs_degraded|reprotect_seconds_count)'
	[ "$(echo "$m" | awk '$1 == "rmem_replacements_total" { print $2 }')" -ge 1 ]
	[ "$(echo "$m" | awk '$1 == "rmem_slabs_degraded" { print $2 }')" -eq 0 ]
	[ "$(echo "$m" | awk '$1 == "rmem_reprotect_seconds_count" { print $2 }')" -ge 1 ]
}
