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
# snap_job NAME FILE: a one-I/O job whose exec_prerun snapshots the CPU
# counters into FILE.
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
}

fio_jobs() {
	local dir=$1 j r engine=$BENCH_IOENGINE polled=""
	# rmem's polled mode: io_uring with IOPOLL, the only way fio polls
	[ -n "$FIO_POLLED" ] && engine=io_uring polled="hipri=1"
	cat <<-EOF
	[global]
	filename=$DEV
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
