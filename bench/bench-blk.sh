#!/bin/sh
# bench-blk.sh [RUNS] [SIZE_MIB] [BS_KIB] - PV block throughput and IOPS: the diskbench guest on a
# raw image (keel-blkback, io_uring, O_DIRECT) against the same access patterns from dom0 on the
# same image file (bench-blk-ref: io_uring, O_DIRECT). The image is written in full first (so
# no side writes into unallocated blocks). dom0's reference runs RUNS rounds before the guest and
# RUNS rounds after it (its figures are over both halves, so neither side profits from running
# first or last). The guest runs once per grant mode in $KEEL_BENCH_MODES (default "persistent
# per-request": feature-persistent negotiated, then the frontend told persistent=0), each in a
# private host (scripts/keel-host in a fresh KEEL_RUNDIR) with
# disk=['format=raw,vdev=xvda,access=rw,target=IMG']; its result lines come from `xl dmesg` and
# are timed with the guest's own clock (rt_now: the shared page's TSC scale), which is first
# checked against dom0's: the guest sleeps 3 s by its clock between two lines. Prints per figure
# and mode the guest's and dom0's median and spread (min-max over the rounds) and the ratio
# guest/dom0.
# Run as root from the build directory: KEEL_BUILDDIR=$PWD sh ../bench/bench-blk.sh 5 256
# The image goes to $KEEL_BENCH_DIR (default /var/tmp: a disk file system, where O_DIRECT works).
set -u
RUNS=${1:-5}
SIZE=${2:-256}
BS=${3:-1024}
TIME_MS=${KEEL_BENCH_TIME_MS:-2000}
MODES=${KEEL_BENCH_MODES:-persistent per-request}
SEQQD=8
CLOCK_MS=3000
B=${KEEL_BUILDDIR:-$PWD}
[ -x "$B/hypervisor/keel-hv" ] || { echo "bench-blk.sh: $B is not a build directory (run it from one, or set KEEL_BUILDDIR)" >&2; exit 1; }
S=${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
XL="$B/cli/xl"

BASE=$(mktemp -d /tmp/keel-benchblk-XXXXXX) || exit 1
IMG=$(mktemp "${KEEL_BENCH_DIR:-/var/tmp}/keel-bench-blk-XXXXXX.img") || exit 1
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_BLKBACK="$B/daemons/blkback/keel-blkback"
export KEEL_GUESTDIR="$B/guests" KEEL_SCRIPTDIR="$S/scripts/hotplug"
KEEL_RUNDIR=
cleanup() {
    [ -n "$KEEL_RUNDIR" ] && sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    rm -rf "$BASE" "$IMG"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

dd if=/dev/zero of="$IMG" bs=1M count=$((SIZE + 16)) oflag=direct status=none || exit 1
sync

ref() {
    "$B/bench/bench-blk-ref" "$IMG" "$SIZE" "$BS" "$SEQQD" "$TIME_MS" "$RUNS" || exit 1
}

# guest MODE: runs diskbench in a fresh host, prints its diskbench lines
guest() {
    extra="size=$SIZE bs=$BS seqqd=$SEQQD time=$TIME_MS runs=$RUNS clockcheck=$CLOCK_MS"
    [ "$1" = per-request ] && extra="$extra persistent=0"
    KEEL_RUNDIR=$(mktemp -d "$BASE/host-XXXXXX") || exit 1
    export KEEL_RUNDIR XENSTORED_PATH="$KEEL_RUNDIR/xenstored/socket"
    sh "$S/scripts/keel-host" start >/dev/null || { echo "bench-blk: keel-host start failed" >&2; exit 1; }
    cat >"$KEEL_RUNDIR/diskbench.cfg" <<CFG
name = "diskbench"
kernel = "diskbench"
memory = 128
vcpus = 1
extra = "$extra"
disk = ['format=raw,vdev=xvda,access=rw,target=$IMG']
on_poweroff = "preserve"
on_crash = "preserve"
CFG
    "$XL" create -q "$KEEL_RUNDIR/diskbench.cfg" || { echo "bench-blk: xl create failed" >&2; exit 1; }
    domid=$("$XL" domid diskbench 2>/dev/null)
    # the guest sleeps CLOCK_MS by its own clock between two lines: time them with dom0's
    t0= t1= t=200
    while [ -z "$t1" ] && [ "$t" -gt 0 ]; do
        d=$("$XL" dmesg)
        now=$(date +%s%N)
        [ -z "$t0" ] && echo "$d" | grep -q "(d$domid) diskbench: clock start" && t0=$now
        [ -n "$t0" ] && echo "$d" | grep -q "(d$domid) diskbench: clock end" && t1=$now
        sleep 0.02
        t=$((t - 1))
    done
    [ -n "$t1" ] && echo "clock: guest $CLOCK_MS ms took $(( (t1 - t0) / 1000000 )) ms by dom0's clock (polled every ~30 ms)"
    t=$((RUNS * 60 + 30))              # per round: two sweeps and two timed phases
    while [ "$t" -gt 0 ]; do
        "$XL" dmesg | grep -q "(d$domid) diskbench: \(done\|FAIL\)" && break
        sleep 1
        t=$((t - 1))
    done
    "$XL" dmesg | sed -n "s/^(d$domid) diskbench: //p"
    "$XL" destroy diskbench >/dev/null 2>&1
    grep -h "persistent grants\|per-request grants" "$KEEL_RUNDIR/blkback/keel-blkback.log" |
        sed 's/^/backend: /'
    sh "$S/scripts/keel-host" stop >/dev/null 2>&1   # the image is closed before dom0 uses it
    KEEL_RUNDIR=
}

# stats NAME < "... run R name=V ..." lines: median min max
stats() {
    tr ' ' '\n' | sed -n "s/^$1=//p" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR]; else print 0, 0, 0 }'
}

ref1=$(ref)
echo "$ref1"
for m in $MODES; do
    out=$(guest "$m")
    echo "$out" | sed "s/^/guest ($m): /"
    if ! echo "$out" | grep -q '^done'; then
        echo "bench-blk: the guest did not finish (see above)" >&2
        exit 1
    fi
    eval "g_$(echo "$m" | tr -d -)=\$out"
done
ref2=$(ref)
echo "$ref2"
runs=$(printf '%s\n%s\n' "$ref1" "$ref2" | grep '^dom0: run')

echo
printf '%-20s %-12s %30s %30s %6s\n' figure grants "guest median (min-max)" \
    "dom0 median (min-max)" ratio
for name in seqwrite_kibps seqread_kibps randread_qd1_iops randread_qd32_iops; do
    d=$(echo "$runs" | stats "$name")
    for m in $MODES; do
        eval "out=\$g_$(echo "$m" | tr -d -)"
        g=$(echo "$out" | grep '^run' | stats "$name")
        echo "$g $d" | awk -v n="$name" -v m="$m" '{
            r = ($4 > 0) ? $1 / $4 : 0
            printf "%-20s %-12s %12s (%s-%s) %12s (%s-%s) %6.2f\n", n, m, $1, $2, $3, $4, $5, $6, r }'
    done
done
echo "(kibps = KiB/s; iops = 4 KiB random reads per second; dom0 over $((RUNS * 2)) rounds, before"
echo " and after the guests; ratio = guest/dom0, goal >= 0.9 for throughput and IOPS at depth 32)"
