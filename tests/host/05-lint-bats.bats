#!/usr/bin/env bats
# tests/lint-bats, the linter that finds checks in bats tests that cannot
# fail, against the cases in 05-lint-bats.cases: every bad case must be
# reported at exactly its marked lines with the marked rules, every good
# case must pass; the TAP it prints and its exit status.

bats_require_minimum_version 1.5.0

setup() {
	TREE=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	LINT=$TREE/tests/lint-bats
	CASES=$BATS_TEST_DIRNAME/05-lint-bats.cases
	D=$BATS_TEST_TMPDIR/cases
	mkdir -p "$D"
	# One file per case: NN-good.bats or NN-bad.bats, its title in NN.title.
	awk -v d="$D" '
		/^=== (good|bad): / {
			n++; kind = $2; sub(/:$/, "", kind)
			f = sprintf("%s/%02d-%s.bats", d, n, kind)
			t = $0; sub(/^=== [a-z]+: /, "", t)
			print t > sprintf("%s/%02d.title", d, n)
			next
		}
		n { print > f }' "$CASES"
}

# expected FILE: "LINE RULE" for each rule of each "# expect:" marker.
expected() {
	awk '/# expect: / {
		s = $0; sub(/.*# expect: /, "", s)
		n = split(s, r, " ")
		for (i = 1; i <= n; i++) print NR, r[i]
	}' "$1" | sort
}

# reported FILE: "LINE RULE" for each finding the linter printed.
reported() {
	"$LINT" "$1" | sed -n 's/^# [^ ]*:\([0-9]*\): \([a-z-]*\): .*/\1 \2/p' | sort
}

@test "the cases file has good and bad cases" {
	[ "$(ls "$D"/*-bad.bats | wc -l)" -ge 10 ]
	[ "$(ls "$D"/*-good.bats | wc -l)" -ge 5 ]
}

@test "every bad case is reported at exactly its marked lines" {
	local f bad=0 want got
	for f in "$D"/*-bad.bats; do
		want=$(expected "$f")
		got=$(reported "$f")
		[ -n "$want" ] || { echo "$(basename "$f"): no expect marker" >&2; bad=1; }
		run "$LINT" "$f"
		if [ "$status" -ne 1 ] || [ "$want" != "$got" ] ||
			[[ "${lines[1]}" != "not ok 1 - $f: line "* ]]; then
			echo "--- $(basename "$f"): $(cat "${f%-bad.bats}.title")" >&2
			echo "status $status; wanted:" >&2; echo "$want" >&2
			echo "got:" >&2; echo "$got" >&2
			echo "$output" >&2
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every good case passes" {
	local f bad=0
	for f in "$D"/*-good.bats; do
		run "$LINT" "$f"
		if [ "$status" -ne 0 ] || [ "$output" != "$(printf '1..1\nok 1 - %s' "$f")" ]; then
			echo "--- $(basename "$f"): $(cat "${f%-good.bats}.title")" >&2
			echo "status $status:" >&2; echo "$output" >&2
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every rule is exercised by a bad case" {
	local r
	for r in $("$LINT" --rules); do
		cat "$D"/*-bad.bats | grep -q "# expect: .*\b$r\b" ||
			{ echo "no bad case for rule $r" >&2; false; }
	done
}

@test "TAP: a plan, one line per file in order, the findings as comments, status 1" {
	local good bad
	good=$(ls "$D"/*-good.bats | head -n 1)
	bad=$(ls "$D"/*-bad.bats | head -n 1)
	run "$LINT" "$good" "$bad" "$good"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "1..3" ]
	[ "${lines[1]}" = "ok 1 - $good" ]
	[[ "${lines[2]}" == "not ok 2 - $bad: line "[0-9]*": bang" ]] || false
	[[ "${lines[3]}" == "# $bad:"[0-9]*": bang: "* ]] || false
	[ "${lines[4]}" = "ok 3 - $good" ]
	[[ "${lines[5]}" == "# 1 of 3 files have checks that cannot fail"* ]] || false
	[ "${#lines[@]}" -eq 6 ]
}

@test "usage errors and unreadable files exit 2" {
	run "$LINT" --frobnicate
	[ "$status" -eq 2 ]
	run "$LINT" "$D/no-such-file.bats"
	[ "$status" -eq 2 ]
	run "$LINT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"lint-bats: ok <reason>"* ]] || false
}

@test "with no argument: every *.bats and *.bash under tests/, no dot-directory" {
	local t=$BATS_TEST_TMPDIR/tree
	mkdir -p "$t/tests/kernel" "$t/tests/.vm/run.x" "$t/tests/host"
	cp "$LINT" "$t/tests/lint-bats"
	printf '@test "a" {\n\ttrue\n}\n' >"$t/tests/kernel/a.bats"
	printf 'h() { ! true; true; }\n' >"$t/tests/kernel/helpers.bash"
	printf '@test "c" {\n\t! true\n\ttrue\n}\n' >"$t/tests/.vm/run.x/c.bats"
	printf '! true\ntrue\n' >"$t/tests/host/d.sh"
	cd /
	run "$t/tests/lint-bats"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "1..2" ]
	[ "${lines[1]}" = "ok 1 - tests/kernel/a.bats" ]
	[ "${lines[2]}" = "not ok 2 - tests/kernel/helpers.bash: line 1: bang" ]
}
