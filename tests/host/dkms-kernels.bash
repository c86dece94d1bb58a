# Shared by tests/host/20-dkms.bats and 25-deb.bats: the kernels DKMS
# builds rmem for here.
# shellcheck shell=bash

# dkms_range: the kernel range dkms.conf states, as DKMS reads it (an ERE).
dkms_range() {
	sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' "$TREE/dkms.conf"
}

# dkms_kvers: the kernels with headers installed that the range admits,
# oldest first, on one line.
dkms_kvers() {
	local range b k out=""
	range=$(dkms_range)
	for b in $(ls -d /lib/modules/*/build 2>/dev/null | sort -V); do
		k=$(basename "$(dirname "$b")")
		if [[ "$k" =~ $range ]]; then
			out="$out $k"
		fi
	done
	echo "${out# }"
}

# kver_of SERIES: the installed kernel of series SERIES (6.1, 6.12) among
# KVERS.
kver_of() {
	local k
	for k in $KVERS; do
		case "$k" in "$1".*)
			echo "$k"
			return 0 ;;
		esac
	done
	return 1
}
