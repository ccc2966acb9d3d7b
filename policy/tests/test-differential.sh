#!/bin/sh
# test-differential.sh - random policies (tests/gen-policy.c, seeds 1..40) compiled by
# keel-policyc and checkpolicy -t Xen -c 30: where checkpolicy accepts a policy the two
# binaries must be byte-identical; where it refuses one, keel-policyc must refuse it too.
set -u
B="$KEEL_BUILDDIR/policy"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0
if ! command -v checkpolicy >/dev/null 2>&1; then
    echo "ok 1 - differential test # SKIP checkpolicy not installed"
    echo "1..1"
    exit 0
fi
for s in $(seq 1 40); do
    n=$((n + 1))
    "$B/gen-policy" "$s" >"$T/p.conf"
    if checkpolicy -t Xen -c 30 "$T/p.conf" -o "$T/p.cp" >/dev/null 2>&1; then
        if "$B/keel-policyc" -o "$T/p.kp" "$T/p.conf" 2>"$T/err" && cmp -s "$T/p.kp" "$T/p.cp"; then
            echo "ok $n - random policy $s: byte-identical to checkpolicy"
        else
            fail=1
            echo "not ok $n - random policy $s: differs from checkpolicy"
            sed 's/^/# /' "$T/err"
        fi
    else
        if "$B/keel-policyc" -o "$T/p.kp" "$T/p.conf" 2>/dev/null; then
            fail=1
            echo "not ok $n - random policy $s: checkpolicy refuses it, keel-policyc accepts it"
        else
            echo "ok $n - random policy $s: refused by both compilers"
        fi
    fi
done
echo "1..$n"
exit $fail
