# bench/fiojobs.sh: the fio job file of a device's runs, sourced by
# bench/inside-vm.sh and checked by bench/selftest (fio --parse-only).
# Expects: DEV, BENCH_IOENGINE, BENCH_RUNTIME, BENCH_REGION_MIB, BENCH_REPS,
# bench (the bench directory) and FIO_POLLED (set for a polled device).
# shellcheck shell=bash

# fio_jobs DIR: one job file for every repetition of every job (one fio
# start per device: starting fio costs seconds under TCG).  Job names are
# JOB@REP.  CPU counters are snapshotted by one-I/O jobs just before and
# after each measured job, not by the measured job's own exec_prerun: fio
# runs that once per clone, so with numjobs=2 one clone would sit in the
# snapshot (a /proc scan, most of a second under TCG) while the other was
# already measuring, and the two-job figure would mostly be one job's.
# snap_job NAME FILE [DEV]: a one-I/O job whose exec_prerun snapshots the
# CPU counters into FILE (reading from DEV when the job file's [global]
# names no device).
snap_job() {
	cat <<-EOF

	[$1]
	stonewall
	rw=read
	bs=4k
	time_based=0
	io_size=4k
	exec_prerun=$bench/cpu-snap $2
	EOF
	if [ -n "${3:-}" ]; then echo "filename=$3"; fi
}

# fio_global FILENAME: the [global] section every job file starts with
# (FILENAME empty: each job names its own).
fio_global() {
	local engine=$BENCH_IOENGINE polled=""
	# rmem's polled mode: io_uring with IOPOLL, the only way fio polls
	[ -n "${FIO_POLLED:-}" ] && engine=io_uring polled="hipri=1"
	cat <<-EOF
	[global]
	${1:+filename=$1}
	direct=1
	ioengine=$engine
	$polled
	time_based=1
	runtime=$BENCH_RUNTIME
	size=${BENCH_REGION_MIB}M
	group_reporting=1
	randrepeat=0
	lat_percentiles=1
	percentile_list=1:5:10:20:30:40:50:60:70:75:80:85:90:95:97.5:99:99.5:99.9:99.95:99.99
	EOF
}

fio_jobs() {
	local dir=$1 j r
	fio_global "$DEV"
	for r in $(seq 1 "$BENCH_REPS"); do
		for j in "randread-qd1 randread 4k 1 1" "randwrite-qd1 randwrite 4k 1 1" \
			"randread-qd32x2 randread 4k 32 2" "seqread-qd16 read 128k 16 1" \
			"seqwrite-qd16 write 128k 16 1"; do
			set -- $j
			snap_job "cpusnap-before-$1@$r" "$dir/$1@$r.cpu-before"
			cat <<-EOF

			[$1@$r]
			stonewall
			rw=$2
			bs=$3
			iodepth=$4
			numjobs=$5
			EOF
			snap_job "cpusnap-after-$1@$r" "$dir/$1@$r.cpu-after"
		done
	done
}

# fio_jobs_pair DIR (devices in the array FIO_PAIR, "TAG=DEV" each): the
# QD1 and QD32x2 random jobs of fio_jobs on several devices in one fio
# start, interleaved job by job and repetition by repetition (so a change
# of the machine's load hits every device alike), each bracketed by CPU
# snapshots into DIR (DIR empty: none).  Job names are TAG:JOB@REP (not
# TAG/...: fio writes an exec_prerun's output to JOBNAME.prerun.txt);
# bench/report reads them with load_fio(..., prefix="TAG:").  Used by the
# resilience section to set rmem at two replicas against one replica.
fio_jobs_pair() {
	local dir=$1 r j td
	fio_global ""
	for r in $(seq 1 "$BENCH_REPS"); do
		for j in "randread-qd1 randread 4k 1 1" "randwrite-qd1 randwrite 4k 1 1" \
			"randread-qd32x2 randread 4k 32 2"; do
			set -- $j
			for td in "${FIO_PAIR[@]}"; do
				if [ -n "$dir" ]; then
					snap_job "cpusnap-before-${td%%=*}:$1@$r" \
						"$dir/${td%%=*}:$1@$r.cpu-before" "${td#*=}"
				fi
				cat <<-EOF

				[${td%%=*}:$1@$r]
				stonewall
				filename=${td#*=}
				rw=$2
				bs=$3
				iodepth=$4
				numjobs=$5
				EOF
				if [ -n "$dir" ]; then
					snap_job "cpusnap-after-${td%%=*}:$1@$r" \
						"$dir/${td%%=*}:$1@$r.cpu-after" "${td#*=}"
				fi
			done
		done
	done
}
