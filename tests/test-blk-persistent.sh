#!/bin/sh
# test-blk-persistent.sh - persistent grants (feature-persistent) between keel-blkback and the
# guest runtime's blkfront, on a real host (keel-hv, keel-stored, keel-blkback by keel-host):
# both sides write feature-persistent=1 and the backend uses them (its log says so, and at
# disconnect it counts far more segments found already mapped than pages it mapped: the grants
# were reused, not mapped per request); a diskcheck loop on them verifies pass after pass, also
# after xl save/restore (the keys travel, the new backend maps the grants again on demand); a
# frontend told persistent=0 writes feature-persistent=0 and is served with per-request grants;
# a backend that does not offer them (KEEL_BLKBACK_PERSISTENT=0) serves a frontend that would
# use them with per-request grants; the image holds the pattern (cmp with tests/diskpattern.py).
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"

IMG=$(mktemp /var/tmp/keel-blkpers-XXXXXX.img) || exit 1
PAT="$KEEL_RUNDIR/pattern"
LOG="$KEEL_RUNDIR/blkback/keel-blkback.log"
trap 'cleanup; rm -f "$IMG"' EXIT
truncate -s 48M "$IMG"

guest() {  # NAME EXTRA [ON_POWEROFF]: create a diskcheck guest with the image as xvda; its domid
    cat >"$KEEL_RUNDIR/$1.cfg" <<EOF
name = "$1"
kernel = "diskcheck"
memory = 96
vcpus = 1
extra = "$2"
disk = ['format=raw,vdev=xvda,access=rw,target=$IMG']
on_poweroff = "${3:-destroy}"
EOF
    $XL create -q "$KEEL_RUNDIR/$1.cfg" >/dev/null 2>"$KEEL_RUNDIR/$1.err" ||
        sed 's/^/# /' "$KEEL_RUNDIR/$1.err" >&2
    $XL domid "$1"
}
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }
has() { out "$1" | grep -q "$2"; }
gone() { ! $XL list "$1" >/dev/null 2>&1; }
last_pass() { out "$1" | sed -n 's/^diskcheck: pass \([0-9]*\) seed [0-9]* ok$/\1/p' | tail -1; }
passes_to() { wait_until 60 sh -c "[ \"\$($XL dmesg | sed -n 's/^(d$1) diskcheck: pass \([0-9]*\) seed [0-9]* ok\$/\1/p' | tail -1)\" -ge $2 ]"; }
nofail() { ! out "$1" | grep -q "diskcheck: FAIL\|blkfront: .*closing"; }
fe() { xenstore-read "/local/domain/$1/device/vbd/51712/$2" 2>/dev/null; }
be() { xenstore-read "/local/domain/0/backend/vbd/$1/51712/$2" 2>/dev/null; }
# DOMID: "pages calls hits" from the backend's disconnect line for that domain's device
counts() { sed -n "s/.*vbd $1\/51712: persistent grants: \([0-9]*\) pages mapped in \([0-9]*\) calls, \([0-9]*\) segments found mapped.*/\1 \2 \3/p" "$LOG" | tail -1; }
reused() { set -- $(counts "$1"); [ -n "${1:-}" ] && [ "$1" -gt 0 ] && [ "$3" -gt $((10 * $1)) ]; }

host start >/dev/null 2>&1; ok $? "keel-host starts the core, the store and keel-blkback"

# ---- both sides use persistent grants; save/restore keeps them working ----
d=$(guest pg "size=32 seed=3 loop=0 qd=8 bs=256")
passes_to "$d" 1; ok $? "a diskcheck loop=0 guest verifies passes ($(last_pass "$d"))"
[ "$(be "$d" feature-persistent)" = 1 ]; ok $? "the backend offers feature-persistent=1"
[ "$(fe "$d" feature-persistent)" = 1 ]; ok $? "the frontend writes feature-persistent=1"
has "$d" "diskcheck: vbd .*persistent grants"; ok $? "the frontend reports it uses persistent grants"
grep -q "vbd $d/51712: persistent grants in use" "$LOG"; ok $? "the backend uses them (log)"
p0=$(last_pass "$d")
$XL save pg "$KEEL_RUNDIR/pg.save" 2>/dev/null; ok $? "xl save of the guest in the middle of diskcheck"
wait_until 10 grep -q "vbd $d/51712: closed" "$LOG"
reused "$d"; ok $? "at disconnect the grants had been reused, not mapped per request (pages mapped, calls, segments found mapped: $(counts "$d"))"
$XL restore "$KEEL_RUNDIR/pg.save" 2>/dev/null; ok $? "xl restore"
nd=$($XL domid pg)
[ -n "$nd" ] && [ "$(fe "$nd" feature-persistent)" = 1 ]; ok $? "feature-persistent=1 travelled with the frontend's keys (domain $nd)"
wait_until 10 grep -q "vbd $nd/51712: persistent grants in use" "$LOG"; ok $? "the new backend worker uses persistent grants again"
passes_to "$nd" $((p0 + 2)); ok $? "diskcheck goes on after the restore (pass $p0 before, $(last_pass "$nd") now)"
nofail "$nd"; ok $? "every pass after the restore verified (no FAIL, the frontend never closed)"
$XL destroy pg >/dev/null 2>&1
wait_until 10 grep -q "vbd $nd/51712: closed" "$LOG"
reused "$nd"; ok $? "the restored guest's grants were mapped again on demand and reused ($(counts "$nd"))"

# ---- a frontend without persistent grants ----
d=$(guest np "size=32 seed=9 qd=8 bs=256 persistent=0")
wait_until 120 has "$d" "diskcheck: \(ok\|FAIL\)"
has "$d" "diskcheck: ok wrote 32 MiB verified 32 MiB seed 9"; ok $? "a frontend told persistent=0 writes, reads back and verifies 32 MiB"
not has "$d" "diskcheck: vbd .*persistent grants"; ok $? "it does not use persistent grants"
grep -q "vbd $d/51712: per-request grants (feature-persistent: backend 1, frontend 0" "$LOG"; ok $? "the backend serves it with per-request grants (frontend wrote 0)"
wait_until 20 gone np
python3 "$S/tests/diskpattern.py" 32 9 "$PAT" && cmp -n $((32 << 20)) "$PAT" "$IMG"
ok $? "the image holds its pattern (cmp against tests/diskpattern.py 32 9)"

# ---- a backend without persistent grants ----
host stop >/dev/null 2>&1
KEEL_BLKBACK_PERSISTENT=0 host start >/dev/null 2>&1; ok $? "the host restarts with KEEL_BLKBACK_PERSISTENT=0"
d=$(guest nb "size=32 seed=11 loop=0 qd=8 bs=256")
passes_to "$d" 0; ok $? "a frontend that would use persistent grants verifies a pass"
[ "$(be "$d" feature-persistent)" = 0 ] && [ "$(fe "$d" feature-persistent)" = 0 ]
ok $? "the backend offers feature-persistent=0 and the frontend writes 0"
not has "$d" "diskcheck: vbd .*persistent grants"; ok $? "the frontend uses per-request grants"
grep -q "vbd $d/51712: per-request grants (feature-persistent: backend 0" "$LOG"; ok $? "so does the backend (log)"
nofail "$d"; ok $? "no FAIL"
$XL destroy nb >/dev/null 2>&1

done_tap
