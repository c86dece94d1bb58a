#!/bin/bash
# The rmem demo, run inside a VM by `make demo` (tests/vm/run --rxe):
# a donor lends 1 GiB over Soft-RoCE, rmem attaches it as swap, and a
# workload twice the size of its cgroup's memory.max writes, rereads and
# checks every byte while the kernel swaps it to remote memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
tree=$PWD
addr=10.77.0.1 port=7470
work_mib=${RMEM_DEMO_WORKLOAD_MIB:-512}
limit_mib=$((work_mib / 2))
donor_log=/tmp/rmem-donord.log

step() { printf '\n==> %s\n' "$*"; }
cleanup() {
	swapoff /dev/rmem0 2>/dev/null || true
	"$tree/tools/rmemctl/rmemctl" detach rmem0 2>/dev/null || true
	[ -n "${donor_pid:-}" ] && kill "$donor_pid" 2>/dev/null && wait "$donor_pid" 2>/dev/null
	rmmod rmem 2>/dev/null || true
}
trap cleanup EXIT

step "Soft-RoCE"
rdma link show rxe0/1

step "loading rmem.ko"
insmod "$tree/drivers/rmem/rmem.ko"
modinfo -F version "$tree/drivers/rmem/rmem.ko" | sed 's/^/rmem version /'

step "donor lends 1 GiB on $addr:$port (64 MiB slabs)"
"$tree/server/donor/rmem-donord" --listen "$addr:$port" --size 1G --slab-size 64M \
	>"$donor_log" 2>&1 &
donor_pid=$!
for _ in $(seq 100); do
	grep -qi listening "$donor_log" && break
	sleep 0.1
done
cat "$donor_log"

step "rmemctl attach"
dev=$("$tree/tools/rmemctl/rmemctl" attach --donor "$addr:$port" --size 1G)
echo "attached $dev"

step "swap on $dev"
mkswap "$dev" >/dev/null
swapon --discard "$dev"
swapon --show

step "workload: ${work_mib} MiB in a cgroup limited to ${limit_mib} MiB"
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/rmem-demo
echo "${limit_mib}M" >/sys/fs/cgroup/rmem-demo/memory.max
pswpout0=$(awk '/^pswpout/ { print $2 }' /proc/vmstat)
pswpin0=$(awk '/^pswpin/ { print $2 }' /proc/vmstat)
set +e
(echo $BASHPID >/sys/fs/cgroup/rmem-demo/cgroup.procs &&
	exec "$tree/bench/memstress" --size "$work_mib" --mode uniform --ops 200000)
verdict=$?
set -e
pswpout=$(( $(awk '/^pswpout/ { print $2 }' /proc/vmstat) - pswpout0 ))
pswpin=$(( $(awk '/^pswpin/ { print $2 }' /proc/vmstat) - pswpin0 ))

step "what went to remote memory"
"$tree/tools/rmemctl/rmemctl" status rmem0
echo "pages swapped out: $pswpout ($((pswpout * 4 / 1024)) MiB), swapped in: $pswpin"

step "verdict"
if [ "$verdict" = 0 ] && [ "$pswpout" -gt 0 ]; then
	echo "PASS: the workload checked every byte it wrote; $((pswpout * 4 / 1024)) MiB went through remote memory"
else
	echo "FAIL: workload exit $verdict, pages swapped out $pswpout"
	exit 1
fi
swapoff "$dev"
rmdir /sys/fs/cgroup/rmem-demo
