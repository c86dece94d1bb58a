#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rmemctl command line: usage errors exit 2 before any netlink, help and
# version exit 0, and without rmem.ko every command that needs the driver
# says the module is not loaded and exits 1.  TAP output.
#
# RMEMCTL: the binary to test (default: tools/rmemctl/rmemctl).

RMEMCTL=${RMEMCTL:-$(dirname "$0")/../../tools/rmemctl/rmemctl}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

# check WANT_RC STDERR_NEEDLE DESCRIPTION -- ARGS...
# The needle must appear in stderr (or stdout for rc 0); for usage errors
# stderr must not mention the module: nothing may reach netlink.
check() {
	want=$1 needle=$2 desc=$3
	shift 4
	"$RMEMCTL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	n=$((n + 1))
	ok=1
	[ "$rc" -eq "$want" ] || ok=0
	if [ "$want" -eq 0 ]; then
		grep -qF -- "$needle" "$tmp/out" || ok=0
	else
		grep -qF -- "$needle" "$tmp/err" || ok=0
		[ -s "$tmp/out" ] && ok=0
	fi
	if [ "$want" -eq 2 ] && grep -q "module" "$tmp/err"; then
		ok=0
	fi
	if [ $ok -eq 1 ]; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		echo "# rmemctl $* -> rc $rc (want $want, '$needle')"
		sed 's/^/# stdout: /' "$tmp/out"
		sed 's/^/# stderr: /' "$tmp/err"
		failed=$((failed + 1))
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# absent NEEDLE DESCRIPTION -- ARGS...: stderr of the run must not hold NEEDLE
absent() {
	needle=$1 desc=$2
	shift 3
	"$RMEMCTL" "$@" >"$tmp/out" 2>"$tmp/err"
	n=$((n + 1))
	if grep -qF -- "$needle" "$tmp/err"; then
		echo "not ok $n - $desc"
		sed 's/^/# stderr: /' "$tmp/err"
		failed=$((failed + 1))
	else
		echo "ok $n - $desc"
	fi
}

D=--donor=10.77.0.1:7470

check 2 "missing command" "no command" --
check 2 "unknown command 'frobnicate'" "unknown command" -- frobnicate
check 2 "unknown option" "unknown global option" -- --frob status
check 0 "Commands:" "--help lists commands" -- --help
check 0 "monitor" "--help names monitor" -- -h
check 0 "rmemctl " "--version" -- --version
check 0 "Usage: rmemctl attach" "attach --help" -- attach --help
check 0 "Usage: rmemctl detach" "detach --help" -- detach --help
check 0 "Usage: rmemctl [-j] status" "status --help" -- status --help
check 0 "Usage: rmemctl [-j] monitor" "monitor --help" -- monitor --help

check 2 "--size is required" "attach without --size" -- attach $D
check 2 "at least one --donor" "attach without --donor" -- attach --size 1G
check 2 "greater than zero" "attach --size 0" -- attach $D --size 0
check 2 "fractions are not supported" "attach --size 1.5G" -- attach $D --size 1.5G
check 2 "too large" "attach --size 99999999T" -- attach $D --size 99999999T
check 2 "invalid size 'lots'" "attach --size junk" -- attach $D --size lots
check 2 "--size must be a multiple of 4096" "attach --size 1000" -- attach $D --size 1000
check 2 "--slab-size must be a multiple of 4096" "attach --slab-size 6000" -- attach $D --size 1G --slab-size 6000
check 2 "--slab-size: size must be greater" "attach --slab-size 0" -- attach $D --size 1G --slab-size 0
check 2 "--slab-size is larger than --size" "slab larger than device" -- attach $D --size 64M --slab-size 1G
check 2 "needs a value" "attach --size without value" -- attach $D --size
check 2 "must be 1 to 65535" "donor port 0" -- attach --donor 10.0.0.1:0 --size 1G
check 2 "must be 1 to 65535" "donor port 70000" -- attach --donor 10.0.0.1:70000 --size 1G
check 2 "not a number" "donor port abc" -- attach --donor 10.0.0.1:abc --size 1G
check 2 "numeric addresses only" "donor host name" -- attach --donor donor1:7470 --size 1G
check 2 "missing ']'" "donor [v6 unclosed" -- attach --donor '[fe80::1' --size 1G
check 2 "at most 16 donors" "17 donors" -- attach --size 1G \
	-d 10.0.0.1 -d 10.0.0.2 -d 10.0.0.3 -d 10.0.0.4 -d 10.0.0.5 \
	-d 10.0.0.6 -d 10.0.0.7 -d 10.0.0.8 -d 10.0.0.9 -d 10.0.0.10 \
	-d 10.0.0.11 -d 10.0.0.12 -d 10.0.0.13 -d 10.0.0.14 -d 10.0.0.15 \
	-d 10.0.0.16 -d 10.0.0.17
check 2 "invalid device name" "attach --name with slash" -- attach $D --size 1G --name a/b
check 2 "unexpected argument 'extra'" "attach extra argument" -- attach $D --size 1G extra
check 2 "unknown option '--bogus'" "attach unknown option" -- attach $D --size 1G --bogus

# attach --replicas: 1..3, at most one per donor, checked before netlink
D2="--donor=10.77.0.1:7470 --donor=10.77.0.2:7470"
check 2 "--replicas: '0' is not 1, 2 or 3" "attach --replicas 0" -- attach $D2 --size 1G --replicas 0
check 2 "--replicas: '4' is not 1, 2 or 3" "attach --replicas 4" -- attach $D2 --size 1G --replicas 4
check 2 "--replicas: 'two' is not 1, 2 or 3" "attach --replicas two" -- attach $D2 --size 1G --replicas two
check 2 "--replicas 2 needs at least 2 --donor (1 given)" "attach --replicas 2 with one donor" -- attach $D --size 1G --replicas 2
check 2 "--replicas 3 needs at least 3 --donor (2 given)" "attach --replicas 3 with two donors" -- attach $D2 --size 1G -r 3
check 2 "needs a value" "attach --replicas without value" -- attach $D2 --size 1G --replicas
check 0 "--replicas R" "attach --help names --replicas" -- attach --help

# replace: arguments checked before the device is read
check 0 "Usage: rmemctl replace" "replace --help" -- replace --help
check 2 "expected DEV SLAB REPLICA" "replace without arguments" -- replace
check 2 "expected DEV SLAB REPLICA" "replace without REPLICA" -- replace rmem0 3 --donor 10.0.0.1
check 2 "unexpected argument '9'" "replace extra argument" -- replace rmem0 3 1 9 --donor 10.0.0.1
check 2 "--donor or --donor-index is required" "replace without a donor" -- replace rmem0 3 1
check 2 "give --donor or --donor-index, not both" "replace with both donors" -- replace rmem0 3 1 --donor 10.0.0.1 --donor-index 2
check 2 "SLAB: 'x' is not a number" "replace slab x" -- replace rmem0 x 1 --donor-index 1
check 2 "SLAB: '3x' is not a number" "replace slab 3x" -- replace rmem0 3x 1 --donor-index 1
check 2 "REPLICA: 3 is out of range (0 to 2)" "replace replica 3" -- replace rmem0 3 3 --donor-index 1
check 2 "--donor-index: 16 is out of range (0 to 15)" "replace donor index 16" -- replace rmem0 3 1 --donor-index 16
check 2 "numeric addresses only" "replace donor host name" -- replace rmem0 3 1 --donor donor3
check 2 "--slab-id: 4294967296 is out of range" "replace slab id too large" -- replace rmem0 3 1 -i 1 --slab-id 4294967296
check 2 "--generation: 'g' is not a number" "replace generation g" -- replace rmem0 3 1 -i 1 --generation g
check 2 "--grant: not 64 hex digits" "replace short grant" -- replace rmem0 3 1 -i 1 --grant abcd
check 2 "--old-generation: 'x' is not a number" "replace bad old generation" -- replace rmem0 3 1 -i 1 --old-generation x
check 2 "invalid device name" "replace bad device" -- replace ../x 3 1 -i 1
check 2 "unknown option '--frob'" "replace unknown option" -- replace rmem0 3 1 -i 1 --frob

# agent options
check 0 "Usage: rmemctl agent" "agent --help" -- agent --help
check 2 "--interval: must be 1 to 86400 seconds" "agent --interval 0" -- agent --interval 0
check 2 "--interval: 86401 is out of range" "agent --interval 86401" -- agent --interval 86401
check 2 "--interval: '5s' is not a number" "agent --interval 5s" -- agent --interval 5s
check 2 "option '--interval' needs a value" "agent --interval without value" -- agent --interval
check 2 "unexpected argument 'now'" "agent extra argument" -- agent now
check 2 "unknown option '--bogus'" "agent unknown option" -- agent --bogus
check 1 "cannot open" "agent with a missing config file" -- agent --once --config "$tmp/none.conf"

check 2 "missing device name" "detach without name" -- detach
check 2 "unexpected argument 'rmem1'" "detach two names" -- detach rmem0 rmem1
check 2 "invalid device name" "detach bad name" -- detach ../rmem0
check 2 "unexpected argument" "status two names" -- status rmem0 rmem1
check 2 "unexpected argument 'now'" "monitor extra argument" -- monitor now

not_loaded="rmem kernel module is not loaded (try: modprobe rmem)"
if [ -d /sys/module/rmem ]; then
	for c in status "detach rmem0" "attach" "monitor" "replace" \
		 "agent --once" "attach --replicas 1 warning" \
		 "attach one donor no warning" "attach two donors no warning"; do
		skip "$c without the module" "rmem is loaded here"
	done
else
	check 1 "$not_loaded" "status without the module" -- status
	check 1 "$not_loaded" "-j status without the module" -- -j status
	check 1 "$not_loaded" "detach without the module" -- detach /dev/rmem0
	check 1 "$not_loaded" "attach without the module" -- attach $D --size 128M
	check 1 "$not_loaded" "monitor without the module" -- monitor
	check 1 "$not_loaded" "replace without the module" -- replace rmem0 3 1 --donor-index 1
	: >"$tmp/empty.conf"
	check 1 "$not_loaded" "agent --once without the module" -- agent --once --config "$tmp/empty.conf"
	check 1 "rmemctl: warning: --replicas 1: a lost donor loses the data of its slabs" \
		"attach --replicas 1 warns" -- attach $D2 --size 128M --replicas 1
	absent "warning" "attach with one donor and no --replicas does not warn" -- attach $D --size 128M
	absent "warning" "attach with two donors (2 replicas) does not warn" -- attach $D2 --size 128M
fi

echo "1..$n"
[ $failed -eq 0 ] || { echo "# $failed of $n failed"; exit 1; }
exit 0
