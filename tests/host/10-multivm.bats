#!/usr/bin/env bats
# The harness's multi-VM mode: two VMs joined by a qemu socket netdev on
# 127.0.0.1, Soft-RoCE on each virtio NIC, an RDMA connection between them.

setup() {
	TREE=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	PORT=$((20000 + RANDOM % 20000))
}

@test "two VMs talk RDMA over a socket link (rping)" {
	"$TREE/tests/vm/run" --quiet --name mv-server --timeout 240 \
		--link "listen:$PORT:10.77.1.1/24" -- \
		timeout 120 rping -s -a 10.77.1.1 -C 3 -v >"$BATS_TEST_TMPDIR/srv" 2>&1 &
	local spid=$!
	sleep 2
	run "$TREE/tests/vm/run" --name mv-client --timeout 240 \
		--link "connect:$PORT:10.77.1.2/24" -- \
		sh -c 'for i in $(seq 60); do rping -c -a 10.77.1.1 -C 3 -v && exit 0; sleep 1; done; exit 1'
	echo "$output"
	wait "$spid"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'ping data' <<<"$output")" -eq 3 ]
}
