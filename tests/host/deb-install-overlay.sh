#!/bin/bash
# tests/host/deb-install-overlay.sh STATE DEBDIR VERSION KVER...: the
# native half of tests/host/25-deb.bats.  Installs and removes the rmem
# packages for real (dpkg, their maintainer scripts, DKMS building rmem.ko
# at native speed) in a throwaway copy-on-write view of this host's root:
# a private mount namespace, an overlay with the root as its lower layer
# and a tmpfs as its upper one, fresh /proc, /sys, /run and /tmp, chroot.
# The host itself is not changed (and no systemd is reachable).
#
# 1. dpkg -i rmem-dkms and rmem.  The postinst builds for the running
#    kernel and the newest installed one (Debian's dkms rule), or, as here
#    where the running kernel is not installed (a chroot's host), for every
#    kernel in /lib/modules that has headers.  Then, as a kernel install or
#    upgrade does, /etc/kernel/postinst.d/dkms KVER for the first KVER (its
#    module removed first: DKMS must build it again) and for any KVER the
#    postinst did not build for.  Checks that DKMS
#    installed rmem.ko of VERSION for every KVER, that modprobe resolves
#    rmem to it there, and the files of both packages.
# 2. Saves what the install changed (the overlay's upper layer) as
#    STATE/installed.tar, the paths it deleted as STATE/whiteouts and the
#    directories it replaced whole as STATE/opaque: tests/host/deb-guest.sh
#    replays them in a VM booting each KVER, which loads the module.
# 3. dpkg -r: rmem.ko gone for every kernel, modprobe no longer finds it;
#    dpkg --purge: nothing left.
# Prints "TIME <what>: <seconds> s"; exits non-zero at the first failed
# check, naming it.
set -euo pipefail
if [ "${1:-}" != --inside ]; then
	exec unshare --mount --propagation private "$0" --inside "$@"
fi
shift
state=$1 debdir=$2 ver=$3
shift 3
kvers=("$@")
arch=$(dpkg --print-architecture)
# Inside the chroot the packages are read from its /tmp (copied there
# below): the tree may live on another mount, or under /tmp, neither of
# which the overlay of / shows.
dkms_deb=tmp/debs/rmem-dkms_${ver}_all.deb
user_deb=tmp/debs/rmem_${ver}_${arch}.deb

# shellcheck source=tests/host/deb-lib.sh
. "$(dirname "$0")/deb-lib.sh"

[ "${#kvers[@]}" -gt 0 ] || fail "no kernel given"
mnt=$state/mnt
mkdir -p "$mnt"
mount -t tmpfs -o mode=0755 rmem-deb "$mnt"
mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
# No redirects, index or metacopy: the upper layer holds whole files and
# plain whiteouts, which is what the VM's replay understands.
mount -t overlay overlay -o "lowerdir=/,upperdir=$mnt/upper,workdir=$mnt/work,redirect_dir=off,index=off,metacopy=off" "$mnt/root"
R=$mnt/root
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
mkdir "$R/tmp/debs"
cp "$debdir/${dkms_deb##*/}" "$debdir/${user_deb##*/}" "$R/tmp/debs/" ||
	fail "no packages in $debdir (make deb)"
# Everything below runs in the chroot.
inroot() {
	chroot "$R" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
ko_of() { inroot sh -c "ls /lib/modules/$1/updates/dkms/rmem.ko* 2>/dev/null | head -n 1" || true; }

[ -f "$R/$dkms_deb" ] || fail "no /$dkms_deb"
[ -f "$R/$user_deb" ] || fail "no /$user_deb"
for p in rmem rmem-dkms; do
	if inroot dpkg -s "$p" >/dev/null 2>&1; then
		fail "$p is installed on this host: cannot test its install"
	fi
done
# A DKMS install of the tree (tests/host/20-dkms.bats, `make dkms`) is not
# the package's: remove it from this view first.
if [ -e "$R/var/lib/dkms/rmem" ] || [ -e "$R/usr/src/rmem-$ver" ]; then
	echo "note: a DKMS rmem on this host (make dkms?): removed in the overlay first"
	inroot dkms remove "rmem/$ver" --all >/dev/null 2>&1 || true
	rm -rf "$R/var/lib/dkms/rmem" "$R/usr/src/rmem-$ver"
fi

echo "== dpkg -i (running kernel $(uname -r); kernels with headers in range: ${kvers[*]})"
timed "dpkg -i (postinst DKMS builds)" inroot dpkg -i "/$dkms_deb" "/$user_deb"
for p in rmem rmem-dkms; do
	[ "$(inroot dpkg-query -W -f='${db:Status-Status}' "$p")" = installed ] ||
		fail "$p is not installed after dpkg -i"
done
built=()
for k in "${kvers[@]}"; do
	[ -z "$(ko_of "$k")" ] || built+=("$k")
done
[ "${#built[@]}" -gt 0 ] || fail "the postinst built rmem.ko for no kernel"
echo "postinst built rmem.ko for: ${built[*]}"
# A kernel install or upgrade runs this hook for the new kernel: DKMS must
# build the module for it.  Tried on the first KVER (its module removed
# first), and used for any KVER the postinst left out.
k=${kvers[0]}
inroot dkms remove "rmem/$ver" -k "$k" >/dev/null 2>&1 || true
[ -z "$(ko_of "$k")" ] || fail "dkms remove -k $k left $(ko_of "$k")"
for k in "${kvers[@]}"; do
	if [ -z "$(ko_of "$k")" ]; then
		timed "kernel $k installed: /etc/kernel/postinst.d/dkms" \
			inroot /etc/kernel/postinst.d/dkms "$k"
	fi
done

echo "== DKMS, every kernel"
inroot dkms status -m rmem
for k in "${kvers[@]}"; do
	st=$(inroot dkms status -m rmem -v "$ver" -k "$k")
	[[ "$st" == *": installed"* ]] || fail "dkms status for $k: '$st'"
	ko=$(ko_of "$k")
	[ -n "$ko" ] || fail "no rmem.ko in /lib/modules/$k/updates/dkms"
	v=$(inroot modinfo -F version "$ko")
	[ "$v" = "$ver" ] || fail "$ko: version '$v', VERSION '$ver'"
	m=$(inroot modprobe -n -v -S "$k" rmem 2>&1) || fail "modprobe -S $k rmem: $m"
	[[ "$m" == *"insmod $ko"* ]] || fail "modprobe -S $k resolves rmem to '$m', not $ko"
	ok "$k: $ko, version $v, modprobe resolves to it"
done

echo "== files"
src=$R/usr/src/rmem-$ver
[ "$(cat "$src/VERSION")" = "$ver" ] || fail "/usr/src/rmem-$ver/VERSION is not $ver"
grep -qx "PACKAGE_VERSION=\"$ver\"" "$src/dkms.conf" || fail "dkms.conf does not say PACKAGE_VERSION=\"$ver\""
for f in usr/sbin/rmem-donord usr/sbin/rmem-controllerd usr/sbin/rmemctl \
	usr/share/man/man8/rmem-donord.8.gz usr/share/man/man8/rmem-controllerd.8.gz \
	usr/share/man/man8/rmemctl.8.gz usr/share/doc/rmem/examples/rmem.conf; do
	[ -f "$R/$f" ] || fail "no /$f"
done
[ ! -e "$R/etc/rmem/rmem.conf" ] || fail "the package installed /etc/rmem/rmem.conf"
v=$(inroot rmemctl --version)
[[ "$v" == "rmemctl $ver "* ]] || fail "rmemctl --version: '$v'"
for u in rmem-donord rmem-controllerd rmem-agent; do
	f=/lib/systemd/system/$u.service
	grep -q '^ExecStart=/usr/sbin/' "$R$f" || fail "$f: no ExecStart in /usr/sbin"
	e=$(inroot systemctl --root=/ is-enabled "$u.service" 2>&1 || true)
	[ "$e" = disabled ] || fail "$u.service is '$e' after install, not disabled"
done
ok "programs, man pages, example config, units (not enabled); $v"

echo "== snapshot for the VMs"
# Whiteouts (0/0 character devices) are paths the install deleted; an
# opaque directory replaces the lower one's content whole.
(cd "$mnt/upper" && find . -type c) >"$state/whiteouts"
python3 - "$mnt/upper" >"$state/opaque" <<'EOF'
import os, sys
top = sys.argv[1]
for d, _, _ in os.walk(top):
    try:
        if os.getxattr(d, "trusted.overlay.opaque") == b"y":
            print("." + d[len(top):])
    except OSError:
        pass
EOF
tar -C "$mnt/upper" --exclude-from="$state/whiteouts" -cf "$state/installed.tar" .
ok "$(wc -l <"$state/whiteouts") deletions, $(wc -l <"$state/opaque") opaque directories, $(du -h "$state/installed.tar" | cut -f1) of changes in $state/installed.tar"

echo "== dpkg -r"
timed "dpkg -r" inroot dpkg -r rmem rmem-dkms
for d in "$R"/lib/modules/*/; do
	k=$(basename "$d")
	[ -z "$(ko_of "$k")" ] || fail "rmem.ko still in /lib/modules/$k/updates/dkms after dpkg -r"
done
for k in "${kvers[@]}"; do
	if inroot modprobe -n -S "$k" rmem >/dev/null 2>&1; then
		fail "modprobe -S $k still finds rmem after dpkg -r"
	fi
done
[ -z "$(inroot dkms status -m rmem)" ] || fail "dkms still knows rmem after dpkg -r"
for f in "usr/src/rmem-$ver" usr/sbin/rmemctl usr/sbin/rmem-donord \
	lib/systemd/system/rmem-donord.service lib/systemd/system/rmem-agent.service; do
	[ ! -e "$R/$f" ] || fail "/$f left after dpkg -r"
done
ok "dpkg -r: no rmem.ko for any kernel, no DKMS entry, no programs or units"

echo "== dpkg --purge"
timed "dpkg --purge" inroot dpkg --purge rmem rmem-dkms
for p in rmem rmem-dkms; do
	if inroot dpkg -s "$p" >/dev/null 2>&1; then
		fail "dpkg still knows $p after --purge"
	fi
done
[ ! -e "$R/etc/rmem" ] || fail "/etc/rmem left after --purge"
left=$(ls "$R/var/lib/systemd/deb-systemd-helper-enabled" 2>/dev/null | grep rmem || true)
[ -z "$left" ] || fail "deb-systemd-helper state left: $left"
ok "dpkg --purge left nothing"
