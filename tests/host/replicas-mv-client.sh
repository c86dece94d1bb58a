#!/bin/bash
# The client VM of tests/host/30-replicas-multivm.bats: a device with two
# replicas per slab on the donor VMs A (10.77.1.2) and B (10.77.2.2), a
# third donor local (10.77.0.1), the agent, and fio verify=crc32c running
# through the fault.  MODE vmkill: the host kills VM A's qemu when this
# asks (SYNC/kill-a).  MODE linkcut: the link to B is cut for good here.
# Exits non-zero on any I/O error, verify error, or if the slab is not
# re-protected on the local donor.
set -euo pipefail
SYNC=$1 MODE=$2
RMEMCTL=tools/rmemctl/rmemctl
log() { echo "client: $*"; }

insmod drivers/rmem/rmem.ko donor_timeout=10 io_timeout=60
server/donor/rmem-donord --listen 10.77.0.1:7470 --size 256M --slab-size 64M \
	>/tmp/donor-local.log 2>&1 &
for _ in $(seq 300); do grep -q listening /tmp/donor-local.log && break; sleep 0.2; done

# the donor VMs boot meanwhile: try until both answer
dev=""
for i in $(seq 120); do
	dev=$($RMEMCTL attach --donor 10.77.1.2:7470 --donor 10.77.2.2:7470 \
		--donor 10.77.0.1:7470 --replicas 2 --size 64M 2>/dev/null) && break
	sleep 2
done
[ -b "$dev" ] || { log "attach failed"; exit 1; }
log "attached $dev after $i tries"
json() { $RMEMCTL -j status "$(basename "$dev")"; }
json | jq -c '.devices[0].slabs[0].replicas | map(.donor_addr)'

$RMEMCTL agent --interval 2 >/tmp/agent.log 2>&1 &
fio --name=mv --filename="$dev" --direct=1 --ioengine=libaio --rw=randwrite \
	--bs=4k --iodepth=8 --loops=3 --verify=crc32c --verify_fatal=1 \
	--verify_backlog=512 --verify_state_save=0 --randrepeat=0 \
	--output-format=terse >/tmp/fio.out 2>&1 &
fpid=$!
sleep 5
case "$MODE" in
vmkill)
	victim=10.77.1.2
	log "asking the host to kill VM A"
	touch "$SYNC/kill-a" ;;
linkcut)
	victim=10.77.2.2
	nic=$(ip -o addr show to 10.77.2.1/24 | awk '{print $2}')
	log "cutting the link to B ($nic) for good"
	ip link set "$nic" down ;;
esac
rc=0
wait "$fpid" || rc=$?
cat /tmp/fio.out | tail -3
[ "$rc" -eq 0 ] || { log "fio failed: $rc"; cat /tmp/fio.out; exit 1; }
log "fio passed through the fault"

state=""
for _ in $(seq 180); do
	state=$(json | jq -r '.devices[0].slabs[0].state')
	[ "$state" = live ] && break
	sleep 1
done
cat /tmp/agent.log
json | jq -c '.devices[0].slabs[0].replicas'
[ "$state" = live ] || { log "slab not re-protected: $state"; exit 1; }
on=$(json | jq -r '.devices[0].slabs[0].replicas | map(.donor_addr) | join(" ")')
log "replicas on: $on"
[[ "$on" != *$victim:* ]] || { log "a replica is still on $victim"; exit 1; }
[[ "$on" == *10.77.0.1:7470* ]] || { log "not re-protected on the local donor"; exit 1; }
errors=$(json | jq '.devices[0].stats.errors')
[ "$errors" -eq 0 ] || { log "driver counted $errors errors"; exit 1; }
fio --name=mv --filename="$dev" --direct=1 --ioengine=libaio --rw=randwrite \
	--bs=4k --iodepth=8 --verify=crc32c --verify_only=1 --verify_fatal=1 \
	--verify_state_save=0 --randrepeat=0 --output-format=terse >/dev/null
log "every block read back intact"
touch "$SYNC/done"
kill %1 %2 2>/dev/null || true
$RMEMCTL detach "$(basename "$dev")"
