#!/bin/bash
# tests/dkms-install.sh [KVER]: install rmem.ko through DKMS for KVER
# (default: the newest kernel with headers).  Copies the parts of the tree
# the module needs to /usr/src/rmem-VERSION, then dkms add/build/install.
set -euo pipefail
cd "$(dirname "$0")/.."
ver=$(cat VERSION)
kver=${1:-$(ls /lib/modules | sort -V | tail -n 1)}
src=/usr/src/rmem-$ver
if dkms status -m rmem -v "$ver" 2>/dev/null | grep -q .; then
	dkms remove -m rmem -v "$ver" --all
fi
rm -rf "$src"
mkdir -p "$src/drivers" "$src/include"
cp -r drivers/rmem "$src/drivers/"
cp -r include/rmem "$src/include/"
make -s -C "$src/drivers/rmem" clean >/dev/null 2>&1 || true
sed "s/@VERSION@/$ver/" dkms.conf >"$src/dkms.conf"
dkms add -m rmem -v "$ver"
dkms build -m rmem -v "$ver" -k "$kver"
dkms install -m rmem -v "$ver" -k "$kver" --force
