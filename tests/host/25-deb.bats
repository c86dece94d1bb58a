#!/usr/bin/env bats
# The Debian packages (`make deb`, debian/): what rmem and rmem-dkms hold,
# then installing and removing them for real, with each tested kernel.
#
# DKMS compiling rmem.ko inside a TCG test VM takes 6 to 12 minutes a kernel
# on this 2-core host shared with other VMs (measured 2026-12-01: 722 s for
# 6.1 under load, 350 s for 6.12, then 50-185 s of install and depmod, and
# a dpkg run reads its database over 9p for 1-2 minutes), so the builds run
# natively: dpkg -i (the postinst builds for both kernels), the
# kernel-install hook, dpkg -r and dpkg --purge run in a copy-on-write
# overlay of this host's root, in a private mount namespace
# (tests/host/deb-install-overlay.sh, about 2 minutes).  What that dpkg -i
# left is then replayed into a VM booting each kernel (a VM's root is the
# same host root), which loads the DKMS-built module with modprobe and
# checks it (tests/host/deb-guest.sh).  Removal stays native: dpkg --purge
# in the VM is depmod for every kernel and dpkg under TCG; a VM that also
# purged took 3 minutes on a quiet host, 11 on a busy one (measured;
# `deb-guest.sh replay STATE VERSION purge` still does it).  The whole
# file: 7 minutes with make deb, on this host busy with two other VMs.
#
# RMEM_DEB_IN_VM=1: dpkg -i, -r and --purge inside each VM instead, DKMS
# compiling under TCG: 8 minutes for the VM on 6.12 (one build), twice
# that or more on 6.1 (Debian's postinst builds for the running kernel and
# the newest).

bats_require_minimum_version 1.5.0
load dkms-kernels

setup_file() {
	TREE=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	VER=$(cat "$TREE/VERSION")
	ARCH=$(dpkg --print-architecture)
	export TREE VER ARCH
	export DEBDIR=$TREE/out/deb
	export DKMS_DEB=$DEBDIR/rmem-dkms_${VER}_all.deb
	export USER_DEB=$DEBDIR/rmem_${VER}_${ARCH}.deb
	# The kernels DKMS builds for: headers installed, in dkms.conf's range.
	KVERS=$(dkms_kvers)
	export KVERS
	# The native install's snapshot, in the tree: the VMs share it.
	mkdir -p "$TREE/out"
	STATE=$(mktemp -d "$TREE/out/deb-test.XXXXXX")
	export STATE
}

teardown_file() {
	rm -rf "$STATE"
}

# Whether the packages are missing or older than a file make-deb copies.
debs_stale() {
	local f
	if [ ! -f "$DKMS_DEB" ] || [ ! -f "$USER_DEB" ]; then
		return 0
	fi
	while IFS= read -r f; do
		if [ "$TREE/$f" -nt "$USER_DEB" ]; then
			echo "# $f is newer than the packages" >&3
			return 0
		fi
	done < <(cd "$TREE" && git ls-files --cached --others --exclude-standard |
		grep -Ev '^(out|tests/\.vm|tests/\.logs|tests/\.cache)/')
	return 1
}

# In a VM booting kernel series $1: the package installed (replayed from
# the native install, or with RMEM_DEB_IN_VM=1 dpkg -i there, and dpkg -r
# and --purge after), modprobe, versions, programs, units.
vm_check() {
	local series=$1 k newest guest
	k=$(kver_of "$series") || {
		echo "no kernel $series with headers in /lib/modules (make deps installs it)"
		false
	}
	if [ "${RMEM_DEB_IN_VM:-0}" = 1 ]; then
		newest=${KVERS##* }
		guest=(--timeout 3600 -- tests/host/deb-guest.sh dpkg "$DEBDIR" "$VER" "$k")
		if [ "$k" != "$newest" ]; then
			guest+=("$newest")
		fi
	else
		[ -s "$STATE/installed.tar" ] ||
			skip "no snapshot: the native install test did not run or failed"
		guest=(--timeout 900 -- tests/host/deb-guest.sh replay "$STATE" "$VER")
	fi
	run "$TREE/tests/vm/run" --kver "$k" --name "deb-$series" "${guest[@]}"
	echo "$output" | grep -v "readelf: Warning" || true
	[ "$status" -eq 0 ]
	[[ "$output" == *"deb-guest: all checks passed on $k"* ]]
}

@test "make deb: rmem and rmem-dkms, versioned from VERSION" {
	if debs_stale; then
		# The unit tests of the packaged code run in make check anyway.
		run env DEB_BUILD_OPTIONS=nocheck make -C "$TREE" deb
		echo "$output" | tail -n 40
		[ "$status" -eq 0 ]
	fi
	[ -f "$DKMS_DEB" ]
	[ -f "$USER_DEB" ]
	[ "$(dpkg-deb -f "$DKMS_DEB" Version)" = "$VER" ]
	[ "$(dpkg-deb -f "$USER_DEB" Version)" = "$VER" ]
	[ "$(dpkg-deb -f "$DKMS_DEB" Architecture)" = all ]
	[ "$(dpkg-deb -f "$USER_DEB" Architecture)" = "$ARCH" ]
	run dpkg-deb -f "$DKMS_DEB" Depends
	[[ "$output" == *"dkms (>= "* ]]
	run dpkg-deb -f "$USER_DEB" Depends
	[[ "$output" == *libc6* ]]
	[[ "$output" == *librdmacm1* ]]
	# The version is written in VERSION only.
	[ ! -e "$TREE/debian/changelog" ]
}

@test "rmem-dkms: drivers/rmem whole, include/rmem, VERSION, the tree's dkms.conf" {
	[ -f "$DKMS_DEB" ] || skip "no package: the make deb test failed"
	local x=$BATS_TEST_TMPDIR/x src f
	dpkg-deb -x "$DKMS_DEB" "$x"
	src=$x/usr/src/rmem-$VER
	diff <(sed "s/#MODULE_VERSION#/$VER/" "$TREE/dkms.conf") "$src/dkms.conf"
	[ "$(cat "$src/VERSION")" = "$VER" ]
	# Every file of drivers/rmem and include/rmem as git sees them
	# (tracked, or untracked and not ignored), executables still executable.
	run bash -c "cd '$TREE' && git ls-files --cached --others --exclude-standard drivers/rmem include/rmem"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -gt 10 ]
	for f in "${lines[@]}"; do
		if [ ! -e "$TREE/$f" ]; then
			continue
		fi
		[ -f "$src/$f" ] || { echo "missing from rmem-dkms: $f"; false; }
		if [ -x "$TREE/$f" ]; then
			[ -x "$src/$f" ] || { echo "not executable in rmem-dkms: $f"; false; }
		fi
	done
	run find "$src" -name '*.o' -o -name '*.ko' -o -name '*.cmd' -o -name rmem_config.h
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "rmem: programs, man pages, units naming /usr/sbin, an example config, no conffile" {
	[ -f "$USER_DEB" ] || skip "no package: the make deb test failed"
	local x=$BATS_TEST_TMPDIR/x ctl=$BATS_TEST_TMPDIR/ctl f u
	dpkg-deb -x "$USER_DEB" "$x"
	dpkg-deb -e "$USER_DEB" "$ctl"
	for f in rmem-donord rmem-controllerd rmemctl; do
		[ -x "$x/usr/sbin/$f" ]
		[ -f "$x/usr/share/man/man8/$f.8.gz" ]
	done
	for u in rmem-donord rmem-controllerd rmem-agent; do
		run grep -c '^ExecStart=/usr/sbin/' "$x/lib/systemd/system/$u.service"
		[ "$output" = 1 ]
	done
	cmp "$TREE/server/rmem.conf.example" "$x/usr/share/doc/rmem/examples/rmem.conf"
	[ -d "$x/etc/rmem" ]
	[ ! -e "$x/etc/rmem/rmem.conf" ]
	[ ! -e "$ctl/conffiles" ]
	# An upgrade never restarts rmem-donord (a donor restart loses what it
	# lent); the controller and the agent are restarted if running.
	run grep 'rmem-donord' "$ctl/postinst"
	[ "$status" -eq 0 ]
	[[ "$output" != *restart* ]]
	grep -q '_dh_action=restart' "$ctl/postinst"
	run grep "deb-systemd-invoke .*'rmem-agent.service'" "$ctl/postinst"
	[[ "$output" == *'$_dh_action'* ]]
}

@test "dpkg -i in an overlay of this host: DKMS builds for both kernels; dpkg -r, --purge" {
	[ "$(id -u)" = 0 ] || skip "needs root (a mount namespace, chroot, dpkg)"
	[ -f "$USER_DEB" ] || skip "no package: the make deb test failed"
	kver_of 6.1
	kver_of 6.12
	run "$TREE/tests/host/deb-install-overlay.sh" "$STATE" "$DEBDIR" "$VER" $KVERS
	echo "$output" | grep -v "readelf: Warning" || true
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok: dpkg --purge left nothing"* ]]
	[ -s "$STATE/installed.tar" ]
}

@test "a VM on 6.1 loads the packaged DKMS module: modprobe, version, rmemctl" {
	vm_check 6.1
}

@test "a VM on 6.12 loads the packaged DKMS module: modprobe, version, rmemctl" {
	vm_check 6.12
}
