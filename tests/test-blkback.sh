#!/bin/sh
# test-blkback.sh - keel-blkback on a real host (keel-host in a private runtime directory): the
# backend's side of the device contract driven through the store, as the toolstack and a
# frontend would write it: features and InitWait, the target opened after hotplug-status=
# connected (sectors/info), mode r, a bad target, hotplug-status=error, garbage in the frontend's
# nodes and ring keys, grant references never granted (a real guest), the ring-protocol checks,
# close on state 5/online=0, qcow2 through qemu-nbd, a worker that crashes, kill -9 of the daemon
# and its restart re-attaching; xl block-attach/block-detach against it.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
have_xs || { echo "1..0 # SKIP xenstore-utils not installed"; exit 0; }
export KEEL_BLKBACK="$B/daemons/blkback/keel-blkback"
# a store with its journal: killed and started again, it keeps its nodes (the restart check)
export KEEL_STORED_PERSIST=1 KEEL_STORED_OPTS="--sync none"
BLOG="$KEEL_RUNDIR/blkback/keel-blkback.log"
BE=/local/domain/0/backend
BB_NOFILE=64                  # daemons/blkback/bb_confine.h

bbpid() { cat "$KEEL_RUNDIR/blkback/keel-blkback.pid" 2>/dev/null; }
running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
workers() { p=$(bbpid); [ -n "$p" ] && cat /proc/$p/task/$p/children 2>/dev/null; }
worker_of() { # KIND DOMID DEVID -> pid of the worker whose log line names it
    grep "$1 $2/$3: worker [0-9]* started" "$BLOG" | tail -1 | sed 's/.*worker \([0-9]*\) started.*/\1/'
}
state_is() { [ "$(xenstore-read "$1/state" 2>/dev/null)" = "$2" ]; }
key_is() { [ "$(xenstore-read "$1" 2>/dev/null)" = "$2" ]; }    # re-read at every try
# add_dev KIND DOMID DEVID PARAMS MODE [FESTATE]: the nodes the toolstack writes at add
# (contract); FESTATE (default 1) as a restore would write it
add_dev() {
    be=$BE/$1/$2/$3; fe=/local/domain/$2/device/vbd/$3
    xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" "${6:-1}" "$fe/virtual-device" "$3" \
        "$fe/device-type" disk "$fe/trusted" 1 \
        "$be/frontend" "$fe" "$be/frontend-id" "$2" "$be/online" 1 "$be/params" "$4" \
        "$be/script" "$S/scripts/hotplug/block" "$be/mode" "$5" "$be/type" phy "$be/dev" xvda \
        "$be/device-type" disk "$be/removable" 0 "$be/bootable" 1 "$be/discard-enable" 1 \
        "$be/state" 1
}
hotplug() { # KIND DOMID DEVID: the block script, as liblight runs it
    XENBUS_PATH=backend/$1/$2/$3 XENBUS_TYPE=$1 XENBUS_BASE_PATH=backend script=block \
        sh "$S/scripts/hotplug/block" add </dev/null >/dev/null 2>&1
}

host start >/dev/null 2>&1; ok $? "a private host starts"
host status | grep -q "^keel-blkback: running"; ok $? "keel-host status reports keel-blkback running"

# -- a raw file, read-write ---------------------------------------------------------------
IMG="$KEEL_RUNDIR/raw.img"
truncate -s 64M "$IMG"
add_dev vbd 7 51712 "$IMG" w
wait_until 10 state_is $BE/vbd/7/51712 2; ok $? "a new vbd goes to InitWait (2)"
d=$BE/vbd/7/51712
[ "$(xenstore-read $d/feature-flush-cache)$(xenstore-read $d/feature-barrier)$(xenstore-read $d/feature-persistent)" = 111 ]
ok $? "it offers flush, barrier and persistent grants"
[ "$(xenstore-read $d/max-ring-page-order)" = 4 ] && [ "$(xenstore-read $d/feature-max-indirect-segments)" -ge 11 ]
ok $? "it offers multi-page rings (order 4) and indirect segments"
not xenstore-read $d/sectors 2>/dev/null; ok $? "no sectors before the hotplug script said connected"
hotplug vbd 7 51712; ok $? "the block script accepts the file"
wait_until 10 key_is $d/sectors 131072; ok $? "sectors = 64 MiB / 512 once hotplug-status=connected"
[ "$(xenstore-read $d/info)" = 0 ] && [ "$(xenstore-read $d/sector-size)" = 512 ]; ok $? "info 0 and sector-size 512 for a read-write disk"
[ "$(xenstore-read $d/feature-discard)" = 1 ] && [ "$(xenstore-read $d/discard-granularity)" = 4096 ]; ok $? "discard offered on a file"
state_is $d 2; ok $? "still InitWait: the frontend has not initialised"
W1=$(worker_of vbd 7 51712)
[ -n "$W1" ] && kill -0 "$W1"; ok $? "the device has its own worker process ($W1)"
filtered() { grep -q "^Seccomp:[[:space:]]*2$" "/proc/$1/status" && grep -q "^NoNewPrivs:[[:space:]]*1$" "/proc/$1/status"; }
filtered "$W1"; ok $? "its target open, the worker runs under a seccomp filter (Seccomp: 2) with no_new_privs"
grep -q "^Max open files *$BB_NOFILE *$BB_NOFILE " "/proc/$W1/limits"; ok $? "and RLIMIT_NOFILE $BB_NOFILE (soft and hard)"
nfd=$(ls "/proc/$W1/fd" | wc -l)
[ "$nfd" -le 8 ]; ok $? "it holds only its own descriptors ($nfd: stdio, store, core, signalfd, target, io_uring)"

# -- mode r --------------------------------------------------------------------------------
ROIMG="$KEEL_RUNDIR/ro.img"
truncate -s 8M "$ROIMG"
add_dev vbd 7 51728 "$ROIMG" r
wait_until 10 state_is $BE/vbd/7/51728 2 && hotplug vbd 7 51728
wait_until 10 key_is $BE/vbd/7/51728/info 4; ok $? "mode r: info has VDISK_READONLY"
[ "$(xenstore-read $BE/vbd/7/51728/feature-discard)" = 0 ]; ok $? "mode r: no discard offered"
wait_until 5 grep -q "vbd 7/51728: target .*ro.img open read-only" "$BLOG"; ok $? "mode r: the target is opened read-only"

# -- a bad target --------------------------------------------------------------------------
add_dev vbd 7 51744 "$KEEL_RUNDIR/missing.img" w
wait_until 10 state_is $BE/vbd/7/51744 2
xenstore-write $BE/vbd/7/51744/hotplug-status connected     # a script that lied
wait_until 10 state_is $BE/vbd/7/51744 6; ok $? "a target that cannot be opened: the device goes to Closed (6)"
grep -q "vbd 7/51744: target .*missing.img.*No such file" "$BLOG"; ok $? "with a log line naming the device and the reason"
not hotplug vbd 7 51744 && [ "$(xenstore-read $BE/vbd/7/51744/hotplug-status)" = error ]; ok $? "the block script refuses a missing target too (hotplug-status=error)"

# -- a frontend already Initialised before the backend appears (a restore) -----------------
FE11=/local/domain/11/device/vbd/51712
xenstore-write $FE11/state 3 $FE11/ring-ref 8 $FE11/event-channel 5
truncate -s 8M "$KEEL_RUNDIR/fe3.img"
add_dev vbd 11 51712 "$KEEL_RUNDIR/fe3.img" r 3
wait_until 10 state_is $BE/vbd/11/51712 2; ok $? "frontend state 3 before the backend appeared: the backend still writes InitWait (2)"
hotplug vbd 11 51712
wait_until 10 state_is $BE/vbd/11/51712 6; ok $? "after the hotplug script it attaches from the frontend keys (a domain that does not exist: Closed)"
grep -q "vbd 11/51712: cannot map the 1 ring page(s) (ref 8" "$BLOG"; ok $? "the attach attempt is logged with the reference"
xenstore-rm $BE/vbd/11 /local/domain/11

# -- hotplug-status=error: the backend waits for the toolstack -----------------------------
add_dev vbd 8 51712 "$IMG" w
wait_until 10 state_is $BE/vbd/8/51712 2
xenstore-write $BE/vbd/8/51712/hotplug-error "test says no" $BE/vbd/8/51712/hotplug-status error
wait_until 5 grep -q "vbd 8/51712: the hotplug script failed" "$BLOG"; ok $? "hotplug-status=error is logged"
state_is $BE/vbd/8/51712 2 && not xenstore-read $BE/vbd/8/51712/sectors 2>/dev/null; ok $? "and the target is not opened"
xenstore-write $BE/vbd/8/51712/online 0 $BE/vbd/8/51712/state 5
wait_until 10 state_is $BE/vbd/8/51712 6; ok $? "the toolstack's close (online=0, state 5) ends in Closed (6)"
xenstore-rm $BE/vbd/8 /local/domain/8

# -- hostile frontends ---------------------------------------------------------------------
add_dev vbd 9 51712 "$IMG" w
wait_until 10 state_is $BE/vbd/9/51712 2 && xenstore-write $BE/vbd/9/51712/physical-device-path "$IMG" $BE/vbd/9/51712/hotplug-status connected
wait_until 10 xenstore-read $BE/vbd/9/51712/sectors
xenstore-write /local/domain/9/device/vbd/51712/state zzz
wait_until 10 state_is $BE/vbd/9/51712 6; ok $? "a frontend state that is garbage closes the device"
grep -q "vbd 9/51712: frontend state is not a xenbus state: closing the device" "$BLOG"; ok $? "with a log line naming domain 9 and the device"

add_dev vbd 9 51728 "$IMG" r
wait_until 10 state_is $BE/vbd/9/51728 2 && xenstore-write $BE/vbd/9/51728/physical-device-path "$IMG" $BE/vbd/9/51728/hotplug-status connected
wait_until 10 xenstore-read $BE/vbd/9/51728/sectors
xenstore-write /local/domain/9/device/vbd/51728/ring-ref abc /local/domain/9/device/vbd/51728/event-channel 5 /local/domain/9/device/vbd/51728/state 3
wait_until 10 state_is $BE/vbd/9/51728 6; ok $? "a ring-ref that is not a number closes the device"
grep -q "vbd 9/51728: frontend key ring-ref: not a number in range: closing" "$BLOG"; ok $? "logged with the key"

add_dev vbd 9 51744 "$IMG" r
wait_until 10 state_is $BE/vbd/9/51744 2 && xenstore-write $BE/vbd/9/51744/physical-device-path "$IMG" $BE/vbd/9/51744/hotplug-status connected
wait_until 10 xenstore-read $BE/vbd/9/51744/sectors
xenstore-write /local/domain/9/device/vbd/51744/ring-page-order 9 /local/domain/9/device/vbd/51744/state 3
wait_until 10 state_is $BE/vbd/9/51744 6; ok $? "a ring-page-order above the offered 4 closes the device"

$XL create -q examples/counter.cfg name=bbg 2>/dev/null; ok $? "a real guest (counter: it grants nothing)"
g=$($XL domid bbg 2>/dev/null)
add_dev vbd "$g" 51712 "$IMG" r
wait_until 10 state_is $BE/vbd/$g/51712 2 && xenstore-write $BE/vbd/$g/51712/physical-device-path "$IMG" $BE/vbd/$g/51712/hotplug-status connected
wait_until 10 xenstore-read $BE/vbd/$g/51712/sectors
xenstore-write /local/domain/$g/device/vbd/51712/ring-ref 77 /local/domain/$g/device/vbd/51712/event-channel 9 \
    /local/domain/$g/device/vbd/51712/state 3
wait_until 10 state_is $BE/vbd/$g/51712 6; ok $? "a ring grant reference the guest never granted closes the device"
grep -q "vbd $g/51712: cannot map the 1 ring page(s) (ref 77" "$BLOG"; ok $? "logged with the domain, device and reference"

kill -0 "$(bbpid)" && kill -0 "$W1" && state_is $d 2; ok $? "the daemon and the other devices go on"

# -- a worker that crashes ----------------------------------------------------------------
W2=$(worker_of vbd 7 51728)
kill -KILL "$W2"
wait_until 10 state_is $BE/vbd/7/51728 6; ok $? "a worker that dies (SIGKILL): its device is marked Closed"
grep -q "vbd 7/51728: worker $W2 killed by signal 9: device marked Closed (not restarted)" "$BLOG"; ok $? "the parent logs it"
kill -0 "$W1"; ok $? "the other workers are untouched"

# -- close on the toolstack's request -----------------------------------------------------
xenstore-write $d/online 0 $d/state 5
wait_until 10 state_is $d 6; ok $? "online=0 and state 5: the backend closes (6)"
wait_until 5 not kill -0 "$W1"; ok $? "and its worker exits"
grep -q "vbd 7/51712: worker $W1 finished" "$BLOG"; ok $? "a normal end, logged"

# -- qcow2 through qemu-nbd ----------------------------------------------------------------
if command -v qemu-img >/dev/null && command -v qemu-nbd >/dev/null; then
    Q="$KEEL_RUNDIR/disk.qcow2"
    qemu-img create -q -f qcow2 "$Q" 32M
    add_dev qdisk 7 51760 "qcow2:$Q" w
    xenstore-write $BE/qdisk/7/51760/type qdisk
    wait_until 10 state_is $BE/qdisk/7/51760 2; ok $? "a qdisk goes to InitWait"
    hotplug qdisk 7 51760; ok $? "the block script accepts the qcow2 image"
    wait_until 20 key_is $BE/qdisk/7/51760/sectors 65536; ok $? "qcow2: sectors = the virtual size (32 MiB) read through qemu-nbd"
    QW=$(worker_of qdisk 7 51760)
    QN=$(cat /proc/$QW/task/*/children 2>/dev/null | tr -s " " "\n" | head -1)
    [ -n "$QN" ] && [ "$(cat /proc/$QN/comm 2>/dev/null)" = qemu-nbd ]; ok $? "a qemu-nbd child serves the image"
    filtered "$QW"; ok $? "the qdisk worker runs under its seccomp filter too"
    # the paths of qemu-nbd's unix sockets (from /proc/net/unix) no longer exist
    socks=$(ls -l /proc/$QN/fd 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p')
    lpath=$(for i in $socks; do awk -v i="$i" '$7 == i && $8 != "" { print $8 }' /proc/net/unix; done)
    [ -n "$socks" ] && (for p in $lpath; do [ ! -e "$p" ] || exit 1; done); ok $? "libnbd's socket was removed before the filter ($(echo $lpath | cut -d' ' -f1))"
    add_dev qdisk 7 51776 "vmdk2:$Q" w
    wait_until 10 state_is $BE/qdisk/7/51776 2 && xenstore-write $BE/qdisk/7/51776/hotplug-status connected
    wait_until 10 state_is $BE/qdisk/7/51776 6; ok $? "an unknown format closes the device"
    grep -q "qdisk 7/51776: target vmdk2:.*not <format>:<absolute path> with a known format" "$BLOG"; ok $? "logged"
    xenstore-write $BE/qdisk/7/51760/online 0 $BE/qdisk/7/51760/state 5
    wait_until 10 state_is $BE/qdisk/7/51760 6; ok $? "qdisk closes"
    wait_until 10 not kill -0 "$QN"; ok $? "its qemu-nbd is gone"
else
    skip "qdisk" "qemu-utils not installed"
fi

# -- kill -9 and restart ------------------------------------------------------------------
IMG10="$KEEL_RUNDIR/raw10.img"
truncate -s 64M "$IMG10"
add_dev vbd 10 51712 "$IMG10" w
wait_until 10 state_is $BE/vbd/10/51712 2 && hotplug vbd 10 51712
wait_until 10 xenstore-read $BE/vbd/10/51712/sectors
OLD=$(bbpid); OW=$(worker_of vbd 10 51712)
kill -9 "$OLD"
wait_until 5 not kill -0 "$OW"; ok $? "kill -9 of the daemon: its workers die with it"
wait_until 5 not running "$OLD"
xenstore-rm $BE/vbd/10/51712/sectors
host start >/dev/null 2>&1; ok $? "keel-host start starts it again"
wait_until 10 key_is $BE/vbd/10/51712/sectors 131072; ok $? "the restarted daemon re-attaches (target opened again, sectors published)"
state_is $BE/vbd/10/51712 2; ok $? "the device is in InitWait again"
[ "$(grep -c "vbd 7/51712: worker [0-9]* started" "$BLOG")" = 1 ]; ok $? "a Closed device gets no new worker"

# -- xl block-attach / block-detach against it --------------------------------------------
ATT="$KEEL_RUNDIR/att.img"
truncate -s 16M "$ATT"
$XL block-attach bbg "format=raw,vdev=xvdb,access=rw,target=$ATT" >/dev/null 2>"$KEEL_RUNDIR/att.err"
ok $? "xl block-attach of a raw file to a running guest"
wait_until 10 key_is $BE/vbd/$g/51728/sectors 32768; ok $? "the backend serves it (sectors published)"
$XL block-list bbg 2>/dev/null | grep -q 51728; ok $? "xl block-list shows it"
$XL block-detach bbg xvdb >/dev/null 2>&1; ok $? "xl block-detach"
not xenstore-read $BE/vbd/$g/51728/state 2>/dev/null; ok $? "nothing is left in the backend directory"
wait_until 5 grep -q "vbd $g/51728: worker [0-9]* finished" "$BLOG"; ok $? "its worker finished"


# -- end to end: diskcheck guests (guests/diskcheck over rt_blkfront) -----------------------
# gcfg NAME EXTRA DISKSPEC: a diskcheck guest with one disk; prints its domid
gcfg() {
    printf 'name = "%s"\nkernel = "diskcheck"\nmemory = 96\nvcpus = 1\nextra = "%s"\ndisk = [%s]\non_poweroff = "destroy"\non_crash = "destroy"\n' \
        "$1" "$2" "'$3'" >"$KEEL_RUNDIR/$1.cfg"
    $XL create -q "$KEEL_RUNDIR/$1.cfg" >/dev/null 2>"$KEEL_RUNDIR/$1.err" || sed 's/^/# /' "$KEEL_RUNDIR/$1.err"
    $XL domid "$1" 2>/dev/null
}
out() { $XL dmesg 2>/dev/null | sed -n "s/^(d$1) //p"; }
has() { out "$1" | grep -q "$2"; }
gone() { not $XL list "$1"; }
connected_twice() { [ "$(grep -c "vbd $1/51712: connected: .*resuming" "$BLOG")" -ge 2 ]; }
if [ -x "$B/guests/diskcheck" ] && command -v python3 >/dev/null; then
    python3 "$S/tests/diskpattern.py" 32 11 "$KEEL_RUNDIR/pat11" && python3 "$S/tests/diskpattern.py" 32 12 "$KEEL_RUNDIR/pat12"
    RAW="$KEEL_RUNDIR/e2e.img"
    truncate -s 32M "$RAW"
    # without persistent grants: every request's segments go through the copy path
    dr=$(gcfg e2eraw "size=32 seed=11 qd=16 bs=64 persistent=0" "format=raw,vdev=xvda,access=rw,target=$RAW")
    wait_until 120 has "$dr" "diskcheck: \(ok\|FAIL\)"
    has "$dr" "diskcheck: ok wrote 32 MiB verified 32 MiB seed 11"; ok $? "raw: the guest writes, flushes, reads back and verifies 32 MiB ($(out "$dr" | grep 'diskcheck: \(ok\|FAIL\)' | head -1))"
    wait_until 20 gone e2eraw
    cmp -s -n 33554432 "$RAW" "$KEEL_RUNDIR/pat11"; ok $? "raw: the image holds the pattern (cmp from dom0)"
    grep -q "vbd $dr/51712: connected" "$BLOG" && not grep -q "vbd $dr/51712: persistent grants in use" "$BLOG"
    ok $? "raw: that guest used per-request grants (the grant-copy data path)"
    Q2="$KEEL_RUNDIR/e2e.qcow2"
    qemu-img create -q -f qcow2 "$Q2" 32M
    dq=$(gcfg e2eq "size=32 seed=12 qd=16 bs=64" "format=qcow2,vdev=xvda,access=rw,target=$Q2")
    wait_until 120 has "$dq" "diskcheck: \(ok\|FAIL\)"
    has "$dq" "diskcheck: ok wrote 32 MiB verified 32 MiB seed 12"; ok $? "qcow2: the guest writes, flushes, reads back and verifies 32 MiB ($(out "$dq" | grep 'diskcheck: \(ok\|FAIL\)' | head -1))"
    wait_until 20 gone e2eq
    qemu-img compare -q -f qcow2 -F raw "$Q2" "$KEEL_RUNDIR/pat12"; ok $? "qcow2: qemu-img compare finds the pattern in the image"
    [ "$(qemu-img info --output=json "$Q2" | grep -c '"format": "qcow2"')" -ge 1 ]; ok $? "qcow2: the image is still a qcow2 (written through qemu, not raw)"
    # kill -9 of the backend under a running diskcheck loop: it re-attaches, nothing is lost
    RK="$KEEL_RUNDIR/kill.img"
    truncate -s 16M "$RK"
    dk=$(gcfg e2ekill "size=16 seed=20 loop=0 qd=32 bs=64" "format=raw,vdev=xvda,access=rw,target=$RK")
    wait_until 60 has "$dk" "diskcheck: pass 0 seed 20 ok"; ok $? "a diskcheck loop runs (pass 0 verified)"
    sleep 0.3
    OLD=$(bbpid)
    kill -9 "$OLD"
    wait_until 5 not running "$OLD"
    host start >/dev/null 2>&1; ok $? "keel-blkback killed with -9 in the middle of the loop and started again"
    wait_until 20 connected_twice "$dk"
    ok $? "it re-attaches to the running guest's ring ($(grep "vbd $dk/51712: connected" "$BLOG" | tail -1 | sed 's/.*connected: //'))"
    p=$(out "$dk" | sed -n 's/.*diskcheck: pass \([0-9]*\) seed [0-9]* ok.*/\1/p' | tail -1)
    wait_until 90 has "$dk" "diskcheck: pass $((p + 2)) seed"; ok $? "two more passes complete after the restart"
    not has "$dk" "diskcheck: FAIL"; ok $? "and every pass verified: no write the guest saw completed was lost"
    $XL destroy e2ekill >/dev/null 2>&1
    wait_until 20 gone e2ekill
    wait_until 10 not xenstore-read $BE/vbd/$dk/51712/state; ok $? "destroy leaves nothing in the backend directory"
    # keel-stored killed with -9 and started again under a running diskcheck loop: keel-blkback
    # stays, reconnects, and a new worker re-attaches to the ring
    RS="$KEEL_RUNDIR/store.img"
    truncate -s 16M "$RS"
    ds=$(gcfg e2estore "size=16 seed=21 loop=0 qd=32 bs=64 persistent=0" "format=raw,vdev=xvda,access=rw,target=$RS")
    wait_until 60 has "$ds" "diskcheck: pass 0 seed 21 ok"; ok $? "a second diskcheck loop runs (pass 0 verified)"
    BBP=$(bbpid); STP=$(cat "$KEEL_RUNDIR/xenstored/keel-stored.pid")
    kill -9 "$STP"
    wait_until 5 not running "$STP"
    host start >/dev/null 2>&1; ok $? "keel-stored killed with -9 in the middle of the loop and started again"
    wait_until 20 grep -q "blkback: store connection back" "$BLOG"; ok $? "keel-blkback reconnects to the store"
    [ "$(bbpid)" = "$BBP" ] && running "$BBP"; ok $? "it is the same keel-blkback process"
    wait_until 20 connected_twice "$ds"
    ok $? "a new worker re-attaches to the guest's ring ($(grep "vbd $ds/51712: connected" "$BLOG" | tail -1 | sed 's/.*connected: //'))"
    p=$(out "$ds" | sed -n 's/.*diskcheck: pass \([0-9]*\) seed [0-9]* ok.*/\1/p' | tail -1)
    wait_until 90 has "$ds" "diskcheck: pass $((p + 2)) seed"; ok $? "two more passes complete after the store restart"
    not has "$ds" "diskcheck: FAIL"; ok $? "and every pass verified"
    $XL destroy e2estore >/dev/null 2>&1
    wait_until 20 gone e2estore
    wait_until 10 not xenstore-read $BE/vbd/$ds/51712/state; ok $? "destroy after the store restart leaves nothing in the backend directory"
else
    skip "end to end" "guests/diskcheck not built"
fi

host stop >/dev/null 2>&1; ok $? "the host stops"
host status 2>/dev/null | grep -q "^keel-blkback: stopped"; ok $? "keel-blkback is stopped with it"
[ -z "$(workers)" ]; ok $? "no worker is left"
[ "$failed" -eq 0 ] || sed 's/^/# /' "$BLOG"
done_tap
