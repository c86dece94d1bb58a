#!/usr/bin/env bats
# A slab's key opens it only on the connections of the client it was
# given to.
# vm: --timeout 1200

load helpers

@test "a rogue verbs client with another client's address and key is refused" {
	start_donor 7470 256M 64M
	run "$RMEM_TREE/tests/tools/rmem-rogue" --donor "$FAB_ADDR:7470"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the donor survives malformed control traffic and answers with errors" {
	start_donor 7470 256M 64M
	run "$RMEM_TREE/tests/tools/rmem-abuse" --donor "$FAB_ADDR:7470"
	echo "$output"
	[ "$status" -eq 0 ]
	kill -0 "$DONOR_PID"
}

@test "donor daemon: signals, idle clients, huge pages, wildcard listen" {
	run "$RMEM_TREE/tests/tools/donor-rdma-check"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"PASS: rmem-rogue on huge pages"* ]] || false
}

@test "donor daemon: registers with the controller; grants are enforced" {
	run "$RMEM_TREE/tests/tools/donor-controller-check"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *SKIP* ]]
}
