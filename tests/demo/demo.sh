#!/bin/bash
# The rmem demo, run inside a VM by `make demo` (tests/vm/run --rxe):
# a controller and three donors on separate addresses of the Soft-RoCE
# fabric, a client that attaches remote swap by size alone, and a workload
# twice the size of its cgroup's memory.max that writes, rereads and checks
# every byte while the kernel swaps it to the donors' memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
tree=$PWD
rmemctl="$tree/tools/rmemctl/rmemctl"
work_mib=${RMEM_DEMO_WORKLOAD_MIB:-512}
limit_mib=$((work_mib / 2))
dir=$(mktemp -d /tmp/rmem-demo.XXXXXX)
ctl_port=7480
donors="10.77.0.1 10.77.0.2 10.77.0.3"
pids=()

step() { printf '\n==> %s\n' "$*"; }
cleanup() {
	swapoff /dev/rmem0 2>/dev/null || true
	"$rmemctl" --config "$dir/rmem.conf" detach rmem0 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rmmod rmem 2>/dev/null || true
	rmdir /sys/fs/cgroup/rmem-demo 2>/dev/null || true
}
trap cleanup EXIT
api() {
	curl -sf -H "Authorization: Bearer $(cat "$dir/token")" "http://127.0.0.1:$ctl_port$1"
}

step "Soft-RoCE fabric: rxe0 on fab0 with three donor addresses"
for a in 10.77.0.2 10.77.0.3; do ip addr add "$a/24" dev fab0 2>/dev/null || true; done
rdma link show rxe0/1
ip -br addr show fab0

step "cluster configuration (the same file on every node)"
head -c 32 /dev/urandom | base64 >"$dir/token"
chmod 600 "$dir/token"
cat >"$dir/rmem.conf" <<CONF
[cluster]
controller = 127.0.0.1:$ctl_port
token_file = $dir/token
slab_size = 64M
replicas = 1
[node]
name = demo-client
rdma_addr = 10.77.0.1:7470
[controller]
listen = 127.0.0.1:$ctl_port
db = $dir/controller.db
CONF
cat "$dir/rmem.conf"

step "controller"
"$tree/server/controller/rmem-controllerd" --config "$dir/rmem.conf" >"$dir/controller.log" 2>&1 &
pids+=($!)

step "three donors lend 384 MiB each, in three zones"
i=0
for a in $donors; do
	i=$((i + 1))
	"$tree/server/donor/rmem-donord" --listen "$a:7470" --size 384M --slab-size 64M \
		--controller "127.0.0.1:$ctl_port" --token-file "$dir/token" --zone "zone$i" \
		>"$dir/donor-$a.log" 2>&1 &
	pids+=($!)
done
for _ in $(seq 900); do
	[ "$(api /v1/status 2>/dev/null | jq -r '.donors.up' 2>/dev/null)" = 3 ] && break
	sleep 0.1
done
"$rmemctl" --config "$dir/rmem.conf" donors

step "loading rmem.ko"
insmod "$tree/out/modules/$(uname -r)/rmem.ko"

step "rmemctl attach --size 1G (the controller picks the donors)"
dev=$("$rmemctl" --config "$dir/rmem.conf" attach --size 1G)
echo "attached $dev"
"$rmemctl" --config "$dir/rmem.conf" slabs

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
	exec "$tree/bench/memstress" --size "$work_mib" --mode uniform --ops 100000)
verdict=$?
set -e
pswpout=$(( $(awk '/^pswpout/ { print $2 }' /proc/vmstat) - pswpout0 ))
pswpin=$(( $(awk '/^pswpin/ { print $2 }' /proc/vmstat) - pswpin0 ))

step "what went to remote memory"
"$rmemctl" --config "$dir/rmem.conf" status
echo
echo "pages swapped out: $pswpout ($((pswpout * 4 / 1024)) MiB), swapped in: $pswpin ($((pswpin * 4 / 1024)) MiB)"

step "verdict"
swapoff "$dev"
if [ "$verdict" = 0 ] && [ "$pswpout" -gt 0 ]; then
	echo "PASS: the workload checked every byte it wrote; $((pswpout * 4 / 1024)) MiB went to the donors' memory and $((pswpin * 4 / 1024)) MiB came back"
else
	echo "FAIL: workload exit $verdict, pages swapped out $pswpout"
	exit 1
fi
