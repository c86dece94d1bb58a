# Shared by tests/host/deb-install-overlay.sh and deb-guest.sh: how their
# checks report.
# shellcheck shell=bash
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
# timed WHAT CMD...: run CMD, then print "TIME WHAT: N s".
timed() {
	local what=$1 t0 t1
	shift
	t0=$(date +%s)
	"$@"
	t1=$(date +%s)
	echo "TIME $what: $((t1 - t0)) s"
}
