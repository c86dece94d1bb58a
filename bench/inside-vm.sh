#!/bin/bash
# bench/inside-vm.sh --out DIR [--quick] [--devices LIST] [--skip-apps]
#
# The part of the benchmark that runs as root inside one VM boot (started by
# bench/run through tests/vm/run --rxe).  For every block device in the
# device table it sets the device up, runs the fio jobs, then uses it as the
# only swap device for the applications under a cgroup memory limit, and
# tears it down before the next device, so only one device holds memory at a
# time.  Everything measured is written raw under DIR/raw; bench/report
# turns it into JSON, tables and plots.  A device whose setup fails is
# recorded as unavailable with the reason, and the run goes on.
#
#   --devices LIST   comma-separated subset of: rmem,nvmeof-rdma,nbd-tcp,
#                    zram,brd,resilience (default all; "rmem" expands to one
#                    entry per completion mode the module offers;
#                    "resilience" is rmem at two replicas against one and
#                    a donor killed under load, bench/resilience.sh, run
#                    after the devices)
#   --skip-apps      fio only
set -u
export LC_ALL=C

out="" quick=0 devices="rmem,nvmeof-rdma,nbd-tcp,zram,brd,resilience" skip_apps=0
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	--devices) devices=$2; shift 2 ;;
	--skip-apps) skip_apps=1; shift ;;
	*) echo "inside-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { echo "inside-vm.sh: --out DIR is required" >&2; exit 2; }

tree=$(pwd)
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
bench=$tree/bench
raw=$out/raw
mkdir -p "$raw" || exit 1
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$raw/log"; }

# ---- settings ---------------------------------------------------------------
# Sizes are scaled to fit a 6 GiB TCG guest and the time limits of
# `make bench` (30 min) and `--quick` (5 min); see docs/benchmarks.md.
# BENCH_BUDGET_S is the time this script may take: each device gets an
# equal share of what is left when it starts, and the application runs of a
# device share what its fio runs leave; a run that no longer fits is
# recorded as skipped, so the suite ends on time however slow the machine.
if [ "$quick" = 1 ]; then
	: "${BENCH_DEV_MIB:=128}" "${BENCH_REGION_MIB:=32}" "${BENCH_RUNTIME:=1}"
	: "${BENCH_REPS:=1}" "${BENCH_WS_MIB:=32}" "${BENCH_SORT_MIB:=16}"
	: "${BENCH_FRACTIONS:=50}" "${BENCH_BUDGET_S:=250}" "${BENCH_APP_MIN_S:=16}"
	: "${BENCH_REDIS_OPS:=2000}"
	# resilience: 32 MiB over 8 MiB slabs (four slabs, as in the full
	# run), not written in full first, no idle kill (the loaded one gives
	# the re-protection time too), R=1/R=2 devices of 64 MiB
	: "${BENCH_RESIL_S:=45}" "${BENCH_RESIL_MIB:=32}" "${BENCH_RESIL_SLAB:=8M}"
	: "${BENCH_RESIL_BEFORE_S:=3}" "${BENCH_RESIL_AFTER_S:=1}" "${BENCH_DONOR_TIMEOUT:=1}"
	: "${BENCH_RESIL_MAX_S:=60}" "${BENCH_RESIL_PARTS:=pair load}" "${BENCH_RESIL_FILL:=0}"
	: "${BENCH_RESIL_PAIR_MIB:=64}"
else
	: "${BENCH_DEV_MIB:=256}" "${BENCH_REGION_MIB:=64}" "${BENCH_RUNTIME:=3}"
	: "${BENCH_REPS:=3}" "${BENCH_WS_MIB:=64}" "${BENCH_SORT_MIB:=32}"
	: "${BENCH_FRACTIONS:=50 25 100}" "${BENCH_BUDGET_S:=1560}" "${BENCH_APP_MIN_S:=100}"
	: "${BENCH_REDIS_OPS:=20000}"
	: "${BENCH_RESIL_S:=300}" "${BENCH_RESIL_MIB:=256}" "${BENCH_RESIL_SLAB:=64M}"
	: "${BENCH_RESIL_BEFORE_S:=10}" "${BENCH_RESIL_AFTER_S:=3}" "${BENCH_DONOR_TIMEOUT:=10}"
	: "${BENCH_RESIL_MAX_S:=240}" "${BENCH_RESIL_PARTS:=pair load idle}" "${BENCH_RESIL_FILL:=1}"
	: "${BENCH_RESIL_PAIR_MIB:=$BENCH_DEV_MIB}"
fi
# The fabric's MTU.  9000 is what RoCE deployments configure (jumbo
# frames): the RoCE path MTU becomes 4096, so a 4 KiB page travels in one
# packet instead of four.  It applies to every RDMA device in the run.
: "${BENCH_MTU:=9000}"
# No single application run may take longer than this.
: "${BENCH_APP_LIMIT_MAX:=90}"
# libaio, not io_uring: io_uring punts requests on devices without
# nowait support (zram, bio-based) to worker threads, which under TCG adds
# milliseconds to those devices only.
: "${BENCH_IOENGINE:=libaio}"
# memory.max = share of the working set + this much for what is not the
# working set (program text, libraries, page tables, memstress's version
# array): without it the "100%" run already swaps.
: "${BENCH_CG_SLACK_MIB:=16}"
# Redis values of 4000 bytes land in jemalloc's 4 KiB class, so the
# dataset is about one value per page.
: "${BENCH_REDIS_VALUE:=4000}"
redis_keys=$((BENCH_WS_MIB * 1024 * 1024 / 4096 * 9 / 10))
memstress_ops=$((BENCH_WS_MIB * 256 * 16))

{
	echo "quick=$quick"
	echo "kernel=$(uname -r)"
	echo "kernel_build=$(uname -v)"
	echo "fio_version=$(fio --version 2>/dev/null)"
	echo "redis_version=$(redis-server --version 2>/dev/null | sed 's/^Redis server //')"
	echo "cpus=$(nproc)"
	echo "mem_total_kib=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
	echo "dev_mib=$BENCH_DEV_MIB"
	echo "fio_region_mib=$BENCH_REGION_MIB"
	echo "fio_runtime_s=$BENCH_RUNTIME"
	echo "fio_reps=$BENCH_REPS"
	echo "fio_ioengine=$BENCH_IOENGINE"
	echo "ws_mib=$BENCH_WS_MIB"
	echo "sort_mib=$BENCH_SORT_MIB"
	echo "fractions=$BENCH_FRACTIONS"
	echo "budget_s=$BENCH_BUDGET_S"
	echo "app_min_s=$BENCH_APP_MIN_S"
	echo "app_time_limit_max_s=$BENCH_APP_LIMIT_MAX"
	echo "cgroup_slack_mib=$BENCH_CG_SLACK_MIB"
	echo "redis_keys=$redis_keys"
	echo "redis_value_bytes=$BENCH_REDIS_VALUE"
	echo "redis_ops=$BENCH_REDIS_OPS"
	echo "memstress_ops=$memstress_ops"
	echo "fabric_mtu=$BENCH_MTU"
	echo "resil_budget_s=$BENCH_RESIL_S"
	echo "resil_dev_mib=$BENCH_RESIL_MIB"
	echo "resil_slab=$BENCH_RESIL_SLAB"
	echo "resil_before_s=$BENCH_RESIL_BEFORE_S"
	echo "resil_donor_timeout_s=$BENCH_DONOR_TIMEOUT"
	echo "resil_fill=$BENCH_RESIL_FILL"
	echo "resil_pair_dev_mib=$BENCH_RESIL_PAIR_MIB"
	echo "user_hz=$(getconf CLK_TCK)"
	echo "page_cluster=$(cat /proc/sys/vm/page-cluster)"
	echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$raw/meta.env"

# ---- helpers ----------------------------------------------------------------
vmstat_get() { awk -v k="$1" '$1 == k {print $2}' /proc/vmstat; }

. "$bench/devices.sh"

# ---- fio --------------------------------------------------------------------
. "$bench/fiojobs.sh"
. "$bench/resilience.sh"

run_fio() {	# run_fio NAME: every job, BENCH_REPS times
	local name=$1 dir=$raw/dev/$1/fio
	mkdir -p "$dir"
	# Write the region once so reads hit real data on every device (brd
	# and the nvmet/nbd backends would otherwise return zeros for free).
	fio --name=precondition --filename="$DEV" --direct=1 --ioengine="$BENCH_IOENGINE" \
		--rw=write --bs=1M --iodepth=8 --size="${BENCH_REGION_MIB}M" \
		--output="$raw/dev/$name/precondition.txt" >/dev/null 2>&1 ||
		log "$name: precondition write failed"
	fio_jobs "$dir" >"$dir/jobs.fio"
	log "$name: fio, $BENCH_REPS repetition(s)"
	(cd "$dir" && BENCH_SERVE_MATCH=${BENCH_SERVE_MATCH:-} \
		BENCH_KTHREAD_MATCH=${BENCH_KTHREAD_MATCH:-} \
		timeout $((BENCH_REPS * (BENCH_RUNTIME + 10) * 5 + 120)) \
		fio --output-format=json --output="$dir/fio.json" jobs.fio \
		>"$dir/fio.stdout" 2>"$dir/fio.stderr")
	echo "$?" >"$dir/fio.rc"
}

# ---- applications under memory pressure -------------------------------------
cg=/sys/fs/cgroup/bench
cg_setup() {	# cg_setup PERCENT|none WS_MIB
	mkdir -p $cg 2>/dev/null
	if [ "$1" = none ]; then
		echo max >$cg/memory.max
	else
		echo $((($2 * $1 / 100 + BENCH_CG_SLACK_MIB) * 1024 * 1024)) >$cg/memory.max
	fi
}

# run_app DIR LABEL TIMEOUT CMD...: run CMD inside the cgroup, record its
# output, status, wall time and swap traffic.
run_app() {
	local dir=$1 label=$2 limit=$3 t0 t1 in0 out0 rc; shift 3
	mkdir -p "$dir"
	in0=$(vmstat_get pswpin) out0=$(vmstat_get pswpout)
	t0=$(date +%s.%N)
	timeout "$limit" bash -c 'echo $$ >'$cg'/cgroup.procs && exec "$@"' _ "$@" \
		>"$dir/$label.out" 2>"$dir/$label.err"
	rc=$?
	t1=$(date +%s.%N)
	{
		echo "rc=$rc"
		echo "timeout=$([ $rc = 124 ] && echo 1 || echo 0)"
		echo "time_limit_s=$limit"
		echo "wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')"
		echo "pswpin=$(($(vmstat_get pswpin) - in0))"
		echo "pswpout=$(($(vmstat_get pswpout) - out0))"
		echo "memory_max=$(cat $cg/memory.max)"
		echo "memory_peak=$(cat $cg/memory.peak 2>/dev/null || echo unknown)"
	} >"$dir/$label.meta"
	return $rc
}

redis_port=6390
# run_redis DIR LABEL: a redis-server in the cgroup, loaded with
# redis_keys values by a server-side Lua loop, then GET and SET with random
# keys from redis-benchmark (outside the cgroup).
run_redis() {
	local dir=$1 label=$2 limit=$3 pid t0 t1 rc=0 in0 out0 chunk=4000 i phase=load phase_limit=0
	local start=$SECONDS deadline=$((SECONDS + limit / 2))
	mkdir -p "$dir"
	in0=$(vmstat_get pswpin) out0=$(vmstat_get pswpout)
	bash -c 'echo $$ >'$cg'/cgroup.procs && exec "$@"' _ \
		redis-server --port $redis_port --bind 127.0.0.1 --save '' \
		--appendonly no --protected-mode no --daemonize no \
		--dir /tmp --logfile "$dir/$label.server.log" &
	pid=$!
	if ! wait_for 20 timeout 5 redis-cli -p $redis_port ping; then
		kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
		echo "rc=1" >"$dir/$label.meta"
		echo "redis-server did not start" >"$dir/$label.err"
		return 1
	fi
	# Random 4000-byte values (so zram gets no free compression), keys in
	# redis-benchmark's "key:%012d" form so its GETs hit.  Eight random
	# blocks are made once (Lua is slow under TCG) and stored under
	# "blk:N"; the loading scripts copy them.
	t0=$(date +%s.%N)
	redis-cli -p $redis_port EVAL "
		math.randomseed(1)
		for b = 1, 8 do
			local t = {}
			for c = 1, tonumber(ARGV[1]) do t[c] = string.char(math.random(0, 255)) end
			redis.call('SET', 'blk:' .. b, table.concat(t))
		end
		return 1" 0 "$BENCH_REDIS_VALUE" >>"$dir/$label.load" 2>&1 || rc=1
	for ((i = 0; rc == 0 && i < redis_keys; i += chunk)); do
		redis-cli -p $redis_port EVAL "
			local blk = {}
			for b = 1, 8 do blk[b] = redis.call('GET', 'blk:' .. b) end
			for k = tonumber(ARGV[1]), tonumber(ARGV[2]) - 1 do
				redis.call('SET', string.format('key:%012d', k), blk[(k % 8) + 1])
			end
			return 1" 0 $i $((i + chunk < redis_keys ? i + chunk : redis_keys)) \
			>>"$dir/$label.load" 2>&1 || { rc=1; break; }
		[ $SECONDS -lt $deadline ] || { rc=124; break; }
	done
	t1=$(date +%s.%N)
	echo "load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" >"$dir/$label.out"
	redis-cli -p $redis_port info memory | grep -E '^used_memory:' | tr -d '\r' | sed 's/:/=/' >>"$dir/$label.out"
	redis-cli -p $redis_port dbsize | sed 's/^/dbsize=/' >>"$dir/$label.out"
	phase=load
	if [ $rc = 0 ]; then
		phase=get phase_limit=$(((limit - (SECONDS - start)) / 2))
		timeout $phase_limit redis-benchmark -p $redis_port -t get \
			-r "$redis_keys" -n "$BENCH_REDIS_OPS" -c 2 -P 8 --csv \
			>"$dir/$label.get.csv" 2>>"$dir/$label.err"
		rc=$?
	fi
	if [ $rc = 0 ]; then
		phase=set phase_limit=$((limit - (SECONDS - start) > 1 ? limit - (SECONDS - start) : 1))
		timeout $phase_limit redis-benchmark -p $redis_port -t set \
			-r "$redis_keys" -n "$BENCH_REDIS_OPS" -d "$BENCH_REDIS_VALUE" -c 2 -P 8 --csv \
			>"$dir/$label.set.csv" 2>>"$dir/$label.err"
		rc=$?
	fi
	redis-cli -p $redis_port shutdown nosave >/dev/null 2>&1
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	{
		echo "rc=$rc"
		echo "timeout=$([ $rc = 124 ] && echo 1 || echo 0)"
		echo "phase=$phase"
		echo "phase_limit_s=$phase_limit"
		echo "time_limit_s=$limit"
		echo "pswpin=$(($(vmstat_get pswpin) - in0))"
		echo "pswpout=$(($(vmstat_get pswpout) - out0))"
		echo "memory_max=$(cat $cg/memory.max)"
		echo "memory_peak=$(cat $cg/memory.peak 2>/dev/null || echo unknown)"
	} >"$dir/$label.meta"
	return $rc
}

# The time limit for the next application run: an equal share of what is
# left until APPS_DEADLINE among the APPS_LEFT runs still to do.
app_limit() {
	local left=$((APPS_DEADLINE - SECONDS)) n=$((APPS_LEFT > 0 ? APPS_LEFT : 1))
	local l=$((left / n))
	[ "$l" -gt "$BENCH_APP_LIMIT_MAX" ] && l=$BENCH_APP_LIMIT_MAX
	echo "$l"
}

# run_limited DIR LABEL KIND...: one application run within its share of
# the budget, or a "skipped" record when under 4 s are left for it.
run_limited() {
	local dir=$1 label=$2 kind=$3 lim tl
	lim=$(app_limit)
	APPS_LEFT=$((APPS_LEFT - 1))
	tl=$((lim / 3 > 0 ? lim / 3 : 1))
	if [ "$label" = "${label%-none}-none" ]; then
		# The all-in-RAM baseline every slowdown is measured against:
		# never cut short, only bounded by the per-run maximum.
		lim=$BENCH_APP_LIMIT_MAX tl=0
	fi
	mkdir -p "$dir"
	if [ "$lim" -lt 4 ]; then
		printf 'rc=skipped\nskipped=time budget\n' >"$dir/$label.meta"
		return 0
	fi
	case $kind in
	memstress-*)
		# The access phase stops itself at a third of the limit and
		# reports its rate; init and verify must fit in the rest.
		run_app "$dir" "$label" "$lim" "$bench/memstress" \
			--size "$BENCH_WS_MIB" --mode "${kind#memstress-}" \
			--ops "$memstress_ops" --time-limit "$tl" ;;
	redis) run_redis "$dir" "$label" "$lim" ;;
	sort) run_app "$dir" "$label" "$lim" "$bench/sortbench" --size "$BENCH_SORT_MIB" ;;
	esac
}

# run_apps DIR FRACTION: every application once at one memory limit
# (FRACTION is a percentage of each app's working set, or "none").
run_apps() {
	local dir=$1 frac=$2
	cg_setup "$frac" "$BENCH_WS_MIB"
	run_limited "$dir" "memstress-uniform-$frac" memstress-uniform
	run_limited "$dir" "memstress-zipf-$frac" memstress-zipf
	run_limited "$dir" "redis-$frac" redis
	cg_setup "$frac" "$BENCH_SORT_MIB"
	run_limited "$dir" "sort-$frac" sort
	cg_setup none 0
}

swap_apps() {	# swap_apps NAME: the device as the only swap, every limit
	local name=$1 f
	mkswap "$DEV" >>"$raw/log" 2>&1 || { log "$name: mkswap failed"; echo "mkswap failed" >"$raw/dev/$name/apps-status"; return 1; }
	swapon "$DEV" 2>>"$raw/log" || { log "$name: swapon failed"; echo "swapon failed" >"$raw/dev/$name/apps-status"; return 1; }
	set -- $BENCH_FRACTIONS
	APPS_LEFT=$(($# * 4))
	for f in $BENCH_FRACTIONS; do
		log "$name: applications at $f% local memory (${APPS_LEFT} runs, $((APPS_DEADLINE - SECONDS)) s left)"
		run_apps "$raw/dev/$name/apps" "$f"
	done
	swapoff "$DEV" 2>>"$raw/log" || log "$name: swapoff failed"
	echo ok >"$raw/dev/$name/apps-status"
}

# ---- main -------------------------------------------------------------------
for s in $(swapon --show=NAME --noheadings 2>/dev/null); do swapoff "$s"; done
grep -q '+memory\|memory' /sys/fs/cgroup/cgroup.subtree_control ||
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
fabric_up
{ rdma link show; ibv_devinfo -v | grep -i 'mtu'; } >"$raw/rdma-link.txt" 2>&1

# Expand the device list into table entries: "LABEL FUNC PARAM".
entries=() do_resil=0
for d in ${devices//,/ }; do
	case "$d" in
	resilience) do_resil=1 ;;
	rmem)
		while read -r label param; do
			if [ "$label" = unavailable ]; then
				entries+=("rmem rmem unavailable:$param")
			else
				entries+=("rmem-$label rmem $param")
			fi
		done < <(rmem_modes)
		;;
	nvmeof-rdma) entries+=("nvmeof-rdma nvmeof_rdma ") ;;
	nbd-tcp) entries+=("nbd-tcp nbd_tcp ") ;;
	zram|brd) entries+=("$d $d ") ;;
	*) log "unknown device '$d' skipped" ;;
	esac
done

# The resilience section runs last, in the BENCH_RESIL_S the devices leave.
resil_end=$((SECONDS + BENCH_BUDGET_S))
budget_end=$resil_end
[ "$do_resil" = 1 ] && budget_end=$((resil_end - BENCH_RESIL_S))
if [ "$skip_apps" = 0 ]; then
	log "baseline: applications with all memory local, no swap"
	APPS_DEADLINE=$budget_end APPS_LEFT=4
	run_apps "$raw/baseline" none
fi
devs_left=${#entries[@]}

for e in "${entries[@]}"; do
	read -r label func param <<<"$e"
	dev_end=$((SECONDS + (budget_end - SECONDS) / devs_left))
	devs_left=$((devs_left - 1))
	mkdir -p "$raw/dev/$label"
	echo "$label" >>"$raw/devices"
	if [[ $param == unavailable:* ]]; then
		echo "unavailable: ${param#unavailable:}" >"$raw/dev/$label/status"
		log "$label: unavailable (${param#unavailable:})"
		continue
	fi
	DEV="" DEV_NOTE="" REASON="" BENCH_SERVE_MATCH="" BENCH_KTHREAD_MATCH=""
	FIO_POLLED="" DEV_SKIP_APPS=""
	RMEM_MODE_PARAM=$param
	log "$label: setup"
	if ! "dev_${func}_setup"; then
		echo "unavailable: ${REASON:-setup failed}" >"$raw/dev/$label/status"
		log "$label: unavailable (${REASON:-setup failed})"
		"dev_${func}_teardown" >/dev/null 2>&1
		continue
	fi
	{
		echo "ok"
		echo "device=$DEV"
		echo "size_bytes=$(blockdev --getsize64 "$DEV")"
		echo "params=$param"
		echo "note=$DEV_NOTE"
		echo "serve_match=$BENCH_SERVE_MATCH"
		echo "kthread_match=$BENCH_KTHREAD_MATCH"
	} >"$raw/dev/$label/status"
	run_fio "$label"
	# The applications get what fio left of this device's share, but at
	# least BENCH_APP_MIN_S: the budget may overrun by that much per device.
	APPS_DEADLINE=$((dev_end > SECONDS + BENCH_APP_MIN_S ? dev_end : SECONDS + BENCH_APP_MIN_S))
	if [ -n "$DEV_SKIP_APPS" ]; then
		log "$label: applications skipped: $DEV_SKIP_APPS"
	elif [ "$skip_apps" = 0 ]; then
		swap_apps "$label"
	fi
	log "$label: teardown"
	"dev_${func}_teardown" || log "$label: teardown failed"
done
if [ "$do_resil" = 1 ]; then
	# As a device's applications: at least BENCH_RESIL_S, even when the
	# devices overran (the budget may overrun by that much).
	[ "$resil_end" -lt $((SECONDS + BENCH_RESIL_S)) ] && resil_end=$((SECONDS + BENCH_RESIL_S))
	log "resilience: R=2 against R=1, a donor killed under load and idle ($((resil_end - SECONDS)) s left)"
	resilience
fi
echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$raw/meta.env"
dmesg >"$raw/dmesg.txt" 2>/dev/null
log "done"
