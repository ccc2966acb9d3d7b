#!/bin/sh
# test-xl-logdirty.sh - the host's log-dirty engine through xl: `xl info` names the engine the
# core uses (KEEL_LOGDIRTY forces one; auto otherwise); a host without one (KEEL_LOGDIRTY=none,
# as on a kernel without userfaultfd write-protection) makes xl migrate and xl remus fail at once,
# before any receiver or backup is started, saying what is missing, and the domain runs on; with
# the engine in use, a 128-vCPU dirtier migrates live and verifies all of its memory on the
# target (every vCPU checks its slice: checksums and generations).
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
trap 'KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1; rm -rf "$B2"; cleanup' EXIT
XLB() { KEEL_RUNDIR=$B2 $XL "$@"; }
want=${KEEL_LOGDIRTY:-auto}

# a host with log-dirty mode off: refusals come at once
KEEL_LOGDIRTY=none host start >/dev/null 2>&1; ok $? "a host with KEEL_LOGDIRTY=none starts"
$XL info | grep -q '^logdirty_engine *: none (turned off'; ok $? "xl info: logdirty_engine : none (turned off ...)"
$XL create -q examples/counter.cfg name=stay 2>/dev/null; ok $? "a guest runs there"
$XL migrate -s '' stay "touch $B2/receiver-ran; cat >/dev/null" 2>"$B2/mig.err"; [ $? -eq 1 ]
ok $? "xl migrate exits 1"
[ ! -e "$B2/receiver-ran" ]; ok $? "before starting the receiver"
grep -q "cannot track a running domain's dirty pages: log-dirty engine none" "$B2/mig.err"
ok $? "saying the host has no log-dirty engine and why"
$XL remus -s '' stay "touch $B2/backup-ran; cat >/dev/null" 2>"$B2/remus.err"; [ $? -eq 1 ]
ok $? "xl remus exits 1"
[ ! -e "$B2/backup-ran" ] && grep -q "xl remus: this host cannot track" "$B2/remus.err"
ok $? "before starting the backup, with the same reason"
$XL list stay | awk 'NR==2{print $5}' | grep -q '^-\?[rb]'; ok $? "the domain runs on"
$XL destroy stay
host stop >/dev/null 2>&1

# the engine asked for (or auto) on both hosts; a 128-vCPU dirtier migrates live
host start >/dev/null 2>&1; ok $? "host A starts (KEEL_LOGDIRTY=$want)"
KEEL_RUNDIR=$B2 host start >/dev/null 2>&1; ok $? "host B starts"
eng=$($XL info | sed -n 's/^logdirty_engine *: \([a-z]*\).*/\1/p')
case $want in
auto) [ "$eng" = async ] || [ "$eng" = sync ] ;;
*) [ "$eng" = "$want" ] ;;
esac
ok $? "xl info: logdirty_engine : $eng"
$XL create -q examples/dirtier.cfg name=big vcpus=128 memory=192 maxmem=192 \
    'extra="size=128 rate=32000 verify=2"' 2>"$B2/create.err"; ok $? "a 128-vCPU dirtier runs on A"
wait_until 30 sh -c "timeout 1 $XL console big 2>/dev/null | grep -q '128 vCPUs'"; ok $? "with all 128 vCPUs writing"
wait_until 30 sh -c "timeout 1 $XL console big 2>/dev/null | grep -q 'tick 3 '"; ok $? "it ticks on A"
# both cores run on this machine and a domain's uid is derived from its domid (RLIMIT_NPROC per
# uid): a guest on B first, so the incoming domain does not share the sender's domid and uid
KEEL_RUNDIR=$B2 $XL create -q examples/counter.cfg name=other 2>/dev/null
$XL migrate -s '' big "KEEL_RUNDIR=$B2 $XL migrate-receive" 2>"$B2/migrate.err"; ok $? "xl migrate of the 128-vCPU dirtier exits 0 ($eng engine)"; [ -n "$KEEL_TEST_VERBOSE" ] && cat "$B2/migrate.err" >&2
XLB list big >/dev/null; ok $? "host B runs it"
t0=$(KEEL_RUNDIR=$B2 timeout 1 $XL console big 2>/dev/null | sed -n 's/.*tick \([0-9]*\) .*/\1/p' | tail -1)
wait_until 30 sh -c "KEEL_RUNDIR=$B2 timeout 1 $XL console big 2>/dev/null | grep -q 'tick $((${t0:-0} + 3)) '"
ok $? "it ticks on B past two full verifications (every 2 s, all vCPUs)"
! (KEEL_RUNDIR=$B2 timeout 1 $XL console big 2>/dev/null | grep -q 'errors [1-9]'); ok $? "all its memory verifies on B"
XLB destroy big
done_tap
