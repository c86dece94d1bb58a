#!/bin/bash
# A donor VM of tests/host/30-replicas-multivm.bats: lend 256M on ADDR
# until the client says it is done (SYNC/done), or until killed.
set -uo pipefail
SYNC=$1 ADDR=$2
server/donor/rmem-donord --listen "$ADDR:7470" --size 256M --slab-size 64M &
for _ in $(seq 1200); do [ -e "$SYNC/done" ] && break; sleep 1; done
kill %1
