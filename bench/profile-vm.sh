#!/bin/bash
# bench/profile-vm.sh --out DIR --device NAME [--mode LABEL] [--replicas N] [fio settings]
#
# Inside the VM (started by bench/profile): sets one device up from the
# bench's device table, starts fio on it, and while fio is past its start
# records every CPU with `perf record -a -g` for --seconds, counting the
# I/Os the device completed in that window (/sys/block/DEV/stat).  Writes
# DIR/perf.txt (perf script) and DIR/window.env for bench/profile-report.
set -u
export LC_ALL=C
out="" device=rmem mode=irq rw=randread bs=4k qd=1 jobs=1 seconds=5
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--device) device=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--rw) rw=$2; shift 2 ;;
	--bs) bs=$2; shift 2 ;;
	--qd) qd=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--replicas) export BENCH_RMEM_REPLICAS=$2; shift 2 ;;
	*) echo "profile-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { echo "profile-vm.sh: --out DIR is required" >&2; exit 2; }
command -v perf >/dev/null || { echo "profile-vm.sh: perf missing (linux-perf)" >&2; exit 1; }

tree=$(pwd)
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
bench=$tree/bench
raw=$out
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$raw/log"; }
: "${BENCH_DEV_MIB:=256}" "${BENCH_REGION_MIB:=64}" "${BENCH_MTU:=9000}"
. "$bench/devices.sh"

fabric_up

case "$device" in
rmem)
	func=rmem
	RMEM_MODE_PARAM=$(rmem_modes | awk -v m="$mode" '$1 == m {print $2}')
	label=rmem-$mode
	[ "${BENCH_RMEM_REPLICAS:-1}" = 1 ] || label=$label-r$BENCH_RMEM_REPLICAS ;;
nvmeof-rdma) func=nvmeof_rdma label=$device ;;
nbd-tcp) func=nbd_tcp label=$device ;;
zram|brd) func=$device label=$device ;;
*) echo "profile-vm.sh: unknown device '$device'" >&2; exit 2 ;;
esac
mkdir -p "$raw/dev/$label"
"dev_${func}_setup" || { log "$label: setup failed: $REASON"; exit 1; }
trap '"dev_${func}_teardown" >/dev/null 2>&1' EXIT

fio --name=precondition --filename="$DEV" --direct=1 --ioengine=libaio \
	--rw=write --bs=1M --iodepth=8 --size="${BENCH_REGION_MIB}M" >/dev/null 2>&1
# perf launches fio itself (a system-wide recording started next to an
# already running fio saw none of fio's samples in this VM) but enables
# its counters only after a delay, when fio is past its start (seconds
# under TCG, mostly dynamic linking); the recording ends with fio.  The
# I/Os in that window come from fio's own rate and the moment its I/O
# began (its exec_prerun stamps it): not every device counts I/O in
# /sys/block (brd does not, nor does the NVMe multipath node).
delay_s=8
cd "$out" || exit 1
# perf.data on tmpfs: perf cannot mmap it on the 9p-shared tree.  The
# delay counts from the workload's exec, which is stamped (perf's own
# start takes tens of seconds under TCG).
perf record -a -g -B -D $((delay_s * 1000)) -o /tmp/perf.data -- \
	sh -c 'date +%s.%N >exec.stamp && exec "$@"' sh \
	fio --name=profile --filename="$DEV" --direct=1 --ioengine=libaio \
	--rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs="$jobs" --group_reporting \
	--size="${BENCH_REGION_MIB}M" --time_based --runtime=$((seconds + delay_s)) \
	--randrepeat=0 --exec_prerun="date +%s.%N" \
	--output-format=json --output="$out/fio.json" >/dev/null 2>"$out/perf-record.txt"
t_io=$(head -n1 "$out/profile.prerun.txt" 2>/dev/null)
t_exec=$(cat "$out/exec.stamp" 2>/dev/null)
read -r ios window_s < <(python3 - "$out/fio.json" "${t_exec:-0}" "$delay_s" "${t_io:-0}" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
t_exec, delay, t_io = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
run_s = max(j["read"]["runtime"], j["write"]["runtime"]) / 1000.0
# counters on at t_exec + delay; I/O from t_io to t_io + run_s
window = (t_io + run_s) - max(t_exec + delay, t_io) if t_io else 0
print(int(ios * window / run_s) if run_s > 0 and window > 0 else 0, round(window, 1))
PY
)
perf script -i /tmp/perf.data -F comm,cpu,period,ip,sym >"$out/perf.txt" 2>/dev/null
rm -f /tmp/perf.data
{
	echo "device=$label"
	echo "rw=$rw"
	echo "bs=$bs"
	echo "qd=$qd"
	echo "jobs=$jobs"
	echo "seconds=$window_s"
	echo "fio_start_s=$(awk -v a="$t_exec" -v b="${t_io:-0}" 'BEGIN {printf "%.1f", b - a}')"
	echo "counters_on_s=$delay_s"
	echo "ios=$ios"
	echo "kernel=$(uname -r)"
	echo "fabric_mtu=$BENCH_MTU"
} >"$out/window.env"
log "$label: about $ios I/Os in the ${window_s}s recorded"
