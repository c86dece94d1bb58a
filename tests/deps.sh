#!/bin/bash
# Install every Debian package that building, testing, the demo and the
# benchmarks need.  Idempotent, and quick when everything is present.
set -euo pipefail
pkgs=(
	# build
	make gcc pkg-config libc6-dev
	linux-image-amd64 linux-headers-amd64 dkms kmod
	librdmacm-dev libibverbs-dev libnl-3-dev libnl-genl-3-dev
	libjson-c-dev libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev
	libinih-dev libssl-dev
	# VM harness and tests
	qemu-system-x86 busybox-static cpio iproute2 rdma-core ibverbs-utils
	rdmacm-utils perftest bats fio stress-ng sqlite3 curl jq python3
	util-linux procps psmisc
	# peers and benchmarks
	nvme-cli nbd-server nbd-client redis-server redis-tools gnuplot-nox
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
