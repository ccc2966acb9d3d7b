#!/bin/sh
# test-xl-save.sh - xl save and xl restore through a real host: the image carries the config,
# the restored domain continues where it stopped, -c and -p leave the domain running or paused,
# Xen's verify-stream-v2 accepts the image (when unpacked by install-deps), bad images fail.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
img="$KEEL_RUNDIR/c.img"

host start >/dev/null 2>&1; ok $? "a private host starts"
$XL create -q examples/counter.cfg name=sv 'extra="interval=100"' 2>/dev/null; ok $? "create a counter"
sleep 0.6
$XL save sv "$img" 2>"$KEEL_RUNDIR/save.err"; ok $? "xl save exits 0"
grep -q "^Saving to $img new xl format" "$KEEL_RUNDIR/save.err"; ok $? "xl save says what it writes, as xl does"
not $XL list sv; ok $? "after xl save the domain is gone"
$XL restore "$img" 2>"$KEEL_RUNDIR/restore.err"; ok $? "xl restore exits 0"
grep -q "Savefile contains xl domain config in JSON format" "$KEEL_RUNDIR/restore.err"; ok $? "the image carries the config"
$XL list sv >/dev/null; ok $? "the restored domain has its name back"
sleep 0.6
first=$(timeout 1 $XL console sv 2>/dev/null | sed -n 's/^counter \([0-9]*\)$/\1/p' | head -1)
[ -n "$first" ] && [ "$first" -gt 1 ]; ok $? "it continues counting from where it was saved (first number after restore: $first)"
ver=/opt/keel-xen/usr/lib/xen-4.17/bin/verify-stream-v2
if [ -f "$ver" ]; then
    PYTHONPATH=$(dirname "$ver")/../lib/python python3 "$ver" -q -f xl -i "$img" >/dev/null 2>&1
    ok $? "Xen's verify-stream-v2 accepts the xl save image"
else
    skip "Xen's verify-stream-v2 accepts the xl save image" "verifier not unpacked"
fi
$XL save -c sv "$img" 2>/dev/null; ok $? "xl save -c"
$XL list sv | awk 'NR==2{print $5}' | grep -q '^-\?[rb]'; ok $? "with -c the domain keeps running"
$XL save -p sv "$img" 2>/dev/null; ok $? "xl save -p"
$XL list sv | awk 'NR==2{print $5}' | grep -q 'p'; ok $? "with -p the domain is left paused"
$XL destroy sv
$XL restore -p "$img" 2>/dev/null; ok $? "xl restore -p"
$XL list sv | awk 'NR==2{print $5}' | grep -q 'p'; ok $? "restore -p leaves it paused"
$XL unpause sv; ok $? "and it can be unpaused"
$XL destroy sv
head -c 5000 "$img" > "$KEEL_RUNDIR/cut.img"
$XL restore "$KEEL_RUNDIR/cut.img" >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a truncated image fails with exit 1"
not $XL list sv; ok $? "and leaves no domain"
$XL restore /etc/hostname >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a file that is not a save image fails"

# the store ring comes back: the restored guest goes on writing its counter and answers a watch
$XL create -q examples/counter.cfg name=xs kernel=xsguest 'extra="tick=100"' 2>/dev/null; ok $? "create a store client (xsguest)"
d=$($XL domid xs 2>/dev/null)
wait_until 10 sh -c "[ \$(xenstore-read /local/domain/$d/data/counter 2>/dev/null || echo 0) -ge 3 ]"; ok $? "it writes data/counter through its store ring"
$XL save xs "$img" 2>/dev/null; ok $? "save the store client"
$XL restore "$img" 2>/dev/null; ok $? "restore it"
nd=$($XL domid xs 2>/dev/null)
[ -n "$nd" ] && [ "$nd" != "$d" ]; ok $? "it runs again as a new domain ($d -> $nd)"
[ "$(xenstore-read /local/domain/$nd/store/port 2>/dev/null)" -gt 0 ] 2>/dev/null; ok $? "its store ring's port is published again"
c1=$(xenstore-read /local/domain/$nd/data/counter 2>/dev/null || echo 0)
wait_until 10 sh -c "[ \$(xenstore-read /local/domain/$nd/data/counter 2>/dev/null || echo 0) -gt $((c1 + 2)) ]"; ok $? "after restore it goes on writing data/counter under its new domid"
xenstore-write /local/domain/$nd/data/trigger ping-after-restore
wait_until 10 sh -c "[ \"\$(xenstore-read /local/domain/$nd/data/echo 2>/dev/null)\" = ping-after-restore ]"; ok $? "its watch is registered again and answers (data/echo)"
timeout 1 $XL console xs 2>/dev/null | grep -q "xs watch fired: data/trigger trig value=ping-after-restore"; ok $? "and says so on its console"
$XL destroy xs
not sh -c "xenstore-read /local/domain/$nd/name" ; ok $? "destroying it removes its store home"
done_tap
