#!/bin/bash
# The client VM of tests/host/30-replicas-multivm.bats: a device with two
# replicas per slab on the donor VMs A (10.77.1.2) and B (10.77.2.2), two
# more donors local (10.77.0.1, ports 7470 and 7471), the agent, and fio
# verify=crc32c running through each fault:
# 1. the host kills VM A's qemu when this asks (SYNC/kill-a): the slab is
#    re-protected on the first local donor;
# 2. then the link to B is cut for good here: re-protected on the second.
# Exits non-zero on any I/O error, verify error, or a slab not
# re-protected where it should be.
set -euo pipefail
SYNC=$1
RMEMCTL=tools/rmemctl/rmemctl
log() { echo "client: $*"; }

insmod "out/modules/$(uname -r)/rmem.ko" donor_timeout=10 io_timeout=60
for port in 7470 7471; do
	server/donor/rmem-donord --listen 10.77.0.1:$port --size 128M \
		--slab-size 64M >/tmp/donor-$port.log 2>&1 &
done
for port in 7470 7471; do
	for _ in $(seq 300); do grep -q listening /tmp/donor-$port.log && break; sleep 0.2; done
done

# the donor VMs boot meanwhile: try until both answer
dev=""
for i in $(seq 120); do
	dev=$($RMEMCTL attach --donor 10.77.1.2:7470 --donor 10.77.2.2:7470 \
		--donor 10.77.0.1:7470 --donor 10.77.0.1:7471 --replicas 2 \
		--size 64M 2>/dev/null) && break
	sleep 2
done
[ -b "$dev" ] || { log "attach failed"; exit 1; }
log "attached $dev after $i tries"
json() { $RMEMCTL -j status "$(basename "$dev")"; }
replicas_on() { json | jq -r '.devices[0].slabs[0].replicas | map(.donor_addr) | join(" ")'; }
log "replicas on: $(replicas_on)"
$RMEMCTL agent --interval 2 >/tmp/agent.log 2>&1 &

# fault VICTIM NEW: fio through the fault, then the slab must be healthy
# again with no copy on VICTIM and one on NEW, every block intact
fault() {
	local victim=$1 new=$2 fpid rc=0 state="" on
	fio --name=mv --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=8 --loops=2 --verify=crc32c \
		--verify_fatal=1 --verify_backlog=512 --verify_state_save=0 \
		--randrepeat=0 --output-format=terse >/tmp/fio.out 2>&1 &
	fpid=$!
	sleep 5
	case "$victim" in
	10.77.1.2:*)
		log "asking the host to kill VM A"
		touch "$SYNC/kill-a" ;;
	10.77.2.2:*)
		nic=$(ip -o addr show to 10.77.2.1/24 | awk '{print $2}')
		log "cutting the link to B ($nic) for good"
		ip link set "$nic" down ;;
	esac
	wait "$fpid" || rc=$?
	[ "$rc" -eq 0 ] || { log "fio failed: $rc"; cat /tmp/fio.out; exit 1; }
	log "fio passed through the fault"
	for _ in $(seq 180); do
		state=$(json | jq -r '.devices[0].slabs[0].state')
		[ "$state" = live ] && break
		sleep 1
	done
	on=$(replicas_on)
	log "slab $state, replicas on: $on"
	[ "$state" = live ] || { cat /tmp/agent.log; exit 1; }
	[[ " $on " != *" $victim "* ]] || { log "a replica is still on $victim"; exit 1; }
	[[ " $on " == *" $new "* ]] || { log "not re-protected on $new"; exit 1; }
	fio --name=mv --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --iodepth=8 --verify=crc32c --verify_only=1 \
		--verify_fatal=1 --verify_state_save=0 --randrepeat=0 \
		--output-format=terse >/dev/null
	log "every block read back intact"
}

fault 10.77.1.2:7470 10.77.0.1:7470
fault 10.77.2.2:7470 10.77.0.1:7471
cat /tmp/agent.log
errors=$(json | jq '.devices[0].stats.errors')
[ "$errors" -eq 0 ] || { log "driver counted $errors errors"; exit 1; }
touch "$SYNC/done"
kill $(jobs -p) 2>/dev/null || true
$RMEMCTL detach "$(basename "$dev")"
