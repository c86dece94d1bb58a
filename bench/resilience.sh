# bench/resilience.sh: the resilience section of `make bench`, sourced by
# bench/inside-vm.sh after the device table (and bench/devices.sh, whose
# rmem paths, fab_addr and wait_for it uses).  Three parts, all in the same
# boot, with rmem.ko loaded once (donor_timeout=BENCH_DONOR_TIMEOUT,
# resync_rate=0: unlimited):
#
#   pair     rmem at two replicas against one, both devices attached at
#            once to the same two donors (ports 7470, 7471 on the fabric
#            address) and measured by one fio start, job by job
#            interleaved (fio_jobs_pair): 4 KiB randread/randwrite QD1,
#            randread QD32x2, BENCH_REPS repetitions;
#   load     R=2 over three donors with `rmemctl agent` running, the device
#            written in full, then a 4 KiB randrw QD8 fio job (per-I/O
#            latency log, Unix-epoch timestamps) during which the donor
#            holding most copies is SIGKILLed; the phases (before, degraded,
#            resync) are cut from the log by the kill time and the driver's
#            events (`rmemctl -j monitor`);
#   idle     the same kill with no I/O: re-protection time and copy rate
#            alone.
#
# Raw files go to $raw/resilience/<part>/; bench/report reads them.
# shellcheck shell=bash

resil_donor_pids=()

# The binaries, copied when this file is sourced (at the start of the run):
# the tree is shared with the host, where the module may be rebuilt while
# the devices are measured, and the section should measure what rmem-irq
# measured.
resil_bin=/tmp/bench-resil-bin
mkdir -p "$resil_bin" &&
	cp "$rmem_ko" "$rmem_donord" "$rmemctl" "$resil_bin/" 2>/dev/null &&
	rmem_ko=$resil_bin/rmem.ko rmem_donord=$resil_bin/rmem-donord rmemctl=$resil_bin/rmemctl

# resil_donors DIR SIZE_MIB SLAB N: N donors on ports 7470.. (pids in
# resil_donor_pids), each waited for until it listens.
resil_donors() {
	local dir=$1 size=$2 slab=$3 n=$4 i j pid
	resil_donor_pids=()
	for ((i = 0; i < n; i++)); do
		"$rmem_donord" --listen "$fab_addr:$((7470 + i))" --size "${size}M" \
			--slab-size "$slab" >"$dir/donor-$((7470 + i)).log" 2>&1 &
		resil_donor_pids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		pid=${resil_donor_pids[$i]}
		for j in $(seq 1 600); do
			kill -0 "$pid" 2>/dev/null ||
				{ REASON="rmem-donord on port $((7470 + i)) exited"; return 1; }
			grep -q "listening on" "$dir/donor-$((7470 + i)).log" && break
			[ "$j" = 600 ] && { REASON="rmem-donord not listening after 300 s"; return 1; }
			sleep 0.5
		done
	done
}

resil_stop_donors() {
	local p
	for p in "${resil_donor_pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	resil_donor_pids=()
}

# resil_attach NAME REPLICAS SIZE_MIB NDONORS: rmemctl attach, retried.
resil_attach() {
	local name=$1 r=$2 size=$3 n=$4 i args=()
	for ((i = 0; i < n; i++)); do args+=(--donor "$fab_addr:$((7470 + i))"); done
	for i in 1 2 3 4 5; do
		"$rmemctl" attach "${args[@]}" --replicas "$r" --size "${size}M" \
			--name "$name" >>"$raw/log" 2>&1 && break
		[ "$i" = 5 ] && { REASON="rmemctl attach $name --replicas $r failed (see raw/log)"; return 1; }
		sleep 1
	done
	wait_for 10 test -b "/dev/$name" || { REASON="/dev/$name did not appear"; return 1; }
}

resil_detach() {
	local d
	for d in "$@"; do
		[ -b "/dev/$d" ] && "$rmemctl" detach "$d" >>"$raw/log" 2>&1
	done
}

# resil_fill DEV MIB OUT: write the first MIB MiB once (1 MiB blocks).
resil_fill() {
	fio --name=fill --filename="$1" --direct=1 --ioengine="$BENCH_IOENGINE" \
		--rw=write --bs=1M --iodepth=8 --size="${2}M" --output="$3" >/dev/null 2>&1
}

# ---- part 1: R=2 against R=1 -------------------------------------------------
resil_pair() {
	local dir=$resil/pair dsize=$BENCH_RESIL_PAIR_MIB
	mkdir -p "$dir/fio"
	# Each donor holds half of the R=1 device and a full copy of the R=2
	# device's slabs (R=2 over two donors: one copy on each), in whole
	# 64 MiB slabs (a 64 MiB R=1 device is one slab on one donor).
	resil_donors "$dir" $(((dsize + dsize / 2 + 63) / 64 * 64)) 64M 2 || return 1
	resil_attach rmem0 1 "$dsize" 2 || return 1
	resil_attach rmem1 2 "$dsize" 2 || return 1
	"$rmemctl" -j status >"$dir/status.json" 2>>"$raw/log"
	resil_fill /dev/rmem0 "$BENCH_REGION_MIB" "$dir/precondition-r1.txt"
	resil_fill /dev/rmem1 "$BENCH_REGION_MIB" "$dir/precondition-r2.txt"
	FIO_PAIR=(r1=/dev/rmem0 r2=/dev/rmem1)
	# (no CPU snapshots in quick runs: each costs about a second)
	FIO_POLLED="" fio_jobs_pair "$( [ "$quick" = 1 ] || echo "$dir/fio")" >"$dir/fio/jobs.fio"
	log "resilience: R=2 against R=1, $BENCH_REPS repetition(s)"
	(cd "$dir/fio" && BENCH_SERVE_MATCH='^rmem-donord$' \
		BENCH_KTHREAD_MATCH='^(rmem|rxe|ib[-_]|rdma)' timeout $((BENCH_REPS * (BENCH_RUNTIME + 10) * 6 + 120)) \
		fio --output-format=json --output="$dir/fio/fio.json" jobs.fio \
		>"$dir/fio/fio.stdout" 2>"$dir/fio/fio.stderr")
	echo "$?" >"$dir/fio/fio.rc"
	"$rmemctl" -j status >"$dir/status-after.json" 2>>"$raw/log"
}

# ---- parts 2 and 3: a donor SIGKILLed at R=2 ---------------------------------
# resil_kill PART LOAD: R=2 over three donors, the device written in full,
# the agent running; with LOAD=1 a randrw QD8 fio job runs throughout.  The
# donor holding most copies is SIGKILLed; the run ends when every slab is
# live again (or after BENCH_RESIL_MAX_S).
resil_kill() {
	local part=$1 load=$2 dir=$resil/$1 dsize=$BENCH_RESIL_MIB
	local mon_pid agent_pid fio_pid="" port idx t_kill i st live=0 js deadline
	mkdir -p "$dir"
	# After the kill two donors hold both copies of every slab: each needs
	# the device's size.
	resil_donors "$dir" "$dsize" "$BENCH_RESIL_SLAB" 3 || return 1
	resil_attach rmem0 2 "$dsize" 3 || return 1
	if [ "$BENCH_RESIL_FILL" = 1 ]; then
		log "resilience/$part: writing all ${dsize} MiB"
		resil_fill /dev/rmem0 "$dsize" "$dir/fill.txt"
	fi
	"$rmemctl" -j monitor >"$dir/events.jsonl" 2>"$dir/monitor.err" &
	mon_pid=$!
	"$rmemctl" agent --interval 2 -v >"$dir/agent.log" 2>&1 &
	agent_pid=$!
	"$rmemctl" -j status rmem0 >"$dir/status-before.json" 2>>"$raw/log"
	# The donor with most copies (the first of them on a tie).
	idx=$(python3 -c '
import json, sys, collections
d = json.load(open(sys.argv[1]))["devices"][0]
c = collections.Counter(r["donor"] for s in d["slabs"] for r in s["replicas"])
print(max(sorted(c), key=lambda k: c[k]))' "$dir/status-before.json" 2>>"$raw/log")
	[ -n "$idx" ] || idx=0
	port=$((7470 + idx))
	if [ "$load" = 1 ]; then
		(cd "$dir" && exec fio --name=randrw-qd8 --filename=/dev/rmem0 --direct=1 \
			--ioengine="$BENCH_IOENGINE" --rw=randrw --rwmixread=50 --bs=4k \
			--iodepth=8 --size="${dsize}M" --randrepeat=0 --time_based=1 \
			--runtime=$((BENCH_RESIL_BEFORE_S + BENCH_RESIL_MAX_S + BENCH_RESIL_AFTER_S + 60)) \
			--write_lat_log=randrw \
			--log_avg_msec=0 --log_unix_epoch=1 --output-format=json \
			--output="$dir/fio.json" >"$dir/fio.stdout" 2>"$dir/fio.stderr") &
		fio_pid=$!
		sleep "$BENCH_RESIL_BEFORE_S"
	else
		sleep 1
	fi
	log "resilience/$part: SIGKILL donor $idx (port $port)"
	# $EPOCHREALTIME: no fork between the clock read and the kill (a
	# `date` after it would be late by its own start-up under TCG).
	t_kill=$EPOCHREALTIME
	kill -9 "${resil_donor_pids[$idx]}"
	wait "${resil_donor_pids[$idx]}" 2>/dev/null
	# Every slab live again, after at least one replica was replaced.
	# status.log: one line per poll, "EPOCH_S JSON".
	# (A state is a value, "state":"..."; slab_summary has keys of the
	# same names.  A donor stays "reconnecting" or "dead": not a slab's.)
	deadline=$((SECONDS + BENCH_RESIL_MAX_S))
	while [ $SECONDS -lt $deadline ]; do
		js=$("$rmemctl" -j status rmem0 2>/dev/null | tr -d '\n')
		st=$EPOCHREALTIME
		echo "$st $js" >>"$dir/status.log"
		if grep -q '"replica-replaced"' "$dir/events.jsonl" &&
			grep -q '"state":' <<<"$js" &&
			! grep -Eq '"state": *"(degraded|resyncing|lost|stale|failed)"' <<<"$js" &&
			! grep -Eq '"slabs":.*"state": *"reconnecting"' <<<"$js"; then
			live=1
			break
		fi
		sleep 0.5
	done
	[ "$live" = 1 ] || log "resilience/$part: device not live after ${BENCH_RESIL_MAX_S} s"
	if [ -n "$fio_pid" ]; then
		sleep "$BENCH_RESIL_AFTER_S"
		# fio ends its job on SIGINT and writes its log and JSON.
		kill -INT "$fio_pid" 2>/dev/null
		for i in $(seq 1 120); do
			kill -0 "$fio_pid" 2>/dev/null || break
			sleep 0.5
		done
		wait "$fio_pid" 2>/dev/null
		# Only the total latency (lat) is analysed; the others would
		# triple the raw tarball.
		rm -f "$dir/randrw_clat.1.log" "$dir/randrw_slat.1.log"
	fi
	"$rmemctl" -j status rmem0 >"$dir/status-after.json" 2>>"$raw/log"
	{
		echo "killed_donor=$idx"
		echo "killed_port=$port"
		echo "t_kill=$t_kill"
		echo "t_live_poll=$([ "$live" = 1 ] && echo "$st")"
		echo "live=$live"
		echo "load=$load"
		echo "dev_mib=$dsize"
		echo "filled=$BENCH_RESIL_FILL"
		echo "slab=$BENCH_RESIL_SLAB"
		echo "before_s=$([ "$load" = 1 ] && echo "$BENCH_RESIL_BEFORE_S" || echo 1)"
		echo "after_s=$BENCH_RESIL_AFTER_S"
		echo "donor_timeout_s=$BENCH_DONOR_TIMEOUT"
		echo "resync_rate=$(cat /sys/module/rmem/parameters/resync_rate)"
	} >"$dir/kill.env"
	kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null
	kill "$mon_pid" 2>/dev/null; wait "$mon_pid" 2>/dev/null
}

# resilience: every part; a part that cannot be set up is recorded as
# unavailable with the reason, and the next one goes on.
resilience() {
	local part rc
	resil=$raw/resilience
	mkdir -p "$resil"
	{
		echo "donor_timeout_s=$BENCH_DONOR_TIMEOUT"
		echo "resync_rate=0"
		echo "io_timeout_s=60"
		echo "kill_dev_mib=$BENCH_RESIL_MIB"
		echo "kill_slab=$BENCH_RESIL_SLAB"
	} >"$resil/settings.env"
	modprobe -a rdma_cm ib_core 2>>"$raw/log"
	if ! insmod "$rmem_ko" io_timeout=60 donor_timeout="$BENCH_DONOR_TIMEOUT" \
		resync_rate=0 >>"$raw/log" 2>&1; then
		echo "unavailable: insmod rmem.ko failed" >"$resil/status"
		return 1
	fi
	echo ok >"$resil/status"
	for part in pair load idle; do
		if [[ " $BENCH_RESIL_PARTS " != *" $part "* ]]; then
			echo "skipped: not in BENCH_RESIL_PARTS ($BENCH_RESIL_PARTS)" >"$resil/$part.status"
			continue
		fi
		if [ $SECONDS -ge "$resil_end" ]; then
			echo "skipped: time budget" >"$resil/$part.status"
			log "resilience/$part: skipped (time budget)"
			continue
		fi
		mkdir -p "$resil/$part"
		REASON=""
		log "resilience/$part: setup"
		case $part in
		pair) resil_pair; rc=$? ;;
		load) resil_kill load 1; rc=$? ;;
		idle) resil_kill idle 0; rc=$? ;;
		esac
		if [ "$rc" = 0 ]; then
			echo ok >"$resil/$part.status"
		else
			echo "unavailable: ${REASON:-failed}" >"$resil/$part.status"
			log "resilience/$part: unavailable (${REASON:-failed})"
		fi
		resil_detach rmem0 rmem1
		resil_stop_donors
	done
	dmesg | grep -i 'rmem' | tail -200 >"$resil/dmesg-rmem.txt" 2>/dev/null
	rmmod rmem >>"$raw/log" 2>&1 || log "resilience: rmmod rmem failed"
}
