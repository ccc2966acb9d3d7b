#!/bin/sh
# test-crosscheck.sh - Keel's default policy: Debian's checkpolicy compiles the same m4-expanded
# source; the two binaries must be byte-identical and grant the same rules, compared by
# loading each with libkeelflask (every type pair, class and boolean setting) and with
# setools' sesearch.
set -u
B="$KEEL_BUILDDIR/policy"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$1"; then ok "$2"; else notok "$2"; fi; }

check '[ -s "$B/keel-policy.30" ] && [ -s "$B/policy.conf" ]' "the build compiled the default policy"
if ! command -v checkpolicy >/dev/null 2>&1; then
    n=$((n + 1)); echo "ok $n - checkpolicy cross-check # SKIP checkpolicy not installed"
    echo "1..$n"; exit 0
fi
check 'checkpolicy -t Xen -c 30 "$B/policy.conf" -o "$T/cp.30" >/dev/null 2>&1' \
    "checkpolicy -t Xen -c 30 compiles the same source"
check 'cmp -s "$B/keel-policy.30" "$T/cp.30"' "keel-policyc's default policy is byte-identical"
check '"$B/keel-flask-query" "$B/keel-policy.30" >"$T/k.q" && "$B/keel-flask-query" "$T/cp.30" >"$T/c.q" && cmp -s "$T/k.q" "$T/c.q"' \
    "libkeelflask makes the same decisions with either binary"
check 'KEEL_FLASK_POLICY="$T/cp.30" "$B/test-kf" >"$T/tkf.out" 2>&1 && ! grep -q "^not ok" "$T/tkf.out"' \
    "test-kf's whole denial matrix passes with checkpolicy's binary loaded by libkeelflask"
check '[ $(wc -l <"$T/k.q") -gt 100 ]' "the decision dump is substantial ($(wc -l <"$T/k.q") lines)"
if command -v sesearch >/dev/null 2>&1; then
    check 'sesearch -A -T "$B/keel-policy.30" | sort >"$T/k.s" && sesearch -A -T "$T/cp.30" | sort >"$T/c.s" && [ -s "$T/k.s" ] && cmp -s "$T/k.s" "$T/c.s"' \
        "setools' sesearch lists the same allow and type rules"
    check 'seinfo "$B/keel-policy.30" | tail -n +2 >"$T/k.i" && seinfo "$T/cp.30" | tail -n +2 >"$T/c.i" && cmp -s "$T/k.i" "$T/c.i"' \
        "seinfo reports the same statistics"
fi
echo "1..$n"
exit $fail
