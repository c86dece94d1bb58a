#!/bin/bash
# tests/dkms-install.sh [KVER...]: install rmem.ko through DKMS for each
# KVER (default: the newest kernel with headers).  Copies the parts of the
# tree the module needs (drivers/rmem/ whole, include/rmem/, VERSION: the
# rmem-dkms package ships the same) to /usr/src/rmem-VERSION, then dkms
# add, and build/install for each KVER.
set -euo pipefail
cd "$(dirname "$0")/.."
ver=$(cat VERSION)
if [ $# -eq 0 ]; then
	newest=$(ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)
	[ -n "$newest" ] || { echo "dkms-install: no kernel headers in /lib/modules/*/build" >&2; exit 1; }
	set -- "$(basename "$(dirname "$newest")")"
fi
src=/usr/src/rmem-$ver
if dkms status -m rmem -v "$ver" 2>/dev/null | grep -q .; then
	dkms remove -m rmem -v "$ver" --all
fi
rm -rf "$src"
mkdir -p "$src/drivers" "$src/include"
cp -a drivers/rmem "$src/drivers/"
cp -a include/rmem "$src/include/"
cp VERSION "$src/"
make -s -C "$src/drivers/rmem" clean >/dev/null 2>&1 || true
sed "s/#MODULE_VERSION#/$ver/" dkms.conf >"$src/dkms.conf"
dkms add -m rmem -v "$ver"
for kver in "$@"; do
	dkms build -m rmem -v "$ver" -k "$kver"
	dkms install -m rmem -v "$ver" -k "$kver" --force
done
