# bench/devices.sh: the benchmark's device table, sourced by
# bench/inside-vm.sh (`make bench`) and bench/profile-vm.sh.  Each entry NAME
# has dev_NAME_setup (sets DEV, BENCH_SERVE_MATCH and BENCH_KTHREAD_MATCH,
# or sets REASON and fails) and dev_NAME_teardown; rmem_modes lists the
# completion modes rmem.ko offers.  Expects: tree, raw (output directory),
# label (the entry being set up), BENCH_DEV_MIB, BENCH_MTU, and a log
# function.
# shellcheck shell=bash

fab_addr=10.77.0.1
nqn=nqn.2024-01.io.rmem:bench

# fabric_up: loopback (nbd, redis) and the Soft-RoCE fabric at BENCH_MTU;
# rxe follows the netdev's MTU change (active_mtu is recomputed from it).
fabric_up() {
	ip link set lo up
	modprobe -a rdma_rxe ib_uverbs rdma_ucm 2>/dev/null
	ip link set fab0 mtu "$BENCH_MTU" || log "cannot set fab0 mtu $BENCH_MTU"
}
wait_for() {	# wait_for SECONDS CMD...: poll until CMD succeeds
	local t=$(($1 * 10)); shift
	while [ "$t" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}


# The device under test; set by each dev_*_setup.
DEV="" DEV_NOTE=""
REASON=""	# why a setup failed, for the "unavailable" record

# ---- device table -----------------------------------------------------------
# Each entry NAME has dev_NAME_setup (sets DEV, BENCH_SERVE_MATCH,
# BENCH_KTHREAD_MATCH, or sets REASON and fails) and dev_NAME_teardown.

# brd: the local-RAM floor.
dev_brd_setup() {
	modprobe brd rd_nr=1 rd_size=$((BENCH_DEV_MIB * 1024)) max_part=0 ||
		{ REASON="modprobe brd failed"; return 1; }
	DEV=/dev/ram0
	wait_for 10 test -b $DEV || { REASON="/dev/ram0 did not appear"; return 1; }
}
dev_brd_teardown() { rmmod brd; }

# zram: compressed local RAM (fio and the apps write incompressible data,
# except redis-benchmark's SET values; see docs/benchmarks.md).
dev_zram_setup() {
	modprobe zram num_devices=1 || { REASON="modprobe zram failed"; return 1; }
	echo "${BENCH_DEV_MIB}M" >/sys/block/zram0/disksize ||
		{ REASON="setting zram disksize failed"; return 1; }
	DEV=/dev/zram0
	DEV_NOTE="comp_algorithm=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/block/zram0/comp_algorithm)"
}
dev_zram_teardown() {
	echo 1 >/sys/block/zram0/reset 2>/dev/null
	rmmod zram
}

# NVMe-oF over RDMA on the same Soft-RoCE device, exporting a brd disk.
nvmet=/sys/kernel/config/nvmet
dev_nvmeof_rdma_setup() {
	local n
	modprobe brd rd_nr=1 rd_size=$((BENCH_DEV_MIB * 1024)) max_part=0 &&
		modprobe nvmet && modprobe nvmet-rdma && modprobe nvme-rdma ||
		{ REASON="modprobe brd/nvmet/nvmet-rdma/nvme-rdma failed"; return 1; }
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	wait_for 10 test -b /dev/ram0 || { REASON="/dev/ram0 did not appear"; return 1; }
	mkdir "$nvmet/subsystems/$nqn" &&
		echo 1 >"$nvmet/subsystems/$nqn/attr_allow_any_host" &&
		mkdir "$nvmet/subsystems/$nqn/namespaces/1" &&
		echo /dev/ram0 >"$nvmet/subsystems/$nqn/namespaces/1/device_path" &&
		echo 1 >"$nvmet/subsystems/$nqn/namespaces/1/enable" &&
		mkdir "$nvmet/ports/1" &&
		echo rdma >"$nvmet/ports/1/addr_trtype" &&
		echo ipv4 >"$nvmet/ports/1/addr_adrfam" &&
		echo "$fab_addr" >"$nvmet/ports/1/addr_traddr" &&
		echo 4420 >"$nvmet/ports/1/addr_trsvcid" &&
		ln -s "$nvmet/subsystems/$nqn" "$nvmet/ports/1/subsystems/$nqn" ||
		{ REASON="nvmet configfs setup failed"; return 1; }
	nvme connect -t rdma -n "$nqn" -a "$fab_addr" -s 4420 >>"$raw/log" 2>&1 ||
		{ REASON="nvme connect -t rdma failed"; return 1; }
	# The namespace's block device: with native multipath it hangs off
	# the subsystem, without it off the controller; match either by NQN.
	DEV=""
	for i in $(seq 1 100); do
		for b in /sys/block/nvme*n*; do
			[ -e "$b" ] || continue
			if [ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$nqn" ] ||
				[ "$(cat "$b/device/../subsysnqn" 2>/dev/null)" = "$nqn" ] ||
				[ "$(cat "$b/../subsysnqn" 2>/dev/null)" = "$nqn" ]; then
				DEV=/dev/$(basename "$b")
			fi
		done
		[ -n "$DEV" ] && break
		sleep 0.1
	done
	[ -n "$DEV" ] && wait_for 10 test -b "$DEV" ||
		{ REASON="no namespace block device after nvme connect ($(ls /sys/block | tr '\n' ' '))"; return 1; }
	# The target's work runs in nvmet/ib workqueues (shared kworkers) and
	# rxe softirq: only named threads can be attributed (see docs).
	BENCH_KTHREAD_MATCH='^(nvmet|rxe|ib[-_]|ib_|rdma)'
}
dev_nvmeof_rdma_teardown() {
	nvme disconnect -n "$nqn" >>"$raw/log" 2>&1
	rm -f "$nvmet/ports/1/subsystems/$nqn"
	rmdir "$nvmet/ports/1" 2>/dev/null
	echo 0 >"$nvmet/subsystems/$nqn/namespaces/1/enable" 2>/dev/null
	rmdir "$nvmet/subsystems/$nqn/namespaces/1" "$nvmet/subsystems/$nqn" 2>/dev/null
	modprobe -r nvme-rdma nvmet-rdma nvmet 2>>"$raw/log"
	rmmod brd
}

# nbd over TCP on loopback, export file on tmpfs.
nbd_pid=""
dev_nbd_tcp_setup() {
	local dir=/dev/shm/bench-nbd
	command -v nbd-server >/dev/null && command -v nbd-client >/dev/null ||
		{ REASON="nbd-server/nbd-client not installed"; return 1; }
	modprobe nbd nbds_max=1 || { REASON="modprobe nbd failed"; return 1; }
	mkdir -p $dir
	truncate -s "${BENCH_DEV_MIB}M" $dir/export || { REASON="cannot create export file"; return 1; }
	cat >$dir/config <<-EOF
	[generic]
	    user = root
	    group = root
	    listenaddr = 127.0.0.1
	    port = 10809
	[bench]
	    exportname = $dir/export
	EOF
	nbd-server -C $dir/config -d >>"$raw/log" 2>&1 &
	nbd_pid=$!
	# Probe by listing sockets: a test connection would be taken as a
	# client by nbd-server -d (which serves one connection, not forking).
	wait_for 10 bash -c 'ss -ltn | grep -q "127.0.0.1:10809 "' ||
		{ REASON="nbd-server did not listen"; return 1; }
	# -swap: mlockall and oom protection, as nbd recommends for swap.
	nbd-client 127.0.0.1 10809 /dev/nbd0 -N bench -b 4096 -swap >>"$raw/log" 2>&1 ||
		{ REASON="nbd-client connect failed"; return 1; }
	DEV=/dev/nbd0
	wait_for 10 test "$(cat /sys/block/nbd0/size)" -gt 0 ||
		{ REASON="/dev/nbd0 has no size"; return 1; }
	BENCH_SERVE_MATCH='^nbd-server$'
}
dev_nbd_tcp_teardown() {
	nbd-client -d /dev/nbd0 >>"$raw/log" 2>&1
	[ -n "$nbd_pid" ] && kill "$nbd_pid" 2>/dev/null && wait "$nbd_pid" 2>/dev/null
	nbd_pid=""
	rm -rf /dev/shm/bench-nbd
	rmmod nbd
}

# rmem: one donor on this VM over Soft-RoCE.  RMEM_MODE_PARAM is the module
# parameter assignment for the completion mode ("" for the default).
# BENCH_RMEM_REPLICAS=2 (bench/profile --replicas 2): a second donor on the
# next port and two replicas per slab (the resilience section of
# `make bench` sets its own devices up, bench/resilience.sh).
rmem_ko=$tree/out/modules/$(uname -r)/rmem.ko
rmem_donord=$tree/server/donor/rmem-donord
rmemctl=$tree/tools/rmemctl/rmemctl
donor_pid="" donor2_pid="" RMEM_MODE_PARAM=""
dev_rmem_setup() {
	local i r=${BENCH_RMEM_REPLICAS:-1} more=()
	[ -f "$rmem_ko" ] || { REASON="$rmem_ko not built"; return 1; }
	[ -x "$rmem_donord" ] || { REASON="$rmem_donord not built"; return 1; }
	[ -x "$rmemctl" ] || { REASON="$rmemctl not built"; return 1; }
	modprobe -a rdma_cm ib_core 2>>"$raw/log"
	# shellcheck disable=SC2086
	insmod "$rmem_ko" $RMEM_MODE_PARAM >>"$raw/log" 2>&1 ||
		{ REASON="insmod rmem.ko $RMEM_MODE_PARAM failed"; return 1; }
	"$rmem_donord" --listen "$fab_addr:7470" --size "${BENCH_DEV_MIB}M" \
		--slab-size 64M >"$raw/dev/$label/donor.log" 2>&1 &
	donor_pid=$!
	if [ "$r" = 2 ]; then
		"$rmem_donord" --listen "$fab_addr:7471" --size "${BENCH_DEV_MIB}M" \
			--slab-size 64M >"$raw/dev/$label/donor2.log" 2>&1 &
		donor2_pid=$!
		more=(--donor "$fab_addr:7471" --replicas 2)
	fi
	# The donor pins (and under TCG slowly touches) its memory before it
	# listens: wait for its "listening" line rather than a fixed time.
	for i in $(seq 1 600); do
		kill -0 "$donor_pid" 2>/dev/null ||
			{ REASON="rmem-donord exited (see raw/dev/$label/donor.log)"; donor_pid=""; return 1; }
		grep -q "listening on" "$raw/dev/$label/donor.log" 2>/dev/null &&
			{ [ -z "$donor2_pid" ] || grep -q "listening on" "$raw/dev/$label/donor2.log"; } && break
		[ "$i" = 600 ] && { REASON="rmem-donord not listening after 300 s"; return 1; }
		sleep 0.5
	done
	for i in 1 2 3 4 5; do
		"$rmemctl" attach --donor "$fab_addr:7470" "${more[@]}" --size "${BENCH_DEV_MIB}M" \
			--name rmem0 >>"$raw/log" 2>&1 && break
		[ "$i" = 5 ] && { REASON="rmemctl attach failed (see raw/log)"; return 1; }
		sleep 1
	done
	DEV=/dev/rmem0
	wait_for 10 test -b $DEV || { REASON="/dev/rmem0 did not appear"; return 1; }
	[ "$(cat /sys/block/rmem0/size)" -gt 0 ] || { REASON="/dev/rmem0 has size 0"; return 1; }
	BENCH_SERVE_MATCH='^rmem-donord$'
	BENCH_KTHREAD_MATCH='^(rmem|rxe|ib[-_]|rdma)'
	if [[ $RMEM_MODE_PARAM == *poll_queues=* ]]; then
		[ "$(cat /sys/block/rmem0/queue/io_poll)" = 1 ] ||
			{ REASON="poll_queues set but /dev/rmem0 does not poll"; return 1; }
		FIO_POLLED=1
		# Swap never issues polled I/O: the applications would measure
		# the interrupt-driven queues again.
		DEV_SKIP_APPS="swap I/O is never polled (same path as rmem-irq)"
		DEV_NOTE="fio with ioengine=io_uring hipri=1 (polled); $DEV_SKIP_APPS"
	fi
}
dev_rmem_teardown() {
	local p
	if [ -b /dev/rmem0 ]; then
		"$rmemctl" detach rmem0 >>"$raw/log" 2>&1
	fi
	for p in $donor_pid $donor2_pid; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	donor_pid="" donor2_pid=""
	grep -q '^rmem ' /proc/modules && rmmod rmem >>"$raw/log" 2>&1
	! grep -q '^rmem ' /proc/modules
}

# The completion modes rmem.ko offers: the default (interrupt-driven
# completions) and, when modinfo shows poll_queues, polled I/O.  Prints lines
# "LABEL PARAM_ASSIGNMENT" or "unavailable REASON".
rmem_modes() {
	local params p
	if [ ! -f "$rmem_ko" ]; then
		echo "unavailable $rmem_ko not built"
		return
	fi
	if [ -n "${BENCH_RMEM_MODES:-}" ]; then	# "label=param=value,..."
		tr ',' '\n' <<<"$BENCH_RMEM_MODES" | sed 's/=/ /'
		return
	fi
	params=$(modinfo -F parm "$rmem_ko" 2>/dev/null)
	echo "$params" | sed 's/^/  /' >"$raw/rmem-modinfo.txt"
	echo "irq "
	# Polled I/O: one poll queue per CPU, driven by fio's io_uring hipri
	# (dev_rmem_setup sets FIO_POLLED for it).
	grep -q '^poll_queues:' <<<"$params" && echo "poll poll_queues=$(nproc)"
}
