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

check 2 "missing device name" "detach without name" -- detach
check 2 "unexpected argument 'rmem1'" "detach two names" -- detach rmem0 rmem1
check 2 "invalid device name" "detach bad name" -- detach ../rmem0
check 2 "unexpected argument" "status two names" -- status rmem0 rmem1
check 2 "unexpected argument 'now'" "monitor extra argument" -- monitor now

not_loaded="rmem kernel module is not loaded (try: modprobe rmem)"
if [ -d /sys/module/rmem ]; then
	for c in status "detach rmem0" "attach" "monitor"; do
		skip "$c without the module" "rmem is loaded here"
	done
else
	check 1 "$not_loaded" "status without the module" -- status
	check 1 "$not_loaded" "-j status without the module" -- -j status
	check 1 "$not_loaded" "detach without the module" -- detach /dev/rmem0
	check 1 "$not_loaded" "attach without the module" -- attach $D --size 128M
	check 1 "$not_loaded" "monitor without the module" -- monitor
fi

echo "1..$n"
[ $failed -eq 0 ] || { echo "# $failed of $n failed"; exit 1; }
exit 0
