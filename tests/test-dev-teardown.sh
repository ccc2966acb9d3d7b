#!/bin/sh
# test-dev-teardown.sh - destroying guests in the middle of disk I/O leaves nothing behind, on any
# side: two guests run diskcheck loop=0 (one on a raw image, one on a qcow2 image served through
# qemu-nbd), then `xl destroy` ends both while requests are in flight. Afterwards no keel-blkback
# worker and no qemu-nbd is left, no process holds either image open, no process maps a page of
# either guest's memory (memfds keel-d<N>-mem / -shared), the store holds no node of either guest
# (frontend, backend, /libxl bookkeeping) and the core and store daemon hold no more
# descriptors than before; a new guest then uses the same image read-write again.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"

RAW=$(mktemp /var/tmp/keel-teardown-XXXXXX.img) || exit 1
QC="$RAW.qcow2"
trap 'cleanup; rm -f "$RAW" "$QC"' EXIT
truncate -s 64M "$RAW"
qemu-img create -q -f qcow2 "$QC" 64M; ok $? "qemu-img makes a qcow2 image"

host start >/dev/null 2>&1; ok $? "keel-host starts the core, the store and keel-blkback"
bbpid=$(cat "$KEEL_RUNDIR/blkback/keel-blkback.pid" 2>/dev/null)
hvpid=$(cat "$KEEL_RUNDIR/keel-hv.pid" 2>/dev/null)
stpid=$(cat "$KEEL_RUNDIR/xenstored/keel-stored.pid" 2>/dev/null)
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
hv0=$(nfds "$hvpid"); st0=$(nfds "$stpid")

guest() { # NAME DISKSPEC
    cat >"$KEEL_RUNDIR/$1.cfg" <<CFG
name = "$1"
kernel = "diskcheck"
memory = 64
extra = "size=48 qd=32 bs=256 loop=0"
disk = ['$2']
on_crash = "preserve"
CFG
    $XL create -q "$KEEL_RUNDIR/$1.cfg" 2>"$KEEL_RUNDIR/$1.err" || sed 's/^/# /' "$KEEL_RUNDIR/$1.err"
    $XL domid "$1"
}
r=$(guest raw "format=raw,vdev=xvda,access=rw,target=$RAW")
q=$(guest qc "format=qcow2,vdev=xvda,access=rw,target=$QC")
[ -n "$r" ] && [ -n "$q" ]; ok $? "two guests with a raw and a qcow2 disk run diskcheck loop=0 (domains $r, $q)"
wait_until 60 sh -c "[ \$($XL dmesg | grep -c '^(d$r) diskcheck: pass') -ge 1 ] && [ \$($XL dmesg | grep -c '^(d$q) diskcheck: pass') -ge 1 ]"
ok $? "both complete verified passes"
$XL dmesg | grep -E "^\(d($r|$q)\) diskcheck: (pass|FAIL)" | tail -4 | sed 's/^/# /'
workers_before=$(pgrep -P "$bbpid" | wc -l)
[ "$workers_before" -ge 2 ]; ok $? "keel-blkback runs a worker per disk ($workers_before)"
# qemu-nbd processes serving our qcow2 image (matched on their command line, not on pgrep -f,
# which would also match the shell running the check)
nbds() { for p in $(pgrep -x qemu-nbd); do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
         grep -qF "$QC" && echo "$p"; done; }
[ -n "$(nbds)" ]; ok $? "a qemu-nbd serves the qcow2 image"
wmaps=$(for w in $(pgrep -P "$bbpid"); do grep -l "keel-d$r-mem" "/proc/$w/maps" 2>/dev/null; done)
[ -n "$wmaps" ]; ok $? "while it runs, a worker maps granted pages of the raw guest's memory"

$XL destroy raw && $XL destroy qc; ok $? "xl destroy ends both guests in the middle of their I/O"
not $XL list raw >/dev/null 2>&1 && not $XL list qc >/dev/null 2>&1; ok $? "neither is listed any more"
wait_until 10 sh -c "[ -z \"\$(pgrep -P $bbpid)\" ]"; ok $? "no keel-blkback worker is left"
t=0; while [ -n "$(nbds)" ] && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
[ -z "$(nbds)" ]; ok $? "no qemu-nbd is left"
holders() { for f in /proc/[0-9]*/fd/*; do l=$(readlink "$f" 2>/dev/null) || continue
            case "$l" in "$RAW"|"$QC") echo "${f%/fd/*}";; esac; done | sort -u; }
wait_until 10 sh -c "[ -z \"\$(for f in /proc/[0-9]*/fd/*; do readlink \$f; done 2>/dev/null | grep -Fx -e '$RAW' -e '$QC')\" ]"
ok $? "no process holds either image open"
holders | sed 's/^/# still open in /'
# (the memfd names repeat across hosts, so only this host's daemons and core are looked at)
cdpid=$(cat "$KEEL_RUNDIR/console/keel-consoled.pid" 2>/dev/null)
maps=$(for p in $hvpid $stpid $bbpid $cdpid; do
       grep -l -E "keel-d($r|$q)-(mem|shared)" "/proc/$p/maps" 2>/dev/null; done)
[ -z "$maps" ]; ok $? "neither the core nor a daemon maps a page of either guest's memory or shared area"
[ -n "$maps" ] && echo "# mapped in: $maps"
wait_until 5 sh -c "! xenstore-read /local/domain/$r/name && ! xenstore-read /local/domain/$q/name"
ok $? "the guests' store homes are gone"
[ -z "$(xenstore-list /local/domain/0/backend/vbd 2>/dev/null)$(xenstore-list /local/domain/0/backend/qdisk 2>/dev/null)" ] &&
    not xenstore-read /libxl/$r 2>/dev/null && not xenstore-read /libxl/$q 2>/dev/null
ok $? "no backend node and no /libxl bookkeeping is left"
wait_until 10 sh -c "[ \$(ls /proc/$hvpid/fd | wc -l) -le $hv0 ]"; ok $? "keel-hv holds no more descriptors than before ($hv0)"
wait_until 10 sh -c "[ \$(ls /proc/$stpid/fd | wc -l) -le $st0 ]"; ok $? "keel-stored holds no more descriptors than before ($st0)"

n2=$(guest again "format=raw,vdev=xvda,access=rw,target=$RAW")
wait_until 60 sh -c "$XL dmesg | grep -q '^(d$n2) diskcheck: pass'"; ok $? "a new guest uses the raw image read-write again and verifies"
$XL destroy again
done_tap
