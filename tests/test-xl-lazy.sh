#!/bin/sh
# test-xl-lazy.sh - lazy restore (docs/lazy-restore.md): xl restore returns while the restored
# domain's memory is still in its image; the core fills frames on first touch. A verifying
# dirtier is saved and restored with the core's background fill held back 3 s
# (KEEL_LAZY_BG_DELAY_MS), the image is deleted as soon as xl restore returns, and the guest's
# full verification passes (2 s after the restore: frames it reads only then come through
# missing-page faults from the deleted file) before and after the core says every frame is in.
# Also: xl restore --eager still works.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
img="$KEEL_RUNDIR/lz.img"
con="$KEEL_RUNDIR/lz.con"

KEEL_LAZY_BG_DELAY_MS=3000 host start >/dev/null 2>&1; ok $? "a private host starts (background fill held back 3 s)"
$XL create -q examples/dirtier.cfg name=lz 'extra="size=24 rate=200 verify=2"' 2>/dev/null; ok $? "a verifying dirtier runs (24 MiB working set)"
wait_until 15 sh -c "timeout 1 $XL console lz 2>/dev/null | grep -q 'tick [3-9].*errors 0'"; ok $? "it verifies its memory before the save"
$XL save lz "$img" 2>/dev/null; ok $? "xl save"
$XL restore "$img" 2>"$KEEL_RUNDIR/restore.err"; ok $? "xl restore exits 0"
rm -f "$img"; ok $? "the image is deleted as soon as xl restore returns"
d=$($XL domid lz 2>/dev/null)
$XL dmesg 2>/dev/null | grep -q "Domain $d: lazy memory complete"; not test $? -eq 0; ok $? "its memory is not all in yet"
$XL list lz | awk 'NR==2{print $5}' | grep -q '^-\?[rb]'; ok $? "yet it runs"
(timeout 30 $XL console lz >"$con" 2>/dev/null &)
wait_until 15 sh -c "grep -q 'dirtier: tick' $con"; ok $? "it prints ticks after the restore"
wait_until 15 sh -c "$XL dmesg 2>/dev/null | grep -q 'Domain $d: lazy memory complete'"; ok $? "the core reports every frame in"
$XL dmesg 2>/dev/null | grep "Domain $d: lazy memory complete" | grep -q "[1-9][0-9]* faults served"; ok $? "frames came through missing-page faults ($($XL dmesg | grep -o "Domain $d: lazy memory complete.*" | tail -1))"
t=$(sed -n 's/^dirtier: tick \([0-9]*\) .*/\1/p' "$con" | tail -1)
wait_until 15 sh -c "[ \$(grep -c 'dirtier: tick' $con) -ge 6 ]"; ok $? "it goes on after the fill (ticks from $t on)"
grep 'dirtier: tick' "$con" | grep -qv 'errors 0$'; not test $? -eq 0; ok $? "every verification after the restore passed (errors 0), before and after the fill completed"
$XL save lz "$img" 2>/dev/null; ok $? "a lazily restored domain saves again"
$XL restore --eager "$img" 2>/dev/null; ok $? "xl restore --eager"
wait_until 15 sh -c "timeout 1 $XL console lz 2>/dev/null | grep -q 'errors 0'"; ok $? "the eagerly restored dirtier verifies its memory"
$XL destroy lz; ok $? "destroy"
done_tap
