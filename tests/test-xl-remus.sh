#!/bin/sh
# test-xl-remus.sh - xl remus between two hosts (two runtime directories, each with its own core
# and store; the backup's `xl migrate-receive -r` over the sender's pipes, -s ''): the domain is
# checkpointed every 100 ms; destroying it on the primary fails it over to the backup, where it
# runs under its name with its memory verified and its counter going on; SIGINT stops the
# replication and leaves the domain running on the primary; -b needs -F; COLO is refused; the
# backup's xl.conf affinity mask applies to the replica.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
trap 'KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1; rm -rf "$B2"; cleanup' EXIT
XLB() { KEEL_RUNDIR=$B2 $XL "$@"; }
last_tick() { timeout 1 $XL console "$1" 2>/dev/null | sed -n 's/.*tick \([0-9]*\) .*/\1/p' | tail -1; }

host start >/dev/null 2>&1; ok $? "host A starts"
KEEL_RUNDIR=$B2 host start >/dev/null 2>&1; ok $? "host B starts"
$XL create -q examples/dirtier.cfg name=ha 'extra="size=16 rate=2000 verify=1"' 2>/dev/null; ok $? "a verifying dirtier runs on A"
wait_until 10 sh -c "timeout 1 $XL console ha 2>/dev/null | grep -q 'tick 2 '"; ok $? "it ticks on A"
last=$(($(nproc) - 1))
echo "vm.cpumask=\"$last\"" >"$B2/xl.conf"        # B's xl.conf: its vCPUs on the last CPU only
$XL remus -i 100 -s '' ha "KEEL_RUNDIR=$B2 KEEL_XL_CONF=$B2/xl.conf $XL migrate-receive -r" 2>"$B2/remus.err" &
rp=$!
wait_until 10 sh -c "KEEL_RUNDIR=$B2 $XL list ha--incoming"; ok $? "the backup holds ha--incoming on B"
[ "$(XLB vcpu-list ha--incoming | awk '$3 == 0 { print $(NF - 2) }')" = $last ]
ok $? "B's xl.conf vm.cpumask=\"$last\" applies to the replica (vcpu-list: hard affinity $last)"
KEEL_RUNDIR=$B2 $XL list ha--incoming | awk 'NR==2{print $5}' | grep -q p; ok $? "paused while it is a backup"
sleep 1.5
tk=$(last_tick ha)
$XL destroy ha; ok $? "the primary is destroyed (failover forced)"
wait $rp; ok $? "xl remus exits 0 when the primary is gone"
grep -q "takes over" "$B2/remus.err"; ok $? "and says the backup takes over"
wait_until 10 sh -c "KEEL_RUNDIR=$B2 $XL list ha"; ok $? "on B the domain runs under its name"
not XLB list ha--incoming 2>/dev/null; ok $? "no ha--incoming is left"
wait_until 10 sh -c "KEEL_RUNDIR=$B2 timeout 1 $XL console ha 2>/dev/null | grep -q 'tick $((tk + 2)) '"; ok $? "it ticks on after tick $tk"
! (KEEL_RUNDIR=$B2 timeout 1 $XL console ha 2>/dev/null | grep -q 'errors [1-9]'); ok $? "its memory verifies on B"
XLB destroy ha

$XL create -q examples/dirtier.cfg name=hb 2>/dev/null
$XL remus -i 100 -s '' hb "KEEL_RUNDIR=$B2 $XL migrate-receive -r" 2>"$B2/remus2.err" &
rp=$!
sleep 1.5
kill -INT $rp
wait $rp; ok $? "SIGINT stops xl remus with exit 0"
grep -q "replication stopped" "$B2/remus2.err"; ok $? "saying the domain runs on at the primary"
$XL list hb | awk 'NR==2{print $5}' | grep -q '^-\?[rb]'; ok $? "the primary runs on"
$XL remus -b hb >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "-b without -F is refused (exit 2)"
$XL remus -c hb host >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "COLO (-c) is refused"
$XL remus -i 100 -s '' hb "echo this is not xl migrate-receive but garbage of the banner length; cat >/dev/null" >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a backup that speaks garbage: exit 1"
$XL list hb | awk 'NR==2{print $5}' | grep -q '^-\?[rb]'; ok $? "and the primary still runs"
$XL destroy hb
done_tap
