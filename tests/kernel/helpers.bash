# Shared by the kernel suites (tests/kernel/*.bats), which run inside a VM
# booted by tests/vm/run with Soft-RoCE up (fab0 10.77.0.1, rxe0).
RMEM_TREE=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
. "$RMEM_TREE/tests/vm/lib.sh"
# the module built for the booted kernel (tools/build-module)
RMEM_KO=$RMEM_TREE/out/modules/$(uname -r)/rmem.ko
RMEMCTL=$RMEM_TREE/tools/rmemctl/rmemctl
DONORD=$RMEM_TREE/server/donor/rmem-donord
FAB_ADDR=10.77.0.1

# Every test writes a marker to the kernel log first and fails in teardown
# if the kernel complained after it.
rmem_setup_marker() {
	RMEM_MARKER=$(kmsg_marker "$BATS_TEST_FILENAME:$BATS_TEST_NAME")
}

rmem_check_splat() {
	local splat
	splat=$(kmsg_since "$RMEM_MARKER" | kmsg_splats) || return 0
	echo "kernel splat during the test:" >&2
	kmsg_since "$RMEM_MARKER" | tail -n 60 >&2
	return 1
}

setup() { rmem_setup_marker; }
teardown() { rmem_cleanup_all; rmem_check_splat; }

# Suites that start things register cleanups here; teardown runs them.
RMEM_CLEANUPS=()
rmem_on_teardown() { RMEM_CLEANUPS+=("$*"); }
rmem_cleanup_all() {
	local c i
	for ((i = ${#RMEM_CLEANUPS[@]} - 1; i >= 0; i--)); do
		c=${RMEM_CLEANUPS[$i]}
		eval "$c" >/dev/null 2>&1 || true
	done
	RMEM_CLEANUPS=()
}

rmem_loaded() { [ -d /sys/module/rmem ]; }

rmem_load() {
	rmem_loaded || insmod "$RMEM_KO" "$@"
}

rmem_unload() {
	if rmem_loaded; then rmmod rmem; fi
}

# start_donor PORT SIZE [SLAB] [extra args]: run a donor in the background,
# wait until it listens; sets DONOR_PID.
start_donor() {
	local port=$1 size=$2 slab=${3:-64M}
	shift 3 || shift $#
	"$DONORD" --listen "$FAB_ADDR:$port" --size "$size" --slab-size "$slab" "$@" \
		>>"${BATS_TEST_TMPDIR:-/tmp}/donor-$port.log" 2>&1 3>&- &
	DONOR_PID=$!
	rmem_on_teardown "kill -9 $DONOR_PID"
	local i
	for i in $(seq 100); do
		if grep -q -i 'listening' "${BATS_TEST_TMPDIR:-/tmp}/donor-$port.log" 2>/dev/null; then
			return 0
		fi
		kill -0 "$DONOR_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "donor on port $port did not start:" >&2
	cat "${BATS_TEST_TMPDIR:-/tmp}/donor-$port.log" >&2
	return 1
}

# attach_dev SIZE [PORT...]: rmemctl attach to the donors on the given
# ports (default 7470); sets DEV to the device path.
attach_dev() {
	local size=$1 p args=()
	shift
	[ $# -gt 0 ] || set -- 7470
	for p in "$@"; do args+=(--donor "$FAB_ADDR:$p"); done
	DEV=$("$RMEMCTL" attach "${args[@]}" --size "$size") || return 1
	[ -b "$DEV" ] || { echo "attach printed '$DEV', not a block device" >&2; return 1; }
	rmem_on_teardown "\"$RMEMCTL\" detach $(basename "$DEV")"
}

# The usual start: module, one donor on port 7470, one device.
# rmem_standard_setup DEV_SIZE DONOR_SIZE [insmod params...]
rmem_standard_setup() {
	local dsize=$1 donor=$2
	shift 2
	rmem_load "$@"
	rmem_on_teardown "rmmod rmem"
	start_donor 7470 "$donor" 64M
	attach_dev "$dsize"
}

# kill_donor_expect_fio_stops FIO_PID IO_TIMEOUT: SIGKILL the donor
# (DONOR_PID), then the fio run FIO_PID must end, with a failure status,
# within IO_TIMEOUT * 4 + 20 s instead of hanging.
kill_donor_expect_fio_stops() {
	local fpid=$1 io_timeout=$2 i t0 t1
	kill -9 "$DONOR_PID"
	t0=$(date +%s)
	for i in $(seq $((io_timeout * 4 + 20))); do
		kill -0 "$fpid" 2>/dev/null || break
		sleep 1
	done
	t1=$(date +%s)
	if kill -0 "$fpid" 2>/dev/null; then
		kill -9 "$fpid"
		echo "fio still running $((t1 - t0)) s after the donor died" >&2
		return 1
	fi
	echo "fio stopped $((t1 - t0)) s after the kill"
	if wait "$fpid"; then
		echo "fio succeeded although its donor died" >&2
		return 1
	fi
}

# vmstat_get FIELD: a counter from /proc/vmstat.
vmstat_get() { awk -v f="$1" '$1 == f { print $2 }' /proc/vmstat; }

# run_in_cgroup NAME MAX CMD...: run CMD in a fresh cgroup v2 group whose
# memory.max is MAX.
run_in_cgroup() {
	local name=$1 max=$2 cg
	shift 2
	grep -q memory /sys/fs/cgroup/cgroup.subtree_control ||
		echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	cg=/sys/fs/cgroup/$name
	mkdir -p "$cg"
	echo "$max" >"$cg/memory.max"
	rmem_on_teardown "rmdir $cg"
	(echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@")
}
