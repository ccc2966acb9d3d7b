#!/bin/sh
# test-xl-migrate.sh - xl migrate / xl migrate-receive between two hosts (two runtime
# directories, each with its own core and store) with xl's handshake over the receiver's stdin and
# stdout (-s ''): the domain arrives under its name and keeps running with its memory intact; a
# failed migration leaves the source running under its name.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
trap 'KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1; rm -rf "$B2"; cleanup' EXIT
XLB() { KEEL_RUNDIR=$B2 $XL "$@"; }

host start >/dev/null 2>&1; ok $? "host A starts"
KEEL_RUNDIR=$B2 host start >/dev/null 2>&1; ok $? "host B starts"
$XL create -q examples/dirtier.cfg name=mig 2>/dev/null; ok $? "a dirtier runs on host A"
wait_until 10 sh -c "timeout 1 $XL console mig 2>/dev/null | grep -q 'tick 2 '"; ok $? "it ticks on A"
$XL migrate -s '' mig "KEEL_RUNDIR=$B2 $XL migrate-receive" 2>"$B2/migrate.err"; ok $? "xl migrate exits 0"
grep -q "Migration successful" "$B2/migrate.err"; ok $? "the sender reports success"
not $XL list mig; ok $? "the domain is gone from host A"
XLB list mig >/dev/null; ok $? "host B runs it under its name"
not XLB list mig--incoming; ok $? "no NAME--incoming is left on B"
wait_until 10 sh -c "KEEL_RUNDIR=$B2 timeout 1 $XL console mig 2>/dev/null | grep -q 'tick'"; ok $? "it ticks on B"
sleep 1.5
! (KEEL_RUNDIR=$B2 timeout 1 $XL console mig 2>/dev/null | grep -q 'errors [1-9]'); ok $? "its memory verifies on B"
XLB destroy mig
$XL create -q examples/counter.cfg name=stay 2>/dev/null
$XL migrate -s '' stay "false" >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a migration to a receiver that fails exits 1"
$XL list stay | awk 'NR==2{print $5}' | grep -q '^-\?[rb]'; ok $? "the source keeps running under its name"
$XL migrate -s '' stay "echo not an xl receiver; cat >/dev/null" >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a receiver that speaks garbage: exit 1"
$XL list stay >/dev/null; ok $? "the source is still there"
not $XL list stay--migratedaway; ok $? "and not left renamed"
$XL destroy stay
done_tap
