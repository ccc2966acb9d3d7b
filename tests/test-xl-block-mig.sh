#!/bin/sh
# test-xl-block-mig.sh - save, restore and live migration of a guest with a disk while it runs
# diskcheck loop=0 (writes a pattern pass after pass, reads each pass back and verifies it; a lost
# or misplaced write prints a FAIL line). Two hosts on this machine (two runtime directories, each
# with its own core, store and keel-blkback started by scripts/keel-host); the raw image is the
# shared storage, at the same path for both. Checked: the frontend's store keys travel in the
# image (keel_frontends in the config JSON; Xen's verify-stream-v2 still accepts it) and are
# written for the new domid; the backend finished its requests and closed the device before the
# save's or migration's stop-and-copy began (the store's backend state seen when xl -t prints the
# first stop-and-copy line), and xl unpause after xl save -p adds the disk again with the same
# ring; the backend reconnects to the guest's ring after a restore; the guest's passes go
# on verifying after xl save/restore (also with 32 MiB of requests in flight), after xl migrate
# to the other host and back, and after a migration that fails once the source had closed its
# disk; a malformed keel_frontends member is refused; at the end the image holds, block by
# block, the pattern of the last pass or of the one before it (checked from dom0).
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
IMG=$(mktemp /var/tmp/keel-blockmig-XXXXXX.img) || exit 1
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
trap 'KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1; rm -rf "$B2" "$IMG"; cleanup' EXIT
truncate -s 64M "$IMG"
export KEEL_DEVICE_TIMEOUT=20
XLB() { KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL "$@"; }
RECV="KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL migrate-receive"
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }           # DOMID: its console lines on host A
outb() { XLB dmesg | sed -n "s/^(d$1) //p"; }          # the same on host B
# the last completed pass of a diskcheck on host A (or B with outb)
last_pass() { "${2:-out}" "$1" | sed -n 's/^diskcheck: pass \([0-9]*\) seed [0-9]* ok$/\1/p' | tail -1; }
# DOMID N [outb]: wait until the guest completed pass N
passes_to() { wait_until 60 sh -c "[ \"\$($3 dmesg | sed -n 's/^(d$1) diskcheck: pass \([0-9]*\) seed [0-9]* ok\$/\1/p' | tail -1)\" -ge $2 ]"; }
nofail() { ! "${2:-out}" "$1" | grep -q "diskcheck: FAIL\|blkfront: .*closing"; }
fe() { xenstore-read "/local/domain/$1/device/vbd/51712/$2" 2>/dev/null; }
be_state() { xenstore-read "/local/domain/0/backend/vbd/$1/51712/state" 2>/dev/null; }

host start >/dev/null 2>&1; ok $? "host A starts (core, store, keel-blkback)"
KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket host start >/dev/null 2>&1; ok $? "host B starts"
sh "$S/scripts/keel-host" status 2>/dev/null | grep -q "keel-blkback: running"; ok $? "keel-blkback runs on host A"

cat >"$KEEL_RUNDIR/dm.cfg" <<EOF
name = "dm"
kernel = "diskcheck"
memory = 96
vcpus = 1
extra = "size=16 seed=3 loop=0 qd=8 bs=64"
disk = ['format=raw,vdev=xvda,access=rw,target=$IMG']
EOF
$XL create -q "$KEEL_RUNDIR/dm.cfg" 2>/dev/null; ok $? "a diskcheck loop=0 guest with a raw disk runs on host A"
d=$($XL domid dm)
passes_to "$d" 2 "$XL"; ok $? "it completes verified passes ($(last_pass "$d"))"
ring=$(fe "$d" ring-ref0)$(fe "$d" ring-ref); ev=$(fe "$d" event-channel)
[ "$(fe "$d" state)" = 4 ] && [ -n "$ring" ] && [ -n "$ev" ]; ok $? "its frontend is Connected (ring-ref $ring, event-channel $ev)"

# STATE-PATH OUT: xl -t progress on stdin; at its first stop-and-copy line (the guest paused, the
# final copy starting) record what the store says of the backend's state
at_stop_copy() {
    stdbuf -o0 tr '\r' '\n' | while IFS= read -r l; do
        case $l in *stop-and-copy*) [ -s "$2" ] || { xenstore-read "$1" 2>/dev/null || echo gone; } >"$2" ;; esac
    done
}

# ---- the disk closes before the final copy: xl save -p, then xl unpause ----
p0=$(last_pass "$d")
rm -f "$KEEL_RUNDIR/sc.state"
{ $XL -t save -p dm "$KEEL_RUNDIR/dp.save" 2>&1 >/dev/null; echo $? >"$KEEL_RUNDIR/sc.rc"; } |
    at_stop_copy "/local/domain/0/backend/vbd/$d/51712/state" "$KEEL_RUNDIR/sc.state"
[ "$(cat "$KEEL_RUNDIR/sc.rc")" = 0 ]; ok $? "xl save -p of the guest in the middle of diskcheck"
[ "$(cat "$KEEL_RUNDIR/sc.state" 2>/dev/null)" = 6 ]
ok $? "when the stop-and-copy began the backend had finished its requests and closed (state $(cat "$KEEL_RUNDIR/sc.state" 2>/dev/null))"
grep -q "vbd $d/51712: closed" "$KEEL_RUNDIR/blkback/keel-blkback.log" &&
    [ "$(xenstore-read /libxl/$d/device/vbd/51712/keel-suspended 2>/dev/null)" = 1 ]
ok $? "the backend logged the close; the disk is marked closed by a save"
$XL unpause dm; ok $? "xl unpause of the saved, paused guest"
[ "$(be_state "$d")" = 4 ] && not xenstore-read /libxl/$d/device/vbd/51712/keel-suspended
ok $? "unpause added the disk again: the backend is Connected to the same ring"
passes_to "$d" $((p0 + 3)) "$XL"; ok $? "diskcheck goes on after the save (pass $p0 before, $(last_pass "$d") now)"
nofail "$d"; ok $? "every pass verified (no FAIL, the frontend never closed)"
# compressed (kg_save on a worker thread: the close runs on xl's thread) and -c (resumes at once)
p0=$(last_pass "$d")
$XL save -z -c dm "$KEEL_RUNDIR/dz.save" 2>/dev/null &&
    [ "$(grep -c "vbd $d/51712: closed" "$KEEL_RUNDIR/blkback/keel-blkback.log")" = 2 ]
ok $? "xl save -z -c closed the disk during the save"
[ "$(be_state "$d")" = 4 ] && passes_to "$d" $((p0 + 3)) "$XL" && nofail "$d"
ok $? "and the guest goes on with its disk Connected, every pass verified ($(last_pass "$d") now)"

# ---- xl save / xl restore ----
p0=$(last_pass "$d")
$XL save dm "$KEEL_RUNDIR/dm.save" 2>/dev/null; ok $? "xl save of the guest in the middle of diskcheck"
[ "$(grep -c "vbd $d/51712: closed" "$KEEL_RUNDIR/blkback/keel-blkback.log")" = 3 ]; ok $? "the save closed its device in the backend again (requests finished)"
grep -a -q '"keel_frontends"' "$KEEL_RUNDIR/dm.save" &&
    grep -a -q "\"event-channel\": \"$ev\"" "$KEEL_RUNDIR/dm.save"; ok $? "the image carries the frontend's keys (keel_frontends in its config)"
ver=/opt/keel-xen/usr/lib/xen-4.17/bin/verify-stream-v2
if [ -f "$ver" ]; then
    PYTHONPATH=$(dirname "$ver")/../lib/python python3 "$ver" -q -f xl -i "$KEEL_RUNDIR/dm.save" >/dev/null 2>&1
    ok $? "Xen's verify-stream-v2 accepts the image with keel_frontends"
else
    skip "Xen's verify-stream-v2 accepts the image with keel_frontends" "verifier not unpacked"
fi
# same-length edits keep the preamble's lengths: a protocol and a key outside the allowed set
for edit in '"x86_64-abi"=>"x86_65-abi"' '"feature-persistent"=>"feature-persistenX"' \
             "\"event-channel\": \"$ev\"=>\"event-channel\": \"x\"" '"ring-ref15"=>"ring-ref16"' \
             '"state": "4"=>"state": "9"' '"51712"=>"5171x"'; do
    python3 - "$KEEL_RUNDIR/dm.save" "$KEEL_RUNDIR/bad.save" "$edit" <<'EOF'
import sys
a, b = sys.argv[3].split("=>")
data = open(sys.argv[1], "rb").read()
i = data.index(b'"keel_frontends"')
j = data.index(a.encode(), i)
if len(a) != len(b):    # keep the length: pad the value with spaces inside the member
    b = b + " " * (len(a) - len(b))
open(sys.argv[2], "wb").write(data[:j] + b.encode() + data[j + len(a):])
EOF
    $XL restore "$KEEL_RUNDIR/bad.save" >"$KEEL_RUNDIR/bad.err" 2>&1; rc=$?
    [ $rc -eq 1 ] && grep -q "keel_frontends" "$KEEL_RUNDIR/bad.err" && not $XL list dm 2>/dev/null
    ok $? "an image whose keel_frontends has $(echo "$edit" | cut -d'>' -f2) is refused, naming it, and leaves no domain"
done
$XL restore "$KEEL_RUNDIR/dm.save" 2>/dev/null; ok $? "xl restore"
nd=$($XL domid dm)
[ -n "$nd" ] && [ "$nd" != "$d" ] && [ "$(fe "$nd" event-channel)" = "$ev" ] &&
    [ "$(fe "$nd" ring-ref0)$(fe "$nd" ring-ref)" = "$ring" ] && [ "$(fe "$nd" state)" = 4 ] &&
    [ "$(fe "$nd" backend)" = "/local/domain/0/backend/vbd/$nd/51712" ]
ok $? "the frontend's keys are written for the new domid $nd (state 4, same ring and port, new backend link)"
[ "$(be_state "$nd")" = 4 ]; ok $? "the backend reconnected to the guest's ring before it ran (state 4)"
grep -q "vbd $nd/51712: connected: .* resuming at request" "$KEEL_RUNDIR/blkback/keel-blkback.log"; ok $? "the backend resumed at the ring's published responses"
passes_to "$nd" $((p0 + 3)) "$XL"; ok $? "diskcheck goes on after the restore (pass $p0 before, $(last_pass "$nd") now)"
nofail "$nd"; ok $? "every pass after the restore verified (no FAIL, the frontend never closed)"

# ---- live migration A -> B -> A (shared storage: the same image path) ----
p0=$(last_pass "$nd")
rm -f "$KEEL_RUNDIR/sc.state"
{ $XL -t migrate -s '' dm "$RECV" 2>&1 >/dev/null; echo $? >"$KEEL_RUNDIR/sc.rc"; } |
    at_stop_copy "/local/domain/0/backend/vbd/$nd/51712/state" "$KEEL_RUNDIR/sc.state"
[ "$(cat "$KEEL_RUNDIR/sc.rc")" = 0 ]; ok $? "xl migrate to host B during diskcheck"
[ "$(cat "$KEEL_RUNDIR/sc.state" 2>/dev/null)" = 6 ]
ok $? "when the migration's stop-and-copy began the source's backend had closed (state $(cat "$KEEL_RUNDIR/sc.state" 2>/dev/null))"
not $XL list dm 2>/dev/null; ok $? "the guest is gone from host A"
grep -q "vbd $nd/51712: closed" "$KEEL_RUNDIR/blkback/keel-blkback.log"; ok $? "the source's backend finished its requests and closed the device"
bd=$(XLB domid dm)
[ -n "$bd" ] && [ "$(KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket xenstore-read /local/domain/0/backend/vbd/$bd/51712/state)" = 4 ]
ok $? "on host B the backend is Connected to the guest's ring (domain $bd)"
passes_to "$bd" $((p0 + 3)) "KEEL_RUNDIR=$B2 $XL"; ok $? "diskcheck goes on on host B (pass $p0 before, $(last_pass "$bd" outb) now)"
nofail "$bd" outb; ok $? "every pass on host B verified"
p0=$(last_pass "$bd" outb)
XLB migrate -s '' dm "KEEL_RUNDIR=$KEEL_RUNDIR XENSTORED_PATH=$XENSTORED_PATH $XL migrate-receive" 2>/dev/null
ok $? "xl migrate back to host A"
ad=$($XL domid dm)
passes_to "$ad" $((p0 + 3)) "$XL"; ok $? "diskcheck goes on on host A again (pass $p0 before, $(last_pass "$ad") now)"
nofail "$ad"; ok $? "every pass back on host A verified"

# ---- a migration that fails after the source closed its disk: the source resumes with it ----
p0=$(last_pass "$ad")
$XL migrate -s '' dm "KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket KEEL_SCRIPTDIR=/nonexistent $XL migrate-receive" >/dev/null 2>"$KEEL_RUNDIR/fail.err"
[ $? -eq 1 ]; ok $? "a migration whose target cannot attach the disk fails"
not XLB list dm 2>/dev/null && not XLB list dm--incoming 2>/dev/null; ok $? "nothing is left on host B"
[ "$($XL domid dm 2>/dev/null)" = "$ad" ] && [ "$(be_state "$ad")" = 4 ]; ok $? "the source runs on under its name with its disk Connected again"
passes_to "$ad" $((p0 + 3)) "$XL"; ok $? "and diskcheck goes on (pass $p0 before, $(last_pass "$ad") now)"
nofail "$ad"; ok $? "every pass verified"

# ---- the image from dom0: each block holds the last pass's pattern or the one before ----
$XL pause dm
sleep 0.2
seed=$(out "$ad" | sed -n 's/^diskcheck: pass [0-9]* seed \([0-9]*\) ok$/\1/p' | tail -1)
$XL destroy dm
python3 - "$S/tests" "$IMG" "$seed" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from diskpattern import block_bytes
img, seed = open(sys.argv[2], "rb"), int(sys.argv[3])
bad = 0
for b in range(16 * 256):
    data = img.read(4096)
    if data != block_bytes(seed + 1, b) and data != block_bytes(seed, b):
        bad += 1
sys.exit(1 if bad else 0)
EOF
ok $? "dom0 reads the pattern of seed $seed or $((seed + 1)) in every block of the image"

# ---- 32 MiB in flight when saved ----
sed -e 's/name = "dm"/name = "dq"/' -e 's/extra = .*/extra = "size=48 seed=100 loop=0 qd=32 bs=1024"/' \
    "$KEEL_RUNDIR/dm.cfg" >"$KEEL_RUNDIR/dq.cfg"
$XL create -q "$KEEL_RUNDIR/dq.cfg" 2>/dev/null; ok $? "a diskcheck guest with 32 requests of 1 MiB in flight"
q=$($XL domid dq)
passes_to "$q" 1 "$XL"
wait_until 20 sh -c "$XL dmesg | grep -q '^(d$q) diskcheck: tick .* written'"
p0=$(last_pass "$q")
$XL save dq "$KEEL_RUNDIR/dq.save" 2>/dev/null; ok $? "saved in the middle of its I/O (pass $p0 done)"
$XL restore "$KEEL_RUNDIR/dq.save" 2>/dev/null; ok $? "restored"
nq=$($XL domid dq)
passes_to "$nq" $((p0 + 3)) "$XL"; ok $? "its passes go on and verify (pass $p0 before, $(last_pass "$nq") now)"
nofail "$nq"; ok $? "no FAIL after the requests in flight were replayed"
$XL destroy dq
[ -z "$(xenstore-list /local/domain/0/backend/vbd 2>/dev/null)" ]; ok $? "nothing is left under the backend directory"
done_tap
