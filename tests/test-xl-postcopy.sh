#!/bin/sh
# test-xl-postcopy.sh - xl migrate --postcopy (Keel extension, docs/lazy-restore.md) between two
# hosts over the receiver's stdin/stdout (-s ''): the target runs the domain before its memory
# is in, the frames come on demand and pushed, the source is destroyed once the target holds
# them all, and the dirtier's verification passes on B. Then the link is cut at random points
# (a few, bounded: one within the first 20 KB, the handshake, two while frames stream) with
# `dd count=N` in front of the receiver: afterwards exactly one host runs the domain, never both.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
trap 'KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1; rm -rf "$B2"; cleanup' EXIT
XLB() { KEEL_RUNDIR=$B2 $XL "$@"; }
export KEEL_POSTCOPY_FENCE_MS=500     # the source waits this long before resuming after a cut
running() { $1 list "$2" 2>/dev/null | awk 'NR==2{print $5}' | grep -q '^-\?[rb]'; }

host start >/dev/null 2>&1; ok $? "host A starts"
KEEL_RUNDIR=$B2 host start >/dev/null 2>&1; ok $? "host B starts"
$XL create -q examples/dirtier.cfg name=pc memory=48 maxmem=48 'extra="size=16 rate=2000 verify=1"' 2>/dev/null; ok $? "a verifying dirtier runs on A"
wait_until 10 sh -c "timeout 1 $XL console pc 2>/dev/null | grep -q 'tick 2 '"; ok $? "it ticks on A"
$XL migrate --postcopy -s '' pc "KEEL_RUNDIR=$B2 $XL migrate-receive --postcopy" 2>"$B2/migrate.err"; ok $? "xl migrate --postcopy exits 0"
grep -q "Migration successful" "$B2/migrate.err"; ok $? "the sender reports success"
not $XL list pc; ok $? "the domain is gone from A"
running XLB pc; ok $? "B runs it under its name"
d=$(XLB domid pc 2>/dev/null)
XLB dmesg 2>/dev/null | grep -q "Domain $d: lazy memory complete.* [1-9][0-9]* faults served"; ok $? "its frames came on demand as well as pushed ($(XLB dmesg | grep -o "Domain $d: lazy memory complete.*" | tail -1))"
wait_until 15 sh -c "[ \$(KEEL_RUNDIR=$B2 timeout 1 $XL console pc 2>/dev/null | grep -c 'dirtier: tick') -ge 1 ]"; ok $? "it ticks on B"
sleep 1.5
! (KEEL_RUNDIR=$B2 timeout 1 $XL console pc 2>/dev/null | grep -q 'errors [1-9]'); ok $? "its memory verifies on B"
XLB destroy pc

# link cuts: N bytes of the source's stream reach the receiver, then the link is gone
r1=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 100 ))
r2=$(( $(od -An -N4 -tu4 /dev/urandom) % 4000000 + 100000 ))
r3=$(( $(od -An -N4 -tu4 /dev/urandom) % 8000000 + 4200000 ))
$XL create -q examples/dirtier.cfg name=cut memory=48 maxmem=48 'extra="size=16 rate=2000 verify=1"' 2>/dev/null
wait_until 10 sh -c "timeout 1 $XL console cut 2>/dev/null | grep -q 'tick 1 '"
for cutn in $r1 $r2 $r3; do
    $XL migrate --postcopy -s '' cut "dd iflag=count_bytes bs=64k count=$cutn status=none | KEEL_RUNDIR=$B2 $XL migrate-receive --postcopy" >"$B2/cut.err" 2>&1
    st=$?
    wait_until 10 sh -c "! KEEL_RUNDIR=$B2 $XL list 2>/dev/null | grep -q '^cut'"
    a=0; b=0
    running $XL cut && a=1
    KEEL_RUNDIR=$B2 $XL list 2>/dev/null | grep -q '^cut' && b=1
    [ $st -eq 1 ] && [ $((a + b)) -eq 1 ]; ok $? "cut after $cutn bytes: xl migrate exits 1 and exactly one host runs the domain (A $a, B $b)"
done
sleep 1.5
! (timeout 1 $XL console cut 2>/dev/null | grep -q 'errors [1-9]'); ok $? "the source's copy resumed with its memory intact"
$XL destroy cut
done_tap
