#!/bin/sh
# Sums the results of every TAP test (automake .trs files) under the build directories given,
# prints each failure, and ends with the line "N passed, N failed". Exit 1 if anything failed.
set -u
pass=0; fail=0; skip=0
for dir in "$@"; do
    [ -d "$dir" ] || continue
    for trs in $(find "$dir" -name '*.trs' | sort); do
        p=$(grep -c '^:test-result: PASS' "$trs"); x=$(grep -c '^:test-result: XFAIL' "$trs")
        f=$(grep -c -E '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
        s=$(grep -c '^:test-result: SKIP' "$trs")
        pass=$((pass + p + x)); fail=$((fail + f)); skip=$((skip + s))
        if [ "$f" -gt 0 ]; then
            echo "FAILED in ${trs%.trs}.log:"
            grep -E '^(not ok|Bail out)' "${trs%.trs}.log" | sed 's/^/    /' | head -20
            # what the test and the parts it started said (diagnostics, daemon errors)
            grep -v -E '^(ok|not ok) ' "${trs%.trs}.log" | tail -15 | sed 's/^/    | /'
        fi
    done
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
