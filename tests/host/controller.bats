#!/usr/bin/env bats
# rmem-controllerd on the host, loopback only: API, errors, heartbeats,
# donor restarts, and durability across SIGKILL.
#
# Needs: bats, curl, jq, python3, sqlite3.  The binary is
# $RMEM_CONTROLLERD, else server/controller/rmem-controllerd of this tree.

# `run !` (a command that must fail, checked where `! cmd` is not).
bats_require_minimum_version 1.5.0

TOKEN=test-token-6f1c0b2e9a7d4c35
CLIENT=00112233445566778899aabbccddeeff
MIB=1048576

setup() {
	CTLD=${RMEM_CONTROLLERD:-$BATS_TEST_DIRNAME/../../server/controller/rmem-controllerd}
	[ -x "$CTLD" ] || skip "rmem-controllerd not built"
	DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rmem-ctl.XXXXXX")
	printf '%s\n' "$TOKEN" > "$DIR/token"
	chmod 600 "$DIR/token"
	cat > "$DIR/rmem.conf" <<-EOF
	[cluster]
	token_file = $DIR/token
	slab_size = 1M
	replicas = 1
	[controller]
	db = $DIR/state.db
	heartbeat_interval_ms = 60000
	[quotas]
	ffffffffffffffffffffffffffffffff = 3M
	EOF
	PID=
}

teardown() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID"
		wait "$PID" 2>/dev/null || true
	fi
	[ -n "${DIR:-}" ] && rm -rf "$DIR"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_ctl [extra args]: runs the controller, waits until it answers.
start_ctl() {
	PORT=${PORT:-$(free_port)}
	URL=http://127.0.0.1:$PORT
	"$CTLD" --config "$DIR/rmem.conf" --listen "127.0.0.1:$PORT" "$@" \
		>>"$DIR/log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "$URL/metrics" && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$DIR/log" >&2
	return 1
}

stop_ctl() {
	kill -TERM "$PID"
	wait "$PID"
}

# api METHOD PATH [BODY]: prints the body, then the status on the last line.
api() {
	curl -s -X "$1" -H "Authorization: Bearer $TOKEN" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
		-w '\n%{http_code}' "$URL$2"
}

# expect STATUS METHOD PATH [BODY]: checks the status, leaves the body in $body.
expect() {
	local want=$1 out
	shift
	out=$(api "$@")
	status_got=${out##*$'\n'}
	body=${out%$'\n'*}
	if [ "$status_got" != "$want" ]; then
		echo "$* -> $status_got (wanted $want): $body" >&2
		return 1
	fi
}

register() {	# register ADDR INSTANCE TOTAL [ZONE] -> prints donor id
	# called in $(...), where errexit is off: the failure must be returned
	expect "${5:-201}" POST /v1/donors \
		"{\"addr\":\"$1\",\"instance_id\":$2,\"slab_size\":$MIB,\"total_slabs\":$3,\"zone\":\"${4:-}\"}" ||
		return 1
	jq -r .id <<<"$body"
}

@test "--help and bad configuration give clear messages" {
	run "$CTLD" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--token-file"* ]]

	printf '[cluster]\nslab_size = 1M\nreplicas = seven\n' > "$DIR/bad.conf"
	run "$CTLD" --config "$DIR/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$DIR/bad.conf:3: [cluster] replicas"* ]]

	run "$CTLD" --config "$DIR/missing.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$DIR/missing.conf: cannot open"* ]]

	run "$CTLD" --config "$DIR/rmem.conf" --token-file "$DIR/none"
	[ "$status" -eq 1 ]
	[[ "$output" == *"token file $DIR/none"* ]]
}

@test "register, allocate with verifiable grants, list, release" {
	start_ctl
	d1=$(register 10.77.0.2:7470 1111 8 rack1)
	d2=$(register 10.77.0.3:7470 2222 8 rack2)
	[ "$d1" = 1 ]
	[ "$d2" = 2 ]

	# Same donor run again: same id, 200, nothing lost.
	expect 200 POST /v1/donors \
		"{\"addr\":\"10.77.0.2:7470\",\"instance_id\":1111,\"slab_size\":$MIB,\"total_slabs\":8,\"zone\":\"rack1\"}"
	[ "$(jq .id <<<"$body")" = 1 ]

	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((3 * MIB - 5)),\"replicas\":2}"
	alloc=$body
	[ "$(jq '.slabs | length' <<<"$alloc")" = 3 ]
	# replicas of each slab on two distinct donors (and zones)
	[ "$(jq '[.slabs[] | (.replicas | map(.donor_id) | unique | length)] | min' <<<"$alloc")" = 2 ]

	# Every grant is HMAC-SHA256(token, "rmem-grant-v1"||client||le64 inst||le32 slab).
	jq -c '.slabs[].replicas[] | [.instance_id, .slab_id, .grant]' <<<"$alloc" |
	python3 -c '
import hmac, hashlib, json, struct, sys
token, client = sys.argv[1].encode(), bytes.fromhex(sys.argv[2])
n = 0
for line in sys.stdin:
    inst, slab, grant = json.loads(line)
    msg = b"rmem-grant-v1" + client + struct.pack("<QI", inst, slab)
    assert hmac.new(token, msg, hashlib.sha256).hexdigest() == grant, line
    n += 1
assert n == 6, n
' "$TOKEN" "$CLIENT"

	id=$(jq .id <<<"$alloc")
	expect 200 GET "/v1/allocations/$id"
	[ "$(jq -S . <<<"$body")" = "$(jq -S . <<<"$alloc")" ]
	expect 200 GET "/v1/allocations?client_id=$CLIENT"
	[ "$(jq '.allocations | length' <<<"$body")" = 1 ]
	expect 200 GET /v1/status
	[ "$(jq .slabs.used <<<"$body")" = 6 ]
	[ "$(jq .slabs.free <<<"$body")" = 10 ]
	[ "$(jq .clients <<<"$body")" = 1 ]

	run curl -s "$URL/metrics"
	[[ "$output" == *'rmem_donors{state="up"} 2'* ]]
	[[ "$output" == *"rmem_slabs_used 6"* ]]
	[[ "$output" == *"rmem_allocations 1"* ]]

	expect 200 DELETE "/v1/allocations/$id"
	expect 404 DELETE "/v1/allocations/$id"
	expect 200 GET /v1/status
	[ "$(jq .slabs.used <<<"$body")" = 0 ]
	[ "$(jq .slabs.free <<<"$body")" = 16 ]

	# Released slabs are reusable: the whole cluster can be taken again.
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((16 * MIB))}"
	[ "$(jq '[.slabs[].replicas[] | "\(.donor_id):\(.slab_id)"] | unique | length' <<<"$body")" = 16 ]

	stop_ctl
	grep -q "stopped" "$DIR/log"
}

@test "errors: 400 401 403 404 405 409 507, and state unchanged after each" {
	start_ctl
	register 10.77.0.2:7470 1 4 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB}"
	expect 200 GET /v1/allocations
	before=$body
	expect 200 GET /v1/status
	status_before=$body

	expect 400 POST /v1/allocations '{"client_id": "0011'
	[ "$(jq -r .error <<<"$body")" != null ]
	expect 400 POST /v1/allocations '[1,2]'
	expect 400 POST /v1/allocations '{"client_id":"xyz","bytes":1}'
	expect 400 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":0}"
	expect 400 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":-4096}"
	expect 400 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":1e9}"
	expect 400 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":\"1G\"}"
	expect 400 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":99999999999999999999999}"
	expect 400 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((1 << 60))}"
	[[ "$(jq -r .error <<<"$body")" == *"too large"* ]]
	expect 400 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":1,\"replicas\":0}"
	expect 507 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((4 * MIB))}"
	[[ "$(jq -r .error <<<"$body")" == *"not enough free memory"* ]]
	expect 409 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":1,\"replicas\":2}"
	expect 403 POST /v1/allocations '{"client_id":"ffffffffffffffffffffffffffffffff","bytes":4194304}'
	[[ "$(jq -r .error <<<"$body")" == *"quota"* ]]
	expect 404 DELETE /v1/allocations/999
	expect 404 DELETE /v1/allocations/abc
	expect 404 GET /v1/donors/77
	expect 404 POST /v1/donors/77/heartbeat '{"free_slabs":1}'
	expect 404 GET /v1/nothing
	expect 405 PUT /v1/allocations '{}'
	expect 400 POST /v1/donors '{"addr":"donor.example:7470","instance_id":1,"slab_size":1048576,"total_slabs":1}'
	expect 409 POST /v1/donors '{"addr":"10.77.0.9:7470","instance_id":1,"slab_size":4096,"total_slabs":1}'
	expect 400 POST /v1/donors/1/heartbeat '{"free_slabs":5}'

	run curl -s -w '\n%{http_code}' -H "Authorization: Bearer wrong" "$URL/v1/status"
	[ "${lines[-1]}" = 401 ]
	run curl -s -w '\n%{http_code}' "$URL/v1/allocations" -d '{}'
	[ "${lines[-1]}" = 401 ]
	run curl -s -w '\n%{http_code}' -H "Authorization: Bearer ${TOKEN}x" "$URL/v1/status"
	[ "${lines[-1]}" = 401 ]

	expect 200 GET /v1/allocations
	[ "$body" = "$before" ]
	expect 200 GET /v1/status
	[ "$body" = "$status_before" ]
	run curl -s "$URL/metrics"
	[[ "$output" == *"rmem_api_errors_total 25"* ]]
}

@test "quota: a client gets up to its quota and no more" {
	start_ctl
	register 10.77.0.2:7470 1 16 >/dev/null
	q=ffffffffffffffffffffffffffffffff
	expect 201 POST /v1/allocations "{\"client_id\":\"$q\",\"bytes\":$((2 * MIB))}"
	first=$(jq .id <<<"$body")
	expect 201 POST /v1/allocations "{\"client_id\":\"$q\",\"bytes\":$MIB}"
	expect 403 POST /v1/allocations "{\"client_id\":\"$q\",\"bytes\":1}"
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((4 * MIB))}"
	expect 200 DELETE "/v1/allocations/$first"
	expect 201 POST /v1/allocations "{\"client_id\":\"$q\",\"bytes\":$((2 * MIB))}"
}

@test "missed heartbeats mark a donor down; a heartbeat brings it back" {
	sed -i 's/^heartbeat_interval_ms = .*/heartbeat_interval_ms = 100/' "$DIR/rmem.conf"
	start_ctl
	d=$(register 10.77.0.2:7470 1 4 rack1)
	expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":4}'
	# 5 x 100 ms without heartbeat
	sleep 1
	expect 200 GET "/v1/donors/$d"
	[ "$(jq -r .state <<<"$body")" = down ]
	expect 200 GET /v1/events
	[ "$(jq -r '.events[-1].kind' <<<"$body")" = down ]
	run curl -s "$URL/metrics"
	[[ "$output" == *'rmem_donors{state="down"} 1'* ]]
	[[ "$output" == *"rmem_slabs_free 0"* ]]
	expect 507 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":1}"

	# Each step below is preceded by a heartbeat: a loaded machine may
	# take longer than the 500 ms deadline between two commands.
	expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":2}'
	[ "$(jq -r .state <<<"$body")" = up ]
	expect 200 GET "/v1/donors/$d"
	[ "$(jq .available_slabs <<<"$body")" = 2 ]
	# Free count reported by the donor caps what is offered.
	expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":2}'
	expect 507 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((3 * MIB))}"
	expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":2}'
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((2 * MIB))}"
	expect 409 POST "/v1/donors/$d/heartbeat" '{"free_slabs":2,"instance_id":42}'
}

@test "a donor restarted with a new instance id loses its slabs" {
	start_ctl
	d=$(register 10.77.0.2:7470 100 4)
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((3 * MIB))}"
	id=$(jq .id <<<"$body")
	# Same instance in another zone: that is another donor, not a resize.
	expect 409 POST /v1/donors \
		"{\"addr\":\"10.77.0.2:7470\",\"instance_id\":100,\"slab_size\":$MIB,\"total_slabs\":6,\"zone\":\"elsewhere\"}"
	expect 200 POST /v1/donors \
		"{\"addr\":\"10.77.0.2:7470\",\"instance_id\":101,\"slab_size\":$MIB,\"total_slabs\":6}"
	[ "$(jq .id <<<"$body")" = "$d" ]
	[ "$(jq .lost_slabs <<<"$body")" = 3 ]
	expect 200 GET "/v1/allocations/$id"
	[ "$(jq -r '[.slabs[].replicas[].state] | unique | join(",")' <<<"$body")" = lost ]
	[ "$(jq '[.slabs[].replicas[] | select(has("grant"))] | length' <<<"$body")" = 0 ]
	expect 200 GET /v1/events
	[ "$(jq -r '.events[-1].kind' <<<"$body")" = restarted ]
	# All 6 new slabs are free; the lost allocation stays until released.
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((6 * MIB))}"
	expect 200 DELETE "/v1/allocations/$id"

	# Lost state survives a restart of the controller.
	expect 201 POST /v1/donors \
		"{\"addr\":\"10.77.0.3:7470\",\"instance_id\":7,\"slab_size\":$MIB,\"total_slabs\":2}"
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((2 * MIB))}"
	id2=$(jq .id <<<"$body")
	expect 200 DELETE /v1/donors/2
	[ "$(jq .lost_slabs <<<"$body")" = 2 ]
	stop_ctl
	start_ctl
	expect 200 GET "/v1/allocations/$id2"
	[ "$(jq -r '[.slabs[].replicas[].state] | unique | join(",")' <<<"$body")" = lost ]
	expect 404 GET /v1/donors/2
}

@test "a donor that grows or gives memory back: heartbeat total_slabs, durable" {
	start_ctl
	d=$(register 10.77.0.2:7470 500 2)
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((2 * MIB))}"
	a1=$(jq .id <<<"$body")
	expect 507 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB}"

	# Grown to 4: two new slabs (ids 2 and 3) are offered.
	expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":2,"total_slabs":4,"instance_id":500}'
	expect 200 GET "/v1/donors/$d"
	[ "$(jq .total_slabs <<<"$body")" = 4 ]
	[ "$(jq .used_slabs <<<"$body")" = 2 ]
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB}"
	a2=$(jq .id <<<"$body")
	[ "$(jq '.slabs[0].replicas[0].slab_id' <<<"$body")" = 2 ]
	expect 200 GET /v1/events
	[ "$(jq -r '.events[-1].kind' <<<"$body")" = resized ]

	# Shrinking below a granted slab is refused and changes nothing.
	expect 409 POST "/v1/donors/$d/heartbeat" '{"free_slabs":1,"total_slabs":2}'
	expect 200 GET "/v1/donors/$d"
	[ "$(jq .total_slabs <<<"$body")" = 4 ]
	# free_slabs is checked against the new total; zero is no capacity.
	expect 400 POST "/v1/donors/$d/heartbeat" '{"free_slabs":5,"total_slabs":4}'
	expect 400 POST "/v1/donors/$d/heartbeat" '{"free_slabs":0,"total_slabs":0}'

	# Slab 3 given back (the free top one): capacity 3, nothing offered.
	expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":0,"total_slabs":3}'
	expect 507 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB}"
	expect 200 DELETE "/v1/allocations/$a2"
	expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":0,"total_slabs":2}'

	# Durable: a restarted controller knows capacity 2 with 2 used.
	stop_ctl
	start_ctl
	expect 200 GET "/v1/donors/$d"
	[ "$(jq .total_slabs <<<"$body")" = 2 ]
	[ "$(jq .used_slabs <<<"$body")" = 2 ]
	# A re-registration of the same run with a new capacity is a resize too.
	expect 200 POST /v1/donors \
		"{\"addr\":\"10.77.0.2:7470\",\"instance_id\":500,\"slab_size\":$MIB,\"total_slabs\":3}"
	[ "$(jq .id <<<"$body")" = "$d" ]
	[ "$(jq .lost_slabs <<<"$body")" = 0 ]
	expect 200 GET "/v1/donors/$d"
	[ "$(jq .total_slabs <<<"$body")" = 3 ]
	expect 200 DELETE "/v1/allocations/$a1"
}

@test "the database is WAL with synchronous=FULL, and one controller per database" {
	start_ctl
	[ "$(sqlite3 "$DIR/state.db" 'PRAGMA journal_mode')" = wal ]
	first=$PID
	run "$CTLD" --config "$DIR/rmem.conf" --listen "127.0.0.1:$(free_port)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"in use by another rmem-controllerd"* ]]
	kill -0 "$first"
	# The pragma is per connection; check the code sets it.
	grep -q 'synchronous = FULL' "$BATS_TEST_DIRNAME/../../server/controller/storage_sqlite.c"
}

@test "SIGKILL mid-burst loses no acknowledged change and gives nothing twice" {
	start_ctl
	for i in 1 2 3 4; do
		register "10.77.0.$((i + 1)):7470" "$i" 64 "rack$i" >/dev/null
	done
	journal=$DIR/journal
	: > "$journal"
	# The burst: allocations of 1-3 slabs, and a release every third
	# step.  Each request is journaled as pending (P) before it is sent
	# and as acknowledged (A/R) once the reply is in.
	(
		ids=()
		for i in $(seq 1 400); do
			if (( i % 3 == 0 )) && (( ${#ids[@]} > 0 )); then
				k=$((RANDOM % ${#ids[@]}))
				victim=${ids[$k]}
				echo "P R $victim" >> "$journal"
				out=$(curl -s -X DELETE -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$URL/v1/allocations/$victim") || { echo "K" >> "$journal"; break; }
				[ "${out##*$'\n'}" = 200 ] || { echo "X $out" >> "$journal"; break; }
				echo "R $victim" >> "$journal"
				unset "ids[$k]"; ids=("${ids[@]}")
			else
				echo "P A" >> "$journal"
				out=$(curl -s -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' \
					-d "{\"client_id\":\"$CLIENT\",\"bytes\":$(( (RANDOM % 3 + 1) * MIB ))}" \
					"$URL/v1/allocations") || { echo "K" >> "$journal"; break; }
				[ "${out##*$'\n'}" = 201 ] || { echo "X $out" >> "$journal"; break; }
				body=${out%$'\n'*}
				echo "A $(jq -c '[.id, [.slabs[].replicas[] | "\(.donor_id):\(.slab_id)"]]' <<<"$body")" >> "$journal"
				ids+=("$(jq .id <<<"$body")")
			fi
		done
	) &
	burst=$!
	# Kill once the burst is well under way.
	# (Each step costs a few process starts: ~10 steps/s on a busy host.)
	for _ in $(seq 300); do
		(( $(grep -c '^[AR] ' "$journal") >= 30 )) && break
		sleep 0.05
	done
	kill -KILL "$PID"
	wait "$PID" || true
	wait "$burst"
	acked=$(grep -c '^[AR] ' "$journal")
	echo "acknowledged before the kill: $acked" >&3 || true
	(( acked >= 30 ))
	run ! grep -q '^X ' "$journal"
	# The kill really came mid-burst: a request found the controller gone.
	grep -q '^K$' "$journal"

	start_ctl
	expect 200 GET /v1/allocations
	printf '%s' "$body" > "$DIR/after.json"
	python3 - "$journal" "$DIR/after.json" <<'EOF'
import json, sys
acked, pending = {}, None
for line in open(sys.argv[1]):
    kind, _, rest = line.rstrip("\n").partition(" ")
    if kind == "P":
        pending = rest
    elif kind == "A":
        aid, slabs = json.loads(rest)
        acked[aid] = sorted(slabs)
        pending = None
    elif kind == "R":
        del acked[int(rest)]
        pending = None
now = {a["id"]: sorted(f'{r["donor_id"]}:{r["slab_id"]}'
                       for s in a["slabs"] for r in s["replicas"])
       for a in json.load(open(sys.argv[2]))["allocations"]}
missing = set(acked) - set(now)
extra = set(now) - set(acked)
# Only the one request in flight at the kill may or may not have landed.
if pending and pending.startswith("R "):
    missing.discard(int(pending[2:]))
if pending == "A" and len(extra) == 1 and min(extra) > max(acked, default=0):
    extra = set()
assert not missing, f"acknowledged allocations lost: {missing}"
assert not extra, f"allocations never acknowledged: {extra}"
for aid, slabs in acked.items():
    if aid in now:
        assert now[aid] == slabs, f"allocation {aid} changed: {slabs} -> {now[aid]}"
live = [s for slabs in now.values() for s in slabs]
assert len(live) == len(set(live)), "a slab is given twice"
print(f"{len(now)} allocations intact, pending at kill: {pending}")
EOF
	# The restarted controller goes on allocating without reusing a slab.
	expect 200 GET /v1/status
	free=$(jq .slabs.free <<<"$body")
	used=$(jq .slabs.used <<<"$body")
	[ $((free + used)) = 256 ]
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((free * MIB))}"
	expect 200 GET /v1/allocations
	[ "$(jq '[.allocations[].slabs[].replicas[] | "\(.donor_id):\(.slab_id)"] | (length == (unique | length))' <<<"$body")" = true ]
	expect 507 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":1}"
}

@test "SIGTERM shuts down cleanly and the state is kept" {
	start_ctl
	register 10.77.0.2:7470 5 4 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB}"
	stop_ctl
	grep -q "signal 15: shutting down" "$DIR/log"
	start_ctl
	expect 200 GET /v1/status
	[ "$(jq .allocations <<<"$body")" = 1 ]
	[ "$(jq .slabs.used <<<"$body")" = 1 ]
}

# metric NAME: the value of one sample of /metrics.
metric() {
	curl -s "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# verify_grant CLIENT INSTANCE SLAB_ID GRANT: the grant is the HMAC that
# donors check (server/common/grant.c).
verify_grant() {
	python3 -c '
import hmac, hashlib, struct, sys
token, client = sys.argv[1].encode(), bytes.fromhex(sys.argv[2])
msg = b"rmem-grant-v1" + client + struct.pack("<QI", int(sys.argv[3]), int(sys.argv[4]))
sys.exit(hmac.new(token, msg, hashlib.sha256).hexdigest() != sys.argv[5])
' "$TOKEN" "$@"
}

# snapshot ID: the allocation, the status and the metrics but the error
# count, which every failed request changes.
snapshot() {
	expect 200 GET "/v1/allocations/$1" || return 1
	printf '%s\n' "$body"
	expect 200 GET /v1/status || return 1
	printf '%s\n' "$body"
	curl -s "$URL/metrics" | grep -v '^rmem_api_errors_total'
}

@test "replace: a lost replica gets a slab on another donor, its grant verifies, resynced updates the metrics" {
	start_ctl
	register 10.77.0.2:7470 11 4 rack1 >/dev/null
	register 10.77.0.3:7470 22 4 rack2 >/dev/null
	register 10.77.0.4:7470 33 4 rack3 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB,\"replicas\":2}"
	id=$(jq .id <<<"$body")
	keep=$(jq '.slabs[0].replicas[0].donor_id' <<<"$body")
	gone=$(jq '.slabs[0].replicas[1].donor_id' <<<"$body")
	[ "$(jq -r '.slabs[0].replicas[1].replica_state' <<<"$body")" = live ]
	[ "$(jq '.slabs[0].replicas[1].generation' <<<"$body")" = 1 ]
	[ "$(metric rmem_slabs_degraded)" = 0 ]

	# The donor of replica 1 is removed: the replica is lost.
	expect 200 DELETE "/v1/donors/$gone"
	expect 200 GET "/v1/allocations/$id"
	[ "$(jq -r '.slabs[0].replicas[1].replica_state' <<<"$body")" = lost ]
	[ "$(jq '.slabs[0].replicas[1] | has("lost_at")' <<<"$body")" = true ]
	[ "$(metric rmem_slabs_degraded)" = 1 ]
	[ "$(metric rmem_resyncs_in_progress)" = 0 ]

	expect 200 POST "/v1/allocations/$id/replace" '{"slab":0,"replica":1}'
	rep=$body
	[ "$(jq -c 'keys' <<<"$rep")" = '["donor","generation","grant","replica","slab","slab_id"]' ]
	[ "$(jq '.slab, .replica, .generation' <<<"$rep" | tr '\n' ' ')" = "0 1 2 " ]
	new=$(jq '.donor.id' <<<"$rep")
	[ "$new" != "$keep" ]
	[ "$new" != "$gone" ]
	expect 200 GET "/v1/donors/$new"
	[ "$(jq -r .addr <<<"$body")" = "$(jq -r '"\(.donor.addr):\(.donor.port)"' <<<"$rep")" ]
	inst=$(jq .instance_id <<<"$body")
	[ "$(jq .donor.instance_id <<<"$rep")" = "$inst" ]
	[ "$(jq -r .grant <<<"$rep" | tr -d '0-9a-f' | wc -c)" = 1 ]
	[ "$(jq -r .grant <<<"$rep" | tr -d '\n' | wc -c)" = 64 ]
	verify_grant "$CLIENT" "$inst" "$(jq .slab_id <<<"$rep")" "$(jq -r .grant <<<"$rep")"

	# The allocation shows the new replica, resyncing, with the same grant.
	expect 200 GET "/v1/allocations/$id"
	r1=$(jq -c '.slabs[0].replicas[1]' <<<"$body")
	[ "$(jq .donor_id <<<"$r1")" = "$new" ]
	[ "$(jq .slab_id <<<"$r1")" = "$(jq .slab_id <<<"$rep")" ]
	[ "$(jq -r .grant <<<"$r1")" = "$(jq -r .grant <<<"$rep")" ]
	[ "$(jq -r .replica_state <<<"$r1")" = resyncing ]
	[ "$(jq -r .state <<<"$r1")" = ok ]
	[ "$(jq .generation <<<"$r1")" = 2 ]
	[ "$(jq -r '.slabs[0].replicas[0].replica_state' <<<"$body")" = live ]
	expect 200 GET "/v1/donors/$new"
	[ "$(jq .used_slabs <<<"$body")" = 1 ]
	[ "$(metric rmem_slabs_degraded)" = 1 ]
	[ "$(metric rmem_resyncs_in_progress)" = 1 ]
	[ "$(metric rmem_replacements_total)" = 1 ]
	expect 200 GET /v1/events
	[ "$(jq -r '.events[-1].kind' <<<"$body")" = replaced ]

	expect 200 POST "/v1/allocations/$id/resynced" "{\"slab\":0,\"replica\":1,\"bytes\":$MIB,\"generation\":2}"
	[ "$(jq -r .replica_state <<<"$body")" = live ]
	[ "$(jq .resync_bytes <<<"$body")" = "$MIB" ]
	[ "$(metric rmem_slabs_degraded)" = 0 ]
	[ "$(metric rmem_resyncs_in_progress)" = 0 ]
	[ "$(metric rmem_resync_bytes_total)" = "$MIB" ]
	[ "$(metric rmem_reprotect_seconds_count)" = 1 ]
	[[ "$(metric rmem_reprotect_seconds_sum)" =~ ^[0-9]+\.[0-9]{3}$ ]] || false
	expect 200 GET "/v1/allocations/$id"
	[ "$(jq -r '.slabs[0].replicas[1].replica_state' <<<"$body")" = live ]
	[ "$(jq '.slabs[0].replicas[1] | has("resynced_at")' <<<"$body")" = true ]

	# A retried report (lost reply) is answered again and counted once.
	expect 200 POST "/v1/allocations/$id/resynced" "{\"slab\":0,\"replica\":1,\"bytes\":$MIB}"
	[ "$(metric rmem_resync_bytes_total)" = "$MIB" ]
	[ "$(metric rmem_reprotect_seconds_count)" = 1 ]

	# All of it is durable: counters and replica states survive a restart.
	expect 200 GET "/v1/allocations/$id"
	before=$body
	stop_ctl
	start_ctl
	expect 200 GET "/v1/allocations/$id"
	[ "$(jq -S . <<<"$body")" = "$(jq -S . <<<"$before")" ]
	[ "$(metric rmem_replacements_total)" = 1 ]
	[ "$(metric rmem_resync_bytes_total)" = "$MIB" ]
	[ "$(metric rmem_reprotect_seconds_count)" = 1 ]
	[ "$(sqlite3 "$DIR/state.db" 'SELECT count(*) FROM replica_history')" = 1 ]
}

@test "replace: a live replica moves off its donor, whose slab is released" {
	start_ctl
	register 10.77.0.2:7470 11 4 rack1 >/dev/null
	register 10.77.0.3:7470 22 4 rack2 >/dev/null
	register 10.77.0.4:7470 33 4 rack1 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB,\"replicas\":2}"
	id=$(jq .id <<<"$body")
	# Whichever donor of rack1 holds a replica, the other rack1 one takes it.
	old=$(jq '.slabs[0].replicas[] | select(.donor_id != 2) | .donor_id' <<<"$body")
	slot=$(jq '[.slabs[0].replicas[].donor_id] | index(2) | 1 - .' <<<"$body")
	expect 200 POST "/v1/allocations/$id/replace" "{\"slab\":0,\"replica\":$slot,\"generation\":1}"
	[ "$(jq .donor.id <<<"$body")" = $(( old == 1 ? 3 : 1 )) ]
	expect 200 GET "/v1/donors/$old"
	[ "$(jq .used_slabs <<<"$body")" = 0 ]
	[ "$(metric rmem_slabs_used)" = 2 ]
	# A second agent with the old generation is told its view is stale.
	expect 409 POST "/v1/allocations/$id/replace" "{\"slab\":0,\"replica\":$slot,\"generation\":1}"
	[[ "$(jq -r .error <<<"$body")" == *"generation 2, not 1"* ]] || false
}

@test "replace and resynced: bad id, slab, replica or body get clear errors and change nothing" {
	start_ctl
	register 10.77.0.2:7470 11 4 rack1 >/dev/null
	register 10.77.0.3:7470 22 4 rack2 >/dev/null
	register 10.77.0.4:7470 33 4 rack3 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((2 * MIB)),\"replicas\":2}"
	id=$(jq .id <<<"$body")
	before=$(snapshot "$id")

	expect 404 POST /v1/allocations/999/replace '{"slab":0,"replica":0}'
	[ "$(jq -r .error <<<"$body")" = "no allocation 999" ]
	expect 404 POST /v1/allocations/abc/replace '{"slab":0,"replica":0}'
	expect 404 POST "/v1/allocations/$id/nothing" '{}'
	expect 405 GET "/v1/allocations/$id/replace"
	expect 400 POST "/v1/allocations/$id/replace" '{"slab":2,"replica":0}'
	[ "$(jq -r .error <<<"$body")" = "slab 2 out of range: allocation $id has slabs 0..1" ]
	expect 400 POST "/v1/allocations/$id/replace" '{"slab":0,"replica":2}'
	[ "$(jq -r .error <<<"$body")" = "replica 2 out of range: allocation $id has replicas 0..1" ]
	expect 400 POST "/v1/allocations/$id/replace" '{"slab":0,"replica":99999999999}'
	expect 400 POST "/v1/allocations/$id/replace" '{"replica":0}'
	[ "$(jq -r .error <<<"$body")" = "missing field 'slab'" ]
	expect 400 POST "/v1/allocations/$id/replace" '{"slab":"0","replica":0}'
	[ "$(jq -r .error <<<"$body")" = "'slab' must be an integer" ]
	expect 400 POST "/v1/allocations/$id/replace" '{"slab":-1,"replica":0}'
	expect 400 POST "/v1/allocations/$id/replace" '{"slab":0,"replica":0,"generation":"x"}'
	expect 400 POST "/v1/allocations/$id/replace" '{"slab":0,'
	[[ "$(jq -r .error <<<"$body")" == "malformed JSON"* ]] || false
	expect 400 POST "/v1/allocations/$id/replace" '[0,0]'
	expect 400 POST "/v1/allocations/$id/replace"
	expect 409 POST "/v1/allocations/$id/replace" '{"slab":0,"replica":0,"generation":7}'

	expect 404 POST /v1/allocations/999/resynced '{"slab":0,"replica":0,"bytes":1}'
	expect 400 POST "/v1/allocations/$id/resynced" '{"slab":0,"replica":0}'
	[ "$(jq -r .error <<<"$body")" = "missing field 'bytes'" ]
	expect 400 POST "/v1/allocations/$id/resynced" "{\"slab\":0,\"replica\":0,\"bytes\":$((MIB + 1))}"
	[[ "$(jq -r .error <<<"$body")" == *"more than the slab size"* ]] || false
	expect 400 POST "/v1/allocations/$id/resynced" '{"slab":5,"replica":0,"bytes":1}'
	expect 409 POST "/v1/allocations/$id/resynced" '{"slab":0,"replica":0,"bytes":1}'
	[[ "$(jq -r .error <<<"$body")" == *"was never replaced"* ]] || false

	run curl -s -w '\n%{http_code}' -H "Authorization: Bearer wrong" \
		-d '{"slab":0,"replica":0}' "$URL/v1/allocations/$id/replace"
	[ "${lines[-1]}" = 401 ]

	after=$(snapshot "$id")
	[ "$after" = "$before" ]
	[ "$(metric rmem_api_errors_total)" = 21 ]
}

@test "replace: 503 when no donor qualifies, and nothing changes" {
	start_ctl
	register 10.77.0.2:7470 11 4 rack1 >/dev/null
	register 10.77.0.3:7470 22 4 rack2 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB,\"replicas\":2}"
	id=$(jq .id <<<"$body")
	before=$(snapshot "$id")
	# Replica 0's only candidates are its own donor and replica 1's.
	expect 503 POST "/v1/allocations/$id/replace" '{"slab":0,"replica":0}'
	[[ "$(jq -r .error <<<"$body")" == *"no donor can take replica 0 of slab 0 now"* ]] || false
	[[ "$(jq -r .error <<<"$body")" == *"hold the slab's other replicas"* ]] || false
	after=$(snapshot "$id")
	[ "$after" = "$before" ]

	# A third donor in rack1 fits; once it is full, nothing is free at all.
	register 10.77.0.4:7470 33 1 rack1 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((7 * MIB)),\"replicas\":1}"
	expect 200 GET /v1/status
	[ "$(jq .slabs.free <<<"$body")" = 0 ]
	before=$(snapshot "$id")
	expect 503 POST "/v1/allocations/$id/replace" '{"slab":0,"replica":1}'
	[[ "$(jq -r .error <<<"$body")" == *"no up donor has a free slab"* ]] || false
	after=$(snapshot "$id")
	[ "$after" = "$before" ]
}

@test "replace: the loss dates from when the donor stopped answering heartbeats" {
	sed -i 's/^heartbeat_interval_ms = .*/heartbeat_interval_ms = 100/' "$DIR/rmem.conf"
	start_ctl
	a=$(register 10.77.0.2:7470 11 4 rack1)
	b=$(register 10.77.0.3:7470 22 4 rack2)
	c=$(register 10.77.0.4:7470 33 4 rack3)
	beat() { for d in "$@"; do expect 200 POST "/v1/donors/$d/heartbeat" '{"free_slabs":4}'; done; }
	beat "$a" "$b" "$c"
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB,\"replicas\":2}"
	id=$(jq .id <<<"$body")
	gone=$(jq '.slabs[0].replicas[1].donor_id' <<<"$body")
	slot=1
	# Everyone but $gone keeps beating for 1.5 s: $gone is marked down.
	others=()
	for d in "$a" "$b" "$c"; do [ "$d" = "$gone" ] || others+=("$d"); done
	for _ in $(seq 15); do beat "${others[@]}"; sleep 0.1; done
	expect 200 GET "/v1/donors/$gone"
	[ "$(jq -r .state <<<"$body")" = down ]
	expect 200 GET "/v1/allocations/$id"
	[ "$(jq -r ".slabs[0].replicas[$slot].state" <<<"$body")" = donor-down ]
	[ "$(jq -r ".slabs[0].replicas[$slot].replica_state" <<<"$body")" = live ]
	beat "${others[@]}"
	expect 200 POST "/v1/allocations/$id/replace" "{\"slab\":0,\"replica\":$slot}"
	beat "${others[@]}"
	expect 200 POST "/v1/allocations/$id/resynced" "{\"slab\":0,\"replica\":$slot,\"bytes\":4096}"
	# Counted from when $gone was marked down (after 0.5 s of silence,
	# so about 1 s before the replace call), not from the replace call.
	secs=$(jq .reprotect_seconds <<<"$body")
	python3 -c "import sys; sys.exit(not float(sys.argv[1]) >= 0.3)" "$secs"
	[ "$(metric rmem_reprotect_seconds_sum)" = "$(printf '%.3f' "$secs")" ]
}

@test "default replicas: 2 when two up donors are in distinct zones, else 1; rmem.conf wins" {
	sed -i '/^replicas = /d' "$DIR/rmem.conf"
	start_ctl
	register 10.77.0.2:7470 11 8 rack1 >/dev/null
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB}"
	[ "$(jq .replicas <<<"$body")" = 1 ]
	# A second donor in the same zone cannot keep two copies apart.
	register 10.77.0.3:7470 22 8 rack1 >/dev/null
	expect 200 GET /v1/status
	[ "$(jq .default_replicas <<<"$body")" = 1 ]
	register 10.77.0.4:7470 33 8 rack2 >/dev/null
	expect 200 GET /v1/status
	[ "$(jq .default_replicas <<<"$body")" = 2 ]
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$((2 * MIB))}"
	[ "$(jq .replicas <<<"$body")" = 2 ]
	[ "$(jq '[.slabs[].replicas | length] | min' <<<"$body")" = 2 ]
	[ "$(jq '[.slabs[] | .replicas | map(.donor_id) | unique | length] | min' <<<"$body")" = 2 ]
	# An explicit request still wins.
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB,\"replicas\":1}"
	[ "$(jq .replicas <<<"$body")" = 1 ]
	stop_ctl
	grep -q "2 replicas by default when two up donors are in distinct zones" "$DIR/log"

	# Set in rmem.conf, even to 1, the number is used as is.
	sed -i 's/^\[cluster\]$/[cluster]\nreplicas = 1/' "$DIR/rmem.conf"
	start_ctl
	expect 201 POST /v1/allocations "{\"client_id\":\"$CLIENT\",\"bytes\":$MIB}"
	[ "$(jq .replicas <<<"$body")" = 1 ]
	expect 200 GET /v1/status
	[ "$(jq .default_replicas <<<"$body")" = 1 ]
}

@test "a version 1 database is upgraded in place and keeps its allocations" {
	sqlite3 "$DIR/state.db" <<-EOF
	CREATE TABLE donors(id INTEGER PRIMARY KEY AUTOINCREMENT, addr TEXT NOT NULL UNIQUE,
	  instance_id INTEGER NOT NULL, slab_size INTEGER NOT NULL CHECK (slab_size > 0),
	  total_slabs INTEGER NOT NULL CHECK (total_slabs > 0), zone TEXT NOT NULL,
	  state INTEGER NOT NULL, registered INTEGER NOT NULL);
	CREATE TABLE allocations(id INTEGER PRIMARY KEY AUTOINCREMENT, client_id BLOB NOT NULL,
	  bytes INTEGER NOT NULL, nslabs INTEGER NOT NULL CHECK (nslabs > 0),
	  replicas INTEGER NOT NULL CHECK (replicas > 0), created INTEGER NOT NULL);
	CREATE TABLE replicas(alloc_id INTEGER NOT NULL REFERENCES allocations(id) ON DELETE CASCADE,
	  slab_index INTEGER NOT NULL, replica INTEGER NOT NULL, donor_id INTEGER NOT NULL,
	  slab_id INTEGER NOT NULL, instance_id INTEGER NOT NULL, lost INTEGER NOT NULL DEFAULT 0,
	  PRIMARY KEY(alloc_id, slab_index, replica));
	CREATE UNIQUE INDEX replicas_live ON replicas(donor_id, slab_id) WHERE lost = 0;
	CREATE INDEX replicas_donor ON replicas(donor_id);
	CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,
	  donor_id INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL);
	INSERT INTO donors VALUES(1, '10.77.0.2:7470', 11, $MIB, 4, 'rack1', 0, 1700000000);
	INSERT INTO donors VALUES(2, '10.77.0.3:7470', 22, $MIB, 4, 'rack2', 0, 1700000000);
	INSERT INTO allocations VALUES(1, x'$CLIENT', $MIB, 1, 2, 1700000000);
	INSERT INTO replicas VALUES(1, 0, 0, 1, 0, 11, 0);
	INSERT INTO replicas VALUES(1, 0, 1, 2, 0, 22, 1);
	PRAGMA user_version = 1;
	EOF
	start_ctl
	[ "$(sqlite3 "$DIR/state.db" 'PRAGMA user_version')" = 2 ]
	expect 200 GET /v1/allocations/1
	[ "$(jq -r '[.slabs[0].replicas[] | "\(.generation) \(.replica_state)"] | join(",")' <<<"$body")" = "1 live,1 lost" ]
	[ "$(metric rmem_slabs_degraded)" = 1 ]
	expect 200 POST /v1/allocations/1/replace '{"slab":0,"replica":1}'
	[ "$(jq .donor.id <<<"$body")" = 2 ]
	[ "$(jq .slab_id <<<"$body")" = 0 ]
}
