#!/usr/bin/env bash
# Runs every test suite and prints one closing line "N passed, N failed".
# Suites: every build/tests/test_* (cmocka) and every tests/py/test_*.py.
# Generated models (tests/models.sh) are built first: the fidelity suites need them.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export IQS_ROOT="$root"
export IQS_BUILD="$root/$BUILD"
export IQS_SHARED=${IQS_SHARED:-$(cd "$root/../shared" 2>/dev/null && pwd || echo "$root/../shared")}
export IQS_MODELS=${IQS_MODELS:-$root/build/models}
export PYTHON
export CMOCKA_MESSAGE_OUTPUT=stdout

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if ! bash "$here/models.sh"; then
    echo "models: generation failed"
    failed=$((failed + 1))
fi

for t in "$IQS_BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "== $(basename "$t")"
    t0=$(date +%s)
    "$t" >"$log" 2>&1
    rc=$?
    echo "   ($(( $(date +%s) - t0 )) s)"
    cat "$log"
    p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "suite $(basename "$t") exited $rc"; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "suite $(basename "$t") ran no test"; fi
    passed=$((passed + p))
    failed=$((failed + f))
done

for t in "$here"/py/test_*.py; do
    [ -f "$t" ] || continue
    # IQS_PY_SKIP: Python suites a rerun need not repeat (the sanitizer run
    # skips the ones that test no sanitized code); listed, never silent.
    case " ${IQS_PY_SKIP:-} " in *" $(basename "$t") "*) echo "== $(basename "$t"): not rerun in this configuration"; continue;; esac
    echo "== $(basename "$t")"
    t0=$(date +%s)
    "$PYTHON" "$t" >"$log" 2>&1
    rc=$?
    echo "   ($(( $(date +%s) - t0 )) s)"
    cat "$log"
    # Python suites print "PASS name" / "FAIL name" per check.
    p=$(grep -cE '^PASS ' "$log")
    f=$(grep -cE '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "suite $(basename "$t") exited $rc"; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "suite $(basename "$t") ran no test"; fi
    passed=$((passed + p))
    failed=$((failed + f))
done

if [ "$passed" -eq 0 ]; then failed=$((failed + 1)); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
