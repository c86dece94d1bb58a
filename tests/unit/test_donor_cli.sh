#!/bin/sh
# rmem-donord's command line and config file handling, without RDMA:
# every bad input gets exit status 2 and a message naming the problem.
# Usage: test_donor_cli.sh [PATH_TO_RMEM_DONORD].  Prints TAP.
donord=${1:-$(dirname "$0")/../../server/donor/rmem-donord}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# expect STATUS PATTERN ARGS...: run the donor, check status and output.
expect() {
	want=$1 pattern=$2; shift 2
	out=$("$donord" "$@" 2>&1); rc=$?
	n=$((n + 1))
	if [ "$rc" -eq "$want" ] && printf '%s' "$out" | grep -q -- "$pattern"; then
		echo "ok $n - rmem-donord $* -> $rc"
	else
		echo "not ok $n - rmem-donord $* -> $rc (wanted $want, /$pattern/)"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}

expect 0 'Usage: rmem-donord' --help
expect 2 'is required' --size 64M
expect 2 'is required' --listen 127.0.0.1
expect 2 'multiple of the slab size (64 MiB)' --listen 127.0.0.1 --size 100M --slab-size 64M
expect 2 'multiple of the slab size' --listen 127.0.0.1 --size 0
expect 2 'slab-size must be a positive multiple' --listen 127.0.0.1 --size 64M --slab-size 1000
expect 2 "invalid --size '1Q'" --listen 127.0.0.1 --size 1Q
expect 2 'needs brackets' --listen ::1 --size 64M --slab-size 64M
expect 2 'port 1-65535' --listen '[::1]:70000' --size 64M --slab-size 64M
expect 2 'needs --token-file' --listen 127.0.0.1 --size 64M --slab-size 64M --controller 127.0.0.1:7480
expect 2 "invalid --controller 'ftp://x'" --listen 127.0.0.1 --size 64M --slab-size 64M --controller ftp://x --token-file /dev/null
expect 2 'only make sense with --controller' --listen 127.0.0.1 --size 64M --slab-size 64M --zone z
expect 2 "invalid --log-level 'loud'" --listen 127.0.0.1 --size 64M --log-level loud
expect 2 "invalid --hugepages 'maybe'" --listen 127.0.0.1 --size 64M --hugepages maybe
expect 2 "invalid --idle-timeout '-1'" --listen 127.0.0.1 --size 64M --idle-timeout -1
expect 2 "unexpected argument 'extra'" --listen 127.0.0.1 --size 64M extra
expect 2 'No such file' --listen 127.0.0.1 --size 64M --slab-size 64M --token-file "$tmp/none"
: >"$tmp/empty"
expect 2 'empty' --listen 127.0.0.1 --size 64M --slab-size 64M --token-file "$tmp/empty"
printf 't\n' >"$tmp/token"; chmod 600 "$tmp/token"
expect 2 'wildcard address: give --advertise' --listen 0.0.0.0 --size 64M --slab-size 64M \
	--controller 127.0.0.1:7480 --token-file "$tmp/token"
expect 2 "cannot open" --config "$tmp/none.conf"
printf '[donor]\nmemory = lots\n' >"$tmp/bad.conf"
expect 2 'bad.conf:2: \[donor\] memory' --config "$tmp/bad.conf"
printf '[cluster]\nslab_size = 64M\n[donor]\nmemory = 100M\n[node]\nrdma_addr = 127.0.0.1\n' >"$tmp/odd.conf"
expect 2 'multiple of the slab size (64 MiB)' --config "$tmp/odd.conf"
# A valid configuration gets as far as RDMA.  Without rdma_cm (the host)
# the donor stops there with status 1; where rdma_cm can bind loopback it
# listens, and SIGTERM must then end it with status 0.
printf '[cluster]\nslab_size = 64M\n[donor]\nmemory = 64M\n[node]\nrdma_addr = 127.0.0.1:7999\n' >"$tmp/ok.conf"
"$donord" --config "$tmp/ok.conf" --hugepages never >"$tmp/out" 2>&1 &
pid=$!
i=0
while kill -0 $pid 2>/dev/null && ! grep -q 'listening on' "$tmp/out" && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
kill -TERM $pid 2>/dev/null
wait $pid; rc=$?
n=$((n + 1))
if grep -q 'lending 64 MiB as 1 slabs of 64 MiB' "$tmp/out" &&
   { [ $rc -eq 1 ] || { [ $rc -eq 0 ] && grep -q 'listening on' "$tmp/out"; }; }; then
	echo "ok $n - valid config file: memory pinned, then status $rc"
else
	echo "not ok $n - valid config file: status $rc"
	sed 's/^/# /' "$tmp/out"
	failed=$((failed + 1))
fi

echo "1..$n"
echo "test_donor_cli: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
