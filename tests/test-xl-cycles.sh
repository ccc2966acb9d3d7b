#!/bin/sh
# test-xl-cycles.sh - 100 `xl create` / `xl destroy` cycles leave nothing behind: no domain, no
# domain process, no store node, no userdata file, no monitor, no descriptor in the core.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
CYCLES=${KEEL_XL_CYCLES:-100}

host start >/dev/null 2>&1; ok $? "keel-host start"
hvpid=$(cat "$KEEL_RUNDIR/keel-hv.pid")
stpid=$(cat "$KEEL_RUNDIR/xenstored/keel-stored.pid")
nfds() { ls "/proc/$1/fd" | wc -l; }
nchildren() { grep -l "^PPid:[[:space:]]*$1\$" /proc/[0-9]*/status 2>/dev/null | xargs -r grep -l '^Name:.*keel-stub' 2>/dev/null | wc -l; }   # domain processes
fds_hv=$(nfds "$hvpid"); fds_st=$(nfds "$stpid"); kids=$(nchildren "$hvpid")

bad=0
i=0
while [ $i -lt "$CYCLES" ]; do
    $XL create -q examples/counter.cfg name=cyc 2>/dev/null || { bad=$((bad + 1)); break; }
    $XL destroy cyc || { bad=$((bad + 1)); break; }
    i=$((i + 1))
done
[ $bad -eq 0 ]; ok $? "$CYCLES create/destroy cycles all succeed ($i done)"
wait_until 5 sh -c "[ \$($XL list | wc -l) -eq 2 ]"; ok $? "only Domain-0 is listed afterwards"
[ "$(nchildren "$hvpid")" -eq "$kids" ]; ok $? "no domain process is left under keel-hv"
if have_xs; then
    [ -z "$(store_domains)" ]; ok $? "no /local/domain/N node is left"
    [ -z "$(xenstore-list /vm 2>/dev/null)" ]; ok $? "no /vm/UUID node is left"
    [ -z "$(xenstore-list /libxl 2>/dev/null)" ]; ok $? "no /libxl/N node is left"
else
    skip "no store nodes left" "no xenstore-list"; skip "no /vm nodes" "-"; skip "no /libxl nodes" "-"
fi
[ -z "$(ls "$KEEL_RUNDIR/light" 2>/dev/null)" ]; ok $? "no userdata file is left in RUNDIR/light"
wait_until 5 no_monitors
ok $? "every monitor has exited"
wait_until 3 sh -c "[ \$(ls /proc/$hvpid/fd | wc -l) -le $fds_hv ]"; ok $? "keel-hv holds no more descriptors than before ($(nfds "$hvpid") <= $fds_hv)"
wait_until 3 sh -c "[ \$(ls /proc/$stpid/fd | wc -l) -le $fds_st ]"; ok $? "keel-stored holds no more descriptors than before"
done_tap
