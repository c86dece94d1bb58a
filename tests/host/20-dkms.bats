#!/usr/bin/env bats
# DKMS packaging: dkms add/build/install of the tree on this host for every
# kernel with headers that dkms.conf admits (6.1 and 6.12; a native build
# takes seconds where the same build in the TCG VM takes many minutes),
# then a VM booting each of them loads the DKMS-installed module with plain
# `modprobe rmem`, at the tree's VERSION.

bats_require_minimum_version 1.5.0
load dkms-kernels

setup_file() {
	TREE=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	VER=$(cat "$TREE/VERSION")
	RANGE=$(dkms_range)
	KVERS=$(dkms_kvers)
	export TREE VER RANGE KVERS
}

teardown_file() {
	dkms remove -m rmem -v "$VER" --all >/dev/null 2>&1 || true
	rm -rf "/usr/src/rmem-$VER"
}

# A VM booting kernel series $1 loads the DKMS-installed module.
vm_modprobe() {
	local k
	k=$(kver_of "$1") || {
		echo "no kernel $1 with headers in /lib/modules (make deps installs it)"
		false
	}
	dkms status -m rmem -v "$VER" -k "$k" | grep -q installed ||
		skip "the DKMS install test did not install the module for $k"
	run "$TREE/tests/vm/run" --kver "$k" --name "dkms-modprobe-$1" --timeout 300 -- sh -c '
		set -e
		modprobe rmem
		test -d /sys/module/rmem
		modinfo -n rmem
		modinfo -n rmem | grep -q /updates/dkms/
		test "$(modinfo -F version rmem)" = "$1"
		test "$(cat /sys/module/rmem/version)" = "$1"
		rmmod rmem' sh "$VER"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "dkms.conf admits exactly the tested kernels, 6.1 and 6.12" {
	local k
	[ -n "$RANGE" ]
	for k in 6.1.0-57-amd64 6.1.0-13-cloud-amd64 6.1.158-1-rt-amd64 \
		6.12.95+deb12-amd64 6.12.38+deb13-amd64 6.12.0; do
		[[ "$k" =~ $RANGE ]] || { echo "$k is not admitted"; false; }
	done
	for k in 6.2.0-1-amd64 6.10.11+bpo-amd64 6.11.0 6.13.1-amd64 6.16.3+deb13-amd64 \
		6.18.44-fc-v782 6.120.0 5.10.0-30-amd64 16.1.0; do
		if [[ "$k" =~ $RANGE ]]; then
			echo "$k is admitted"
			false
		fi
	done
}

@test "both tested kernels have headers here" {
	echo "kernels with headers in the range: $KVERS"
	kver_of 6.1
	kver_of 6.12
}

@test "dkms add/build/install for every kernel with headers in the range" {
	[ "$(id -u)" = 0 ] || skip "needs root to install through DKMS"
	[ -n "$KVERS" ]
	local k ko
	# shellcheck disable=SC2086
	run "$TREE/tests/dkms-install.sh" $KVERS
	echo "$output"
	[ "$status" -eq 0 ]
	for k in $KVERS; do
		run dkms status -m rmem -v "$VER" -k "$k"
		echo "$output"
		[[ "$output" == *": installed"* ]]
		ko=$(ls "/lib/modules/$k/updates/dkms/"rmem.ko*)
		[ "$(modinfo -F version "$ko")" = "$VER" ]
	done
}

@test "a VM on 6.1 loads the DKMS-installed module with modprobe" {
	[ "$(id -u)" = 0 ] || skip "needs root to install through DKMS"
	vm_modprobe 6.1
}

@test "a VM on 6.12 loads the DKMS-installed module with modprobe" {
	[ "$(id -u)" = 0 ] || skip "needs root to install through DKMS"
	vm_modprobe 6.12
}
