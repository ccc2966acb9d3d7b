#!/bin/sh
# test-policyc.sh - keel-policyc against checkpolicy on a corpus of small policies (byte for
# byte, and decision for decision through keel-flask-query), policy version 24 as well as 30,
# and compile errors that must name file:line and the cause.
set -u
B="$KEEL_BUILDDIR/policy"
S="$KEEL_SRCDIR/policy"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$1"; then ok "$2"; else notok "$2"; fi; }

have_cp=1
command -v checkpolicy >/dev/null 2>&1 || have_cp=0
for f in "$S"/tests/corpus/*.conf; do
    b=$(basename "$f" .conf)
    check '"$B/keel-policyc" -o "$T/$b.kp" "$f" 2>"$T/$b.err"' "keel-policyc compiles $b"
    check '"$B/keel-flask-query" "$T/$b.kp" >"$T/$b.kq"' "libkeelflask loads keel-policyc's $b"
    if [ $have_cp = 0 ]; then
        skip "checkpolicy agrees on $b" "checkpolicy not installed"
        continue
    fi
    checkpolicy -t Xen -c 30 "$f" -o "$T/$b.cp" >/dev/null 2>&1
    check 'cmp -s "$T/$b.kp" "$T/$b.cp"' "$b: output byte-identical to checkpolicy -t Xen -c 30"
    check '"$B/keel-flask-query" "$T/$b.cp" >"$T/$b.cq" && cmp -s "$T/$b.kq" "$T/$b.cq"' \
        "$b: checkpolicy's binary loads and makes the same decisions"
done
if [ $have_cp = 1 ]; then
    f="$S/tests/corpus/c03-booleans.conf"
    "$B/keel-policyc" -c 24 -o "$T/v24.kp" "$f" && checkpolicy -t Xen -c 24 "$f" -o "$T/v24.cp" >/dev/null 2>&1
    check 'cmp -s "$T/v24.kp" "$T/v24.cp"' "version 24 output byte-identical to checkpolicy -c 24"
    check '"$B/keel-flask-query" "$T/v24.kp" | tail -n +2 >"$T/v24.q" && "$B/keel-flask-query" "$T/c03-booleans.kp" | tail -n +2 | cmp -s - "$T/v24.q"' \
        "version 24 and 30 binaries make the same decisions"
fi
check '! "$B/keel-policyc" -c 27 -o "$T/x" "$S/tests/corpus/c01-commons-aliases.conf" 2>/dev/null' \
    "a version the Xen target lacks is refused"
for f in "$S"/tests/errors/*.conf; do
    b=$(basename "$f")
    exp=$(sed -n 's/^# expect: //p' "$f")
    (cd "$S/tests/errors" && "$B/keel-policyc" -o "$T/err.out" "$b") >"$T/err.txt" 2>&1
    rc=$?
    check '[ $rc -ne 0 ] && grep -qF "$exp" "$T/err.txt" && [ ! -e "$T/err.out" ]' \
        "$b is refused with \"$exp\""
done
# m4 mode: positions refer to the original files.
printf 'class c\nclass c { p }\n' >"$T/a.te"
printf 'type a_t;\ndefine(`rule'"'"', `allow $1 $2:c p;'"'"')\nrule(a_t, b_t)\n' >"$T/b.te"
(cd "$T" && "$B/keel-policyc" -o "$T/m4.out" a.te b.te) >"$T/m4.txt" 2>&1
check 'grep -qF "b.te:3: error: unknown type or attribute b_t" "$T/m4.txt"' \
    "through m4, an error names the original file and line"
# an output that is no regular file (/dev/null, a pipe) is written in place, never replaced
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/fifo.out" &
"$B/keel-policyc" -o "$T/fifo" "$S/tests/corpus/c01-commons-aliases.conf" 2>/dev/null
wait $!
check '[ -p "$T/fifo" ] && [ -s "$T/fifo.out" ]' "-o a pipe writes into it and leaves it a pipe (as /dev/null stays a device)"
echo "1..$n"
exit $fail
