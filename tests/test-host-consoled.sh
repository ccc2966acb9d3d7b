#!/bin/sh
# test-host-consoled.sh - keel-host runs the console daemon with the core and the store: status
# reports it, a guest's console ring output lands in <rundir>/console/dom<N>.log (found through
# the store's console/ring-ref and port), a restored guest's ring is served again, xl console and
# xl create -c attach to it (input, ^], the guest's poweroff), stop ends it.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1

host start >/dev/null 2>&1; ok $? "a private host starts"
host status | grep -q "^keel-consoled: running"; ok $? "keel-host status reports keel-consoled running"
[ -S "$KEEL_RUNDIR/console/socket" ]; ok $? "its socket is in <rundir>/console"
$XL create -q examples/counter.cfg name=ce kernel=conecho 2>/dev/null; ok $? "create a guest that talks on its console ring (conecho)"
d=$($XL domid ce 2>/dev/null)
wait_until 10 grep -q "conecho: domain $d ready" "$KEEL_RUNDIR/console/dom$d.log"; ok $? "its ring output is logged in console/dom$d.log"
$XL save ce "$KEEL_RUNDIR/ce.img" >/dev/null 2>&1 && $XL restore "$KEEL_RUNDIR/ce.img" >/dev/null 2>&1; ok $? "save and restore it"
nd=$($XL domid ce 2>/dev/null)
[ -n "$nd" ] && [ "$nd" != "$d" ]; ok $? "it runs again as domain $nd"
[ "$(xenstore-read /local/domain/$nd/console/port 2>/dev/null)" -gt 0 ] 2>/dev/null; ok $? "its console ring is published for the new domain"
KC="$B/daemons/console/keel-console"
(printf 'hello-after-restore\r'; sleep 2) | timeout 5 "$KC" "$nd" >"$KEEL_RUNDIR/attach.out" 2>&1
grep -q "echo: hello-after-restore" "$KEEL_RUNDIR/attach.out"; ok $? "attached through keel-consoled, the restored guest echoes what it is sent"
(sleep 0.5; printf 'typed-at-xl\n'; sleep 1; printf '\035'; sleep 1) | timeout 8 $XL console ce >"$KEEL_RUNDIR/xlcon.out" 2>&1
ok $? "xl console ends with exit 0 at the escape character ^]"
grep -q "echo: typed-at-xl" "$KEEL_RUNDIR/xlcon.out"; ok $? "xl console carries input into the guest's ring and shows its answer"
grep -q "echo: hello-after-restore" "$KEEL_RUNDIR/xlcon.out"; ok $? "xl console shows the ring's history first (the earlier attach's echo)"
$XL list ce >/dev/null 2>&1; ok $? "the domain runs on after the detach"
(sleep 0.5; printf 'quit\n'; sleep 3) | (timeout 8 $XL console ce >"$KEEL_RUNDIR/xlcon2.out" 2>&1; echo $? >"$KEEL_RUNDIR/xlcon2.rc")
[ "$(cat "$KEEL_RUNDIR/xlcon2.rc")" = 0 ]; ok $? "xl console exits 0 when the guest powers off"
grep -q "echo: quit" "$KEEL_RUNDIR/xlcon2.out"; ok $? "its last output is shown before it ends"
wait_until 5 not $XL list ce; ok $? "on_poweroff=destroy removed it"
(sleep 1; printf 'quit\n'; sleep 3) | timeout 10 $XL create -c examples/counter.cfg name=cc kernel=conecho >"$KEEL_RUNDIR/xlcon3.out" 2>&1
ok $? "xl create -c: attached from the start, exit 0 when the guest powers off"
grep -q "conecho: domain [0-9]* ready" "$KEEL_RUNDIR/xlcon3.out" && grep -q "echo: quit" "$KEEL_RUNDIR/xlcon3.out"
ok $? "xl create -c shows the guest's first ring output and its answer to input"
host stop >/dev/null 2>&1; ok $? "the host stops"
not host status >/dev/null 2>&1; ok $? "and status says so (exit 3)"
host status 2>/dev/null | grep -q "^keel-consoled: stopped"; ok $? "keel-consoled is stopped with it"
done_tap
