#!/bin/sh
# test-host-consoled.sh - keel-host runs the console daemon with the core and the store: status
# reports it, a guest's console ring output lands in <rundir>/console/dom<N>.log (found through
# the store's console/ring-ref and port), a restored guest's ring is served again, stop ends it.
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
$XL destroy ce
host stop >/dev/null 2>&1; ok $? "the host stops"
not host status >/dev/null 2>&1; ok $? "and status says so (exit 3)"
host status 2>/dev/null | grep -q "^keel-consoled: stopped"; ok $? "keel-consoled is stopped with it"
done_tap
