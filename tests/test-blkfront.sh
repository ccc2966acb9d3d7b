#!/bin/sh
# test-blkfront.sh - the guest runtime's block frontend (guests/rt/rt_blkfront.c) through a real
# host (keel-hv, keel-stored, keel-blkback started by keel-host) and xl disk=: diskcheck writes,
# flushes, reads back and verifies 256 MiB on a raw image with a 16-page ring and INDIRECT
# requests, and the image equals tests/diskpattern.py's output; a second guest reads the same
# data back over a one-page ring with direct requests only; hostile requests from blkevil get an
# error response or close that device, and the next guest's diskcheck still passes; xl
# block-detach under a running diskcheck closes the device (Closing -> Closed handshake) and the
# guest reports it.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"

IMG=$(mktemp /var/tmp/keel-blkfront-XXXXXX.img) || exit 1
PAT="$KEEL_RUNDIR/pattern"
trap 'cleanup; rm -f "$IMG" "$IMG.qcow2"' EXIT
truncate -s 300M "$IMG"

host start >/dev/null 2>&1; ok $? "keel-host starts the core, the store and keel-blkback"
wait_until 10 grep -q "serving" "$KEEL_RUNDIR/blkback/keel-blkback.log"

# guest NAME KERNEL EXTRA: create it with the image as xvda; prints its domid
guest() {
    cat >"$KEEL_RUNDIR/$1.cfg" <<EOF
name = "$1"
kernel = "$2"
memory = 96
vcpus = 1
extra = "$3"
disk = ['${DISK:-format=raw,vdev=xvda,access=rw,target=$IMG}']
on_poweroff = "destroy"
on_crash = "destroy"
EOF
    # created paused: a short-lived guest may power off (and be destroyed) before its domid is
    # asked for
    $XL create -q -p "$KEEL_RUNDIR/$1.cfg" >/dev/null 2>"$KEEL_RUNDIR/$1.err" ||
        sed 's/^/# /' "$KEEL_RUNDIR/$1.err" >&2
    $XL domid "$1" && $XL unpause "$1"
}
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }        # DOMID: its console_io lines
has() { out "$1" | grep -q "$2"; }                  # DOMID PATTERN
gone() { ! $XL list "$1" >/dev/null 2>&1; }

d=$(guest dc1 diskcheck "size=256 seed=5 qd=32 bs=1024")
ok $? "a diskcheck guest with disk=[raw xvda] is created"
wait_until 180 has "$d" "diskcheck: \(ok\|FAIL\)"
has "$d" "diskcheck: ok wrote 256 MiB verified 256 MiB seed 5"
ok $? "diskcheck writes, flushes, reads back and verifies 256 MiB ($(out "$d" | grep 'diskcheck: \(ok\|FAIL\)'))"
has "$d" "ring order 4 (512 slots), max request 1024 KiB, indirect"
ok $? "it negotiated a 16-page ring and INDIRECT requests of 1 MiB"
wait_until 20 gone dc1; ok $? "it powers off and is destroyed"
python3 "$S/tests/diskpattern.py" 256 5 "$PAT" && cmp -n $((256 << 20)) "$PAT" "$IMG"
ok $? "the image holds the pattern (cmp against tests/diskpattern.py 256 5)"

# the same 256 MiB on a qcow2 image, served through qemu-nbd and libnbd
QIMG="$IMG.qcow2"
qemu-img create -q -f qcow2 "$QIMG" 300M
d=$(DISK="format=qcow2,vdev=xvda,access=rw,target=$QIMG" guest dq diskcheck "size=256 seed=7 qd=32 bs=1024")
wait_until 240 has "$d" "diskcheck: \(ok\|FAIL\)"
has "$d" "diskcheck: ok wrote 256 MiB verified 256 MiB seed 7"
ok $? "on a qcow2 disk diskcheck writes, flushes, reads back and verifies 256 MiB ($(out "$d" | grep 'diskcheck: \(ok\|FAIL\)'))"
wait_until 20 gone dq
python3 "$S/tests/diskpattern.py" 256 7 "$PAT.7" && qemu-img compare -q -f raw -F qcow2 "$PAT.7" "$QIMG"
ok $? "the qcow2 image holds the pattern (qemu-img compare against tests/diskpattern.py 256 7)"
rm -f "$QIMG" "$PAT.7"

d=$(guest dc2 diskcheck "size=32 seed=5 mode=verify ring=0 indirect=0 qd=16 bs=44")
wait_until 120 has "$d" "diskcheck: \(ok\|FAIL\)"
has "$d" "diskcheck: ok wrote 0 MiB verified 32 MiB seed 5"
ok $? "a second guest reads the data back over a one-page ring with direct requests"
has "$d" "ring order 0 (32 slots), max request 44 KiB"; ok $? "it used 32 slots and 11 segments"
wait_until 20 gone dc2

for a in pastend badgref indirect-bad; do
    d=$(guest evil blkevil "attempt=$a")
    wait_until 60 has "$d" "blkevil: result"
    has "$d" "blkevil: result $a error-response"
    ok $? "blkevil $a: an error response, the device goes on ($(out "$d" | grep 'response op'))"
    wait_until 20 gone evil
done
d=$(guest evil blkevil "attempt=ringflood")
wait_until 60 has "$d" "blkevil: result"
has "$d" "blkevil: result ringflood closed"; ok $? "blkevil ringflood: the backend closes that device"
has "$d" "blkfront: vbd 51712: closed"; ok $? "the frontend followed to Closed and revoked its ring"
wait_until 20 gone evil

d=$(guest dc3 diskcheck "size=64 seed=9 loop=0 qd=8 bs=64")
wait_until 60 has "$d" "diskcheck: pass 0 seed 9 ok"
ok $? "after the hostile guests a diskcheck loop runs (pass 0 verified)"
$XL block-detach dc3 xvda >/dev/null 2>&1; ok $? "xl block-detach under running I/O succeeds"
wait_until 20 has "$d" "blkfront: vbd 51712: closed"
r=$?; ok $r "the guest saw Closing, finished its requests and went Closed"
if [ "$r" != 0 ]; then                 # what each side did, for the one who reads this log
    out "$d" | tail -n 12 | sed 's/^/# guest: /'
    grep "vbd $d/" "$KEEL_RUNDIR/blkback/keel-blkback.log" | tail -n 12 | sed 's/^/# blkback: /'
    xenstore-ls -f "/local/domain/$d/device" 2>&1 | grep -i state | sed 's/^/# store: /'
    $XL debug-keys q >/dev/null 2>&1; $XL dmesg | grep -v "^(d" | tail -n 20 | sed 's/^/# core: /'
fi
has "$d" "diskcheck: FAIL io .* status -19"; ok $? "diskcheck reports the device gone (ENODEV)"
wait_until 20 gone dc3
[ -z "$(xenstore-ls /local/domain/0/backend/vbd 2>/dev/null)" ]
ok $? "nothing is left under the backend directory"

done_tap
