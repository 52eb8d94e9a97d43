#!/bin/sh
# Runs every test layer and ends with one line "N passed, N failed".
# Unit tests (cmocka, TAP output), end-to-end scripts (TAP), and each
# libFuzzer harness for FUZZ_SECONDS.  Each program's TAP lines are counted.
set -u
BUILDS=${BUILDS:-build}
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
log=$(mktemp -d "${TMPDIR:-/tmp}/coffer-check.XXXXXX")
pass=0
fail=0

# count TAP "ok"/"not ok" lines of one program's output; a program that
# exits non-zero without a "not ok" line counts as one failure.
run_tap() {
	name=$1; shift
	out="$log/$(echo "$name" | tr '/ ' '__').log"
	"$@" >"$out" 2>&1
	rc=$?
	p=$(grep -cE '^ok ' "$out")
	f=$(grep -cE '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "  $name: ran no test" >>"$out"; fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name ($p passed, $f failed)"
		grep -E '^not ok |^# |ERROR|error' "$out" | head -40 | sed 's/^/    /'
		echo "    (full log: $out)"
	else
		echo "ok   $name ($p)"
	fi
}

for O in $BUILDS; do
	echo "== unit tests ($O)"
	for t in "$O"/tests/test_*; do
		[ -x "$t" ] || continue
		CMOCKA_MESSAGE_OUTPUT=TAP run_tap "$O/unit/$(basename "$t")" "$t"
	done
	echo "== end-to-end tests ($O)"
	for t in tests/e2e/t_*.sh; do
		[ -f "$t" ] || continue
		COFFER_BIN="$O/bin" run_tap "$O/e2e/$(basename "$t" .sh)" sh "$t"
	done
done

echo "== fuzzing (${FUZZ_SECONDS}s per harness)"
for f in "$FUZZ_DIR"/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	corpus="$log/corpus-$n"; mkdir -p "$corpus"
	if "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 "$corpus" \
	    "tests/fuzz/corpus/$n" >"$log/$n.log" 2>&1; then
		echo "ok   fuzz/$n"; pass=$((pass + 1))
	else
		echo "FAIL fuzz/$n (log: $log/$n.log)"; tail -30 "$log/$n.log" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done

[ "$fail" -eq 0 ] && rm -rf "$log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
