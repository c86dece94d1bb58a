#!/usr/bin/env bats
# DKMS packaging: dkms add/build/install of the tree for the test kernel on
# this host (a native build: seconds, where the same build in the TCG VM
# takes many minutes), then a VM booting that kernel loads the
# DKMS-installed module with plain `modprobe rmem`.

setup_file() {
	TREE=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export TREE
	export VER=$(cat "$TREE/VERSION")
	export KVER=$(ls /lib/modules | sort -V | tail -n 1)
}

teardown_file() {
	dkms remove -m rmem -v "$VER" --all >/dev/null 2>&1 || true
	rm -rf "/usr/src/rmem-$VER"
}

@test "dkms add/build/install for the test kernel" {
	[ "$(id -u)" = 0 ] || skip "needs root to install through DKMS"
	run "$TREE/tests/dkms-install.sh" "$KVER"
	echo "$output"
	[ "$status" -eq 0 ]
	run dkms status -m rmem -v "$VER" -k "$KVER"
	echo "$output"
	[[ "$output" == *installed* ]]
	[ -f "/lib/modules/$KVER/updates/dkms/rmem.ko" ] ||
		[ -f "/lib/modules/$KVER/updates/dkms/rmem.ko.xz" ]
}

@test "the VM loads the DKMS-installed module with modprobe" {
	[ "$(id -u)" = 0 ] || skip "needs root to install through DKMS"
	dkms status -m rmem -v "$VER" -k "$KVER" | grep -q installed ||
		skip "the DKMS install test did not install the module"
	run "$TREE/tests/vm/run" --name dkms-modprobe --timeout 300 -- sh -c '
		set -e
		modprobe rmem
		test -d /sys/module/rmem
		modinfo -n rmem
		modinfo -n rmem | grep -q /updates/dkms/
		rmmod rmem'
	echo "$output"
	[ "$status" -eq 0 ]
}
