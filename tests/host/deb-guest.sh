#!/bin/bash
# tests/host/deb-guest.sh: the VM half of tests/host/25-deb.bats, in a test
# VM booting the kernel under test (the host root read-only under a tmpfs
# overlay: whatever happens here is gone at power-off).
#
#   deb-guest.sh replay STATE VERSION [purge]
#       Puts this root in the state a native `dpkg -i` of the packages left
#       (tests/host/deb-install-overlay.sh: STATE/installed.tar, whiteouts,
#       opaque; same host root underneath, DKMS modules built for every
#       kernel at native speed), then the checks below; with "purge",
#       `dpkg --purge rmem rmem-dkms` straight from installed (the native
#       run did dpkg -r, then --purge): the module is gone for this kernel.
#       (Removal in the VM is mostly depmod for every kernel under TCG:
#       minutes.)
#   deb-guest.sh dpkg DEBDIR VERSION KVER...
#       dpkg -i here: DKMS builds in this VM (TCG: many minutes a kernel)
#       for each KVER (the running kernel and the newest one, by Debian's
#       rule); the checks; dpkg -r (the module gone for every kernel), then
#       dpkg --purge.
#
# The checks: DKMS has rmem installed for the running kernel; `modprobe
# rmem` loads it from updates/dkms; its version (modinfo, /sys/module) is
# VERSION; rmemctl --version says VERSION and rmemctl status talks to the
# module; the daemons run; units installed, not enabled.  Prints "TIME
# <what>: <seconds> s" for the slow steps; exits non-zero at the first
# failed check, naming it.
set -euo pipefail
mode=$1
case "$mode" in
replay) state=$2 ver=$3 kvers=("$(uname -r)") purge=${4:-} ;;
dpkg) debdir=$2 ver=$3 kvers=("${@:4}") purge=purge ;;
*) echo "usage: $0 replay STATE VERSION [purge] | dpkg DEBDIR VERSION KVER..." >&2; exit 2 ;;
esac
running=$(uname -r)
export DEBIAN_FRONTEND=noninteractive

# shellcheck source=tests/host/deb-lib.sh
. "$(dirname "$0")/deb-lib.sh"
# The installed module of kernel $1 (compressed or not), or nothing.
ko_of() { ls /lib/modules/"$1"/updates/dkms/rmem.ko* 2>/dev/null | head -n 1 || true; }

for p in rmem rmem-dkms; do
	if dpkg -s "$p" >/dev/null 2>&1; then
		fail "$p is already installed on the host root: cannot test its install"
	fi
done
# A DKMS install of the tree on the host (tests/host/20-dkms.bats, or
# `make dkms`) shows through the lower layer; start without it (in this
# VM's overlay only: the host is untouched).
if [ -e /var/lib/dkms/rmem ] || [ -e "/usr/src/rmem-$ver" ] ||
	ls /lib/modules/*/updates/dkms/rmem.ko* >/dev/null 2>&1; then
	echo "note: a DKMS rmem from the host root: removed in this VM first"
	rm -rf /var/lib/dkms/rmem "/usr/src/rmem-$ver" /lib/modules/*/updates/dkms/rmem.ko*
	depmod -a "$running"
fi

if [ "$mode" = replay ]; then
	echo "== replaying the native dpkg -i in $state"
	for f in installed.tar whiteouts opaque; do
		[ -f "$state/$f" ] || fail "no $state/$f"
	done
	t0=$(date +%s)
	while IFS= read -r p; do
		rm -rf "/${p#./}"
	done <"$state/whiteouts"
	while IFS= read -r d; do
		rm -rf "/${d#./}"
	done <"$state/opaque"
	tar -C / -xpf "$state/installed.tar"
	echo "TIME replay: $(($(date +%s) - t0)) s"
else
	arch=$(dpkg --print-architecture)
	echo "== dpkg -i on $running (DKMS builds for: ${kvers[*]})"
	timed "dpkg -i (DKMS builds for ${#kvers[*]} kernels)" \
		dpkg -i "$debdir/rmem-dkms_${ver}_all.deb" "$debdir/rmem_${ver}_${arch}.deb"
fi
for p in rmem rmem-dkms; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p")" = installed ] ||
		fail "$p is not installed"
done
ok "rmem and rmem-dkms installed"

echo "== DKMS"
dkms status -m rmem
for k in "${kvers[@]}"; do
	st=$(dkms status -m rmem -v "$ver" -k "$k")
	[[ "$st" == *": installed"* ]] || fail "dkms status for $k: '$st'"
	[ -n "$(ko_of "$k")" ] || fail "no rmem.ko in /lib/modules/$k/updates/dkms"
	ok "rmem/$ver installed by DKMS for $k: $(ko_of "$k")"
done

echo "== modprobe on $running"
modprobe rmem
[ -d /sys/module/rmem ] || fail "modprobe rmem: no /sys/module/rmem"
path=$(modinfo -n rmem)
[[ "$path" == "/lib/modules/$running/updates/dkms/rmem.ko"* ]] ||
	fail "modprobe resolves rmem to $path, not the DKMS module"
v=$(modinfo -F version rmem)
[ "$v" = "$ver" ] || fail "modinfo -F version rmem: '$v', VERSION: '$ver'"
v=$(cat /sys/module/rmem/version)
[ "$v" = "$ver" ] || fail "/sys/module/rmem/version: '$v', VERSION: '$ver'"
ok "modprobe rmem loaded $path, version $v"

echo "== programs and units"
[ "$(command -v rmemctl)" = /usr/sbin/rmemctl ] || fail "rmemctl is not /usr/sbin/rmemctl"
v=$(rmemctl --version)
[[ "$v" == "rmemctl $ver "* ]] || fail "rmemctl --version: '$v'"
rmemctl status || fail "rmemctl status against the DKMS module failed"
rmem-donord --help >/dev/null || fail "rmem-donord --help"
rmem-controllerd --help >/dev/null || fail "rmem-controllerd --help"
ok "$v; rmemctl status, rmem-donord and rmem-controllerd run"
for u in rmem-donord rmem-controllerd rmem-agent; do
	[ -f "/lib/systemd/system/$u.service" ] || fail "no $u.service"
	e=$(systemctl --root=/ is-enabled "$u.service" 2>&1 || true)
	[ "$e" = disabled ] || fail "$u.service is '$e' after install, not disabled"
done
ok "units installed, not enabled"
rmmod rmem

if [ "$mode" = dpkg ]; then
	echo "== dpkg -r"
	timed "dpkg -r" dpkg -r rmem rmem-dkms
	for d in /lib/modules/*/; do
		k=$(basename "$d")
		[ -z "$(ko_of "$k")" ] || fail "rmem.ko still in /lib/modules/$k/updates/dkms after dpkg -r"
	done
	[ -z "$(dkms status -m rmem)" ] || fail "dkms still knows rmem after dpkg -r"
	[ ! -e "/usr/src/rmem-$ver" ] || fail "/usr/src/rmem-$ver left after dpkg -r"
	[ ! -e /usr/sbin/rmemctl ] || fail "/usr/sbin/rmemctl left after dpkg -r"
	ok "dpkg -r removed the module for every kernel, the source and programs"
fi
if [ "$purge" != purge ]; then
	echo "deb-guest: all checks passed on $running"
	exit 0
fi
echo "== dpkg --purge"
# man-db's index update after dpkg, long under TCG, tests nothing here
# (what man-db's auto-update=false does).
rm -f /var/lib/man-db/auto-update
timed "dpkg --purge" dpkg --purge rmem rmem-dkms
for p in rmem rmem-dkms; do
	if dpkg -s "$p" >/dev/null 2>&1; then
		fail "dpkg still knows $p after --purge"
	fi
done
[ -z "$(ko_of "$running")" ] || fail "rmem.ko still in /lib/modules/$running/updates/dkms"
if modprobe -n rmem 2>/dev/null; then
	fail "modprobe still finds rmem after --purge"
fi
[ ! -e /etc/rmem ] || fail "/etc/rmem left after --purge"
ok "dpkg --purge: module gone for $running, nothing left"
echo "deb-guest: all checks passed on $running"
