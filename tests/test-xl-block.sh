#!/bin/sh
# test-xl-block.sh - PV block devices through xl and liblight on a private host: the store
# layout and permissions of the device contract (seen while block-attach waits for the
# backend), vdev -> device numbers, the hotplug `block` script run directly (success, missing
# file, rw sharing refused, ro sharing allowed, same VM allowed, qdisk params, bad input,
# remove), xl's errors and exit codes, create with disk= failing cleanly, and nothing left in
# the store after a failed attach or create. With keel-blkback running (started by keel-host),
# also attach / list / detach on a running guest, create with disk=, and destroy cleanup.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
export KEEL_SCRIPTDIR="$S/scripts/hotplug" KEEL_DEVICE_TIMEOUT=3
BLOCK="$S/scripts/hotplug/block"
img="$KEEL_RUNDIR/disk.img"
img2="$KEEL_RUNDIR/disk2.img"
truncate -s 8M "$img" "$img2"

if ! have_xs; then
    skip "PV block tests" "xenstore-utils not installed"; done_tap; exit
fi
host start >/dev/null 2>&1; ok $? "a private host starts"
$XL create -q -p examples/counter.cfg name=b1 2>/dev/null; ok $? "create a paused guest b1"
d=$($XL domid b1)
backend=$(sh "$S/scripts/keel-host" status 2>/dev/null | grep -c "keel-blkback: running")

# ---- xl's own checks (no store access) ----
out=$($XL -N block-attach b1 "$img,raw,xvdb,rw" 2>&1)
echo "$out" | grep -q '^disk: {' && echo "$out" | grep -q '"vdev": "xvdb"'; ok $? "block-attach -N prints the parsed disk as JSON (xl's 'disk: ...')"
$XL block-attach b1 "$img,qcow7,xvdb" >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a bad format fails with exit 1"
$XL block-attach b1 "$img,raw,xvdb" "bogus=1" 2>&1 | grep -q "unknown keyword"; ok $? "an unknown keyword is reported"
$XL block-attach >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "block-attach without arguments is a usage error (2)"
$XL block-attach nosuch "$img,raw,xvdb" 2>&1 | grep -q "nosuch is an invalid domain identifier"; ok $? "an unknown domain: xl's message"

# ---- errors found before anything is written ----
err=$($XL block-attach b1 "$img,raw,foo" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$err" | grep -q "disk foo: not a valid virtual device name" && echo "$err" | grep -q "libxl_device_disk_add failed."; ok $? "a bad vdev fails, naming the disk"
$XL block-attach b1 "$img,backendtype=tap,vdev=xvdb" 2>&1 | grep -q "tap (blktap) is not supported"; ok $? "backendtype=tap is refused with the reason"
$XL block-attach b1 "$img,format=qcow2,backendtype=phy,vdev=xvdb" 2>&1 | grep -q "phy serves raw images only"; ok $? "backendtype=phy with qcow2 is refused"
$XL block-attach b1 "$img,raw,xvdb,backend=drv" 2>&1 | grep -q "driver domains are not supported yet"; ok $? "backend= another domain is refused (driver domains)"
$XL block-attach b1 "$img,raw,xvdb,script=nosuchscript" 2>&1 | grep -q "hotplug script 'nosuchscript' not found"; ok $? "a missing hotplug script is reported"
[ -z "$(xenstore-list /local/domain/0/backend/vbd/$d 2>/dev/null)" ] && not xenstore-read /local/domain/$d/device/vbd/51728/backend; ok $? "and none of them wrote a node"

# the nodes of xvdb (51728) of domain $d as the contract lays them out
check_layout() { # BE-STATE
    be=/local/domain/0/backend/vbd/$d/51728
    fe=/local/domain/$d/device/vbd/51728
    ls=$(xenstore-ls -p $be)
    echo "$ls" | grep -q "^frontend = \"$fe\".*(n0,r$d)"; ok $? "BE frontend link, owner 0, frontend may read"
    for kv in "frontend-id = \"$d\"" 'online = "1"' "state = \"$1\"" "params = \"$img\"" 'mode = "w"' \
              'type = "phy"' 'dev = "xvdb"' 'device-type = "disk"' 'removable = "0"' \
              'bootable = "1"' 'discard-enable = "1"' "script = \"$BLOCK\""; do
        echo "$ls" | grep -q "^$kv"; ok $? "BE key $kv"
    done
    xenstore-ls -p /local/domain/0/backend/vbd/$d | grep -q "^51728 = \"\".*(n0,r$d)"; ok $? "BE dir permissions n0,r$d"
    fls=$(xenstore-ls -p /local/domain/$d/device/vbd)
    echo "$fls" | grep -q "^51728 = \"\".*(n$d,r0)"; ok $? "FE dir owned by the guest, backend may read (n$d,r0)"
    for kv in "backend = \"$be\"" 'backend-id = "0"' 'state = "1"' 'virtual-device = "51728"' \
              'device-type = "disk"' 'trusted = "1"'; do
        echo "$fls" | grep -q "^ $kv"; ok $? "FE key $kv"
    done
    [ "$(xenstore-read /libxl/$d/device/vbd/51728/backend)" = "$be" ] &&
        [ "$(xenstore-read /libxl/$d/device/vbd/51728/frontend)" = "$fe" ]; ok $? "bookkeeping /libxl/$d/device/vbd/51728"
}

# ---- the nodes as written (seen while the toolstack waits for the backend) ----
if [ "$backend" -eq 0 ]; then
    $XL block-attach b1 "$img,raw,xvdb,rw,discard" >"$KEEL_RUNDIR/att.out" 2>&1 &
    apid=$!
    be=/local/domain/0/backend/vbd/$d/51728
    wait_until 5 xenstore-read $be/dev; ok $? "block-attach writes the backend dir $be (xvdb = 51728)"
    check_layout 1
    wait $apid; rc=$?
    [ $rc -eq 1 ] && grep -q "backend did not reach InitWait.*within 3 s" "$KEEL_RUNDIR/att.out"; ok $? "without a backend the attach fails after the timeout, saying why"
    not xenstore-read $be/dev && not xenstore-read $fe/backend && not xenstore-read /libxl/$d/device/vbd/51728/backend; ok $? "and removes every node it wrote"
    not xenstore-read /local/domain/0/backend/vbd/$d; ok $? "including the emptied backend/vbd/$d"
    $XL list -l b1 | grep -q '"disks"'; [ $? -ne 0 ]; ok $? "a failed attach leaves the stored config without the disk"
    # vdev encodings, from the paths written
    for pair in hdc:5632 sda:2048 xvdq:268439552 xvda1:51713 51760:51760; do
        v=${pair%%:*}; num=${pair#*:}
        $XL block-attach b1 "$img,raw,$v,ro" >/dev/null 2>&1 &
        apid=$!
        wait_until 5 xenstore-read /local/domain/0/backend/vbd/$d/$num/dev; ok $? "vdev $v is device $num"
        wait $apid
    done
    $XL block-attach b1 "$img,qcow2,xvdc" >/dev/null 2>&1 &
    apid=$!
    wait_until 5 xenstore-read /local/domain/0/backend/qdisk/$d/51744/params; ok $? "format=qcow2 goes to a qdisk backend"
    [ "$(xenstore-read /local/domain/0/backend/qdisk/$d/51744/params)" = "qcow2:$img" ] &&
        [ "$(xenstore-read /local/domain/0/backend/qdisk/$d/51744/type)" = qdisk ] &&
        [ "$(xenstore-read /local/domain/$d/device/vbd/51744/backend)" = /local/domain/0/backend/qdisk/$d/51744 ]; ok $? "with params qcow2:<target>, type qdisk, the frontend under device/vbd"
    wait $apid
    $XL block-attach b1 "$img,raw,xvdd,ro,devtype=cdrom" >/dev/null 2>&1 &
    apid=$!
    wait_until 5 xenstore-read /local/domain/0/backend/vbd/$d/51760/mode
    [ "$(xenstore-read /local/domain/0/backend/vbd/$d/51760/mode)" = r ] &&
        [ "$(xenstore-read /local/domain/0/backend/vbd/$d/51760/device-type)" = cdrom ] &&
        [ "$(xenstore-read /local/domain/$d/device/vbd/51760/device-type)" = cdrom ]; ok $? "access=ro is mode r, devtype=cdrom on both sides"
    wait $apid
    # create with disk=: fails without a backend, leaves no domain and no node
    $XL create -q examples/counter.cfg name=bd "disk=['$img,raw,xvda,rw']" >"$KEEL_RUNDIR/cr.out" 2>&1; rc=$?
    [ $rc -ne 0 ] && grep -q "disk xvda: the backend did not reach InitWait" "$KEEL_RUNDIR/cr.out"; ok $? "create with disk= and no backend fails with the disk's error"
    not $XL list bd && [ -z "$(xenstore-list /libxl 2>/dev/null | grep -vx "$d")" ] &&
        [ -z "$(xenstore-list /local/domain/0/backend/vbd 2>/dev/null)" ]; ok $? "and leaves no domain, no bookkeeping, no backend node"
else
    skip "store layout while waiting for a backend" "keel-blkback runs: see the attach tests below"
fi

# ---- the hotplug script on its own (nodes written with xenstore-write) ----
hp() { # KIND DOMID DEVID TYPE PARAMS MODE -> runs `block add`
    p=backend/$1/$2/$3
    xenstore-write "$p/type" "$4" "$p/params" "$5" "$p/mode" "$6"
    XENBUS_PATH=$p XENBUS_TYPE=$1 XENBUS_BASE_PATH=backend script="$BLOCK" "$BLOCK" add \
        </dev/null >/dev/null 2>&1
}
hs() { xenstore-read "backend/$1/hotplug-status" 2>/dev/null; }
hp vbd 901 51712 phy "$img" w; rc=$?
[ $rc -eq 0 ] && [ "$(hs vbd/901/51712)" = connected ]; ok $? "block add: a file, mode w: hotplug-status=connected"
[ "$(xenstore-read backend/vbd/901/51712/physical-device-path)" = "$(readlink -f "$img")" ]; ok $? "physical-device-path is the canonical path"
ln -s "$img" "$KEEL_RUNDIR/link.img"
hp vbd 902 51712 phy "$KEEL_RUNDIR/link.img" r; rc=$?
[ $rc -eq 1 ] && [ "$(hs vbd/902/51712)" = error ] &&
    xenstore-read backend/vbd/902/51712/hotplug-error | grep -q "already attached read-write to domain 901"; ok $? "the same file through a symlink, wanted ro while 901 has it rw: refused, hotplug-error says why"
hp vbd 903 51712 phy "$KEEL_RUNDIR/nosuch.img" r; rc=$?
[ $rc -eq 1 ] && xenstore-read backend/vbd/903/51712/hotplug-error | grep -q "nosuch.img does not exist"; ok $? "a missing file: exit 1 and hotplug-error"
hp vbd 904 51712 phy "$img2" r && hp vbd 905 51712 phy "$img2" r; ok $? "one file read-only for two domains is allowed"
hp vbd 906 51712 phy "$img2" w; [ $? -eq 1 ] && xenstore-read backend/vbd/906/51712/hotplug-error | grep -q "attached read-only to domain 90[45]"; ok $? "but not read-write while others read it"
xenstore-write /local/domain/907/vm /vm/same /local/domain/901/vm /vm/same
hp vbd 907 51712 phy "$img" w; ok $? "the same VM (local migration: same /vm path) may share a rw file"
hp qdisk 908 51712 qdisk "qcow2:$img2" r; rc=$?
[ $rc -eq 0 ] && [ "$(xenstore-read backend/qdisk/908/51712/physical-device-path)" = "$(readlink -f "$img2")" ]; ok $? "qdisk params format:target: the target after the format is checked"
hp vbd 909 51712 phy /dev/null r; [ $? -eq 1 ] && xenstore-read backend/vbd/909/51712/hotplug-error | grep -q "not a file or a block device"; ok $? "a character device is refused"
hp vbd 910 51712 phy "$img" x; [ $? -eq 1 ] && xenstore-read backend/vbd/910/51712/hotplug-error | grep -q "mode 'x'"; ok $? "a bad mode is refused"
blk=$(find /dev -maxdepth 1 -type b 2>/dev/null | head -1)
if [ -n "$blk" ] && [ -r "$blk" ]; then
    hp vbd 911 51712 phy "$blk" r; rc=$?
    [ $rc -eq 0 ] && [ "$(xenstore-read backend/vbd/911/51712/physical-device)" = "$(stat -L -c %t:%T "$blk")" ]; ok $? "a block device ($blk): physical-device major:minor in hex"
else
    skip "a block device: physical-device" "no readable block device"
fi
XENBUS_PATH="backend/vbd/../x" "$BLOCK" add </dev/null >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a malformed XENBUS_PATH is refused"
XENBUS_PATH=backend/vbd/901/51712 "$BLOCK" remove </dev/null >/dev/null 2>&1; ok $? "block remove exits 0"
grep -q "block remove backend/vbd/901/51712: nothing to undo" "$KEEL_RUNDIR/hotplug.log" &&
    grep -q "block add backend/vbd/902/51712: error:" "$KEEL_RUNDIR/hotplug.log"; ok $? "everything is logged to RUNDIR/hotplug.log"
xenstore-rm /local/domain/0/backend; xenstore-rm /local/domain/907; xenstore-rm /local/domain/901

# ---- with a backend: attach, list, detach, create with disk=, destroy ----
if [ "$backend" -gt 0 ]; then
    $XL unpause b1
    $XL block-attach b1 "$img,raw,xvdb,rw,discard"; ok $? "block-attach on a running guest"
    [ "$(xenstore-read /local/domain/0/backend/vbd/$d/51728/hotplug-status)" = connected ]; ok $? "the hotplug script ran: connected"
    $XL block-list b1 | awk 'NR==1 && $1=="Vdev" && $7=="BE-path" {h=1} NR==2 && $1==51728 && $2==0 && $3=='"$d"' {r=1} END {exit !(h && r)}'; ok $? "block-list shows xl's columns and the device"
    $XL list -l b1 | grep -q '"vdev": "xvdb"'; ok $? "xl list -l shows the disk in the config and its state"
    be=/local/domain/0/backend/vbd/$d/51728
    check_layout 2
    $XL create -q -p examples/counter.cfg name=b2 2>/dev/null
    $XL block-attach b2 "$img,raw,xvdb,ro" 2>&1 | grep -q "already attached read-write to domain $d"; ok $? "the image attached rw to b1 is refused to another domain, with the script's reason"
    $XL destroy b2
    $XL block-detach b1 xvdb; ok $? "block-detach"
    not xenstore-read /local/domain/0/backend/vbd/$d/51728/dev && not xenstore-read /local/domain/$d/device/vbd/51728/backend; ok $? "detach removes the nodes"
    $XL block-detach b1 xvdb 2>&1 | grep -q "Error: Device xvdb not connected."; ok $? "detaching again: xl's message"
    $XL create -q examples/counter.cfg name=bd "disk=['$img2,raw,xvda,rw']"; ok $? "create with disk="
    bd=$($XL domid bd)
    [ "$(xenstore-read /local/domain/0/backend/vbd/$bd/51712/hotplug-status)" = connected ]; ok $? "its disk is attached before it runs"
    $XL save bd "$KEEL_RUNDIR/bd.save" >/dev/null 2>&1; ok $? "save the guest with its disk"
    [ -z "$(xenstore-list /local/domain/0/backend/vbd/$bd 2>/dev/null)" ]; ok $? "saving (which destroys it) removed its disk nodes"
    $XL restore "$KEEL_RUNDIR/bd.save" >/dev/null 2>&1; ok $? "restore it"
    nbd=$($XL domid bd)
    [ -n "$nbd" ] && [ "$nbd" != "$bd" ] &&
        [ "$(xenstore-read /local/domain/0/backend/vbd/$nbd/51712/hotplug-status)" = connected ] &&
        [ "$(xenstore-read /local/domain/$nbd/device/vbd/51712/backend)" = /local/domain/0/backend/vbd/$nbd/51712 ]; ok $? "restore re-creates the disk's nodes for the new domid ($bd -> $nbd)"
    $XL destroy bd
    [ -z "$(xenstore-list /local/domain/0/backend/vbd/$nbd 2>/dev/null)" ] && not xenstore-read /libxl/$nbd; ok $? "destroy leaves nothing in the store"
    grep -q "block remove backend/vbd/$nbd/51712" "$KEEL_RUNDIR/hotplug.log"; ok $? "and ran the hotplug script's remove"
else
    skip "attach/list/detach on a running guest, create with disk=, destroy" "keel-blkback is not started by keel-host yet"
fi
$XL destroy b1
[ -z "$(xenstore-list /local/domain/0/backend 2>/dev/null)" ] && [ -z "$(xenstore-list /libxl 2>/dev/null)" ]; ok $? "destroying the guest leaves no backend node and no bookkeeping"
done_tap
