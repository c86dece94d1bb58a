# Shell helpers shared by the VM harness and the tests that run in it.
# Source it; it defines functions only.

# Patterns that mean the kernel is unhappy.  A test fails when any of them
# appears in the log after its marker.
RMEM_SPLAT_RE='WARNING:|BUG:|Oops|general protection|hung task|blocked for more than|list_add corruption|list_del corruption|refcount_t:|UBSAN:|kernel BUG|Call Trace:|RIP:'

# kmsg_marker TEXT: write a unique marker into the kernel log; print it.
kmsg_marker() {
	local m
	m="rmem-test-marker $(date +%s%N)-$$-$RANDOM $*"
	echo "$m" >/dev/kmsg 2>/dev/null || true
	echo "$m"
}

# kmsg_since MARKER: the kernel log after the last line holding MARKER.
kmsg_since() {
	dmesg 2>/dev/null | awk -v m="$1" 'index($0, m) { buf = ""; seen = 1; next } seen { buf = buf $0 "\n" } END { printf "%s", buf }'
}

# kmsg_splats < LOG: print splat lines; succeed if there are any.
kmsg_splats() {
	grep -E "$RMEM_SPLAT_RE"
}
