#!/bin/bash
# Install every Debian package that building, testing, the demo and the
# benchmarks need, and a second kernel (6.12 from bookworm-backports) next to
# the distribution's 6.1, so that the module is built and tested on both.
# Idempotent, and quick when everything is present.
set -euo pipefail
pkgs=(
	# build
	make gcc pkg-config libc6-dev
	linux-image-amd64 linux-headers-amd64 dkms kmod
	librdmacm-dev libibverbs-dev libnl-3-dev libnl-genl-3-dev
	libjson-c-dev libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev
	libinih-dev libssl-dev
	# Debian packages (make deb)
	debhelper dh-dkms devscripts fakeroot
	# VM harness and tests
	qemu-system-x86 busybox-static cpio iproute2 rdma-core ibverbs-utils
	rdmacm-utils perftest bats fio stress-ng sqlite3 curl jq python3
	util-linux procps psmisc
	# peers and benchmarks
	nvme-cli nbd-server nbd-client redis-server redis-tools gnuplot-nox
)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# The second kernel comes from bookworm-backports, on the mirror the
# machine's Debian source already uses.  The pin keeps the suite to kernel
# packages: nothing else is ever taken from it, and even the kernel is only
# installed when asked for by name (priority 100 never upgrades 6.1's
# metapackages).
BPO_SUITE=bookworm-backports
BPO_LIST=/etc/apt/sources.list.d/rmem-backports.sources
BPO_PIN=/etc/apt/preferences.d/rmem-backports
add_backports() {
	[ -f "$BPO_LIST" ] && [ -f "$BPO_PIN" ] && return 1
	local uri
	uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ')
	uri=${uri:-http://deb.debian.org/debian}
	echo "deps: adding $BPO_SUITE (kernel packages only) from $uri"
	$SUDO tee "$BPO_LIST" >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: $BPO_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	$SUDO tee "$BPO_PIN" >/dev/null <<PIN
# rmem: bookworm-backports only for the second test kernel (tests/deps.sh)
Package: *
Pin: release n=$BPO_SUITE
Pin-Priority: -1

Package: linux-image-* linux-headers-* linux-kbuild-* linux-compiler-* linux-base
Pin: release n=$BPO_SUITE
Pin-Priority: 100
PIN
	return 0
}

# The 6.12 image and headers that bookworm-backports' metapackages point at,
# by name (the unsigned image: no secure-boot shim in a test VM).
bpo_kernel_pkgs() {
	local ver abi
	ver=$(apt-cache madison linux-headers-amd64 |
		awk -F'|' -v s="$BPO_SUITE/" 'index($3, s) {gsub(/ /, "", $2); print $2; exit}')
	[ -n "$ver" ] || { echo "deps: no kernel in $BPO_SUITE" >&2; return 1; }
	abi=$(apt-cache depends "linux-headers-amd64=$ver" |
		sed -n 's/^ *Depends: linux-headers-//p' | head -n 1)
	[ -n "$abi" ] || { echo "deps: cannot resolve linux-headers-amd64=$ver" >&2; return 1; }
	echo "linux-image-$abi-unsigned linux-headers-$abi"
}

updated=0
if add_backports; then
	$SUDO apt-get update -q
	updated=1
fi

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
if ! ls -d /lib/modules/6.12.*-amd64/build 2>/dev/null | grep -qv -e -rt- -e -cloud-; then
	[ "$updated" = 1 ] || { $SUDO apt-get update -q; updated=1; }
	# shellcheck disable=SC2207
	missing+=($(bpo_kernel_pkgs))
fi
if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages and both kernels present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
[ "$updated" = 1 ] || $SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
