#!/bin/sh
# bench-blk.sh [RUNS] [SIZE_MIB] [BS_KIB] - PV block throughput and IOPS: the diskbench guest on a
# raw image (keel-blkback, io_uring, O_DIRECT) against the same access patterns from dom0 on the
# same image file (bench-blk-ref: io_uring, O_DIRECT). Starts a private host (scripts/keel-host in
# a fresh KEEL_RUNDIR), creates the guest with disk=['format=raw,vdev=xvda,access=rw,target=IMG'],
# reads its result lines from `xl dmesg`, then runs the reference on the image. Prints per figure
# the guest's and dom0's median and spread (min-max over RUNS rounds) and the ratio guest/dom0.
# Run as root from the build directory: KEEL_BUILDDIR=$PWD sh ../bench/bench-blk.sh 5 256
# The image goes to $KEEL_BENCH_DIR (default /var/tmp: a disk file system, where O_DIRECT works).
set -u
RUNS=${1:-5}
SIZE=${2:-256}
BS=${3:-1024}
TIME_MS=${KEEL_BENCH_TIME_MS:-2000}
SEQQD=8
B=${KEEL_BUILDDIR:-$PWD}
S=${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
XL="$B/cli/xl"

KEEL_RUNDIR=$(mktemp -d /tmp/keel-benchblk-XXXXXX) || exit 1
IMG=$(mktemp "${KEEL_BENCH_DIR:-/var/tmp}/keel-bench-blk-XXXXXX.img") || exit 1
export KEEL_RUNDIR
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_BLKBACK="$B/daemons/blkback/keel-blkback"
export XENSTORED_PATH="$KEEL_RUNDIR/xenstored/socket" KEEL_GUESTDIR="$B/guests"
export KEEL_SCRIPTDIR="$S/scripts/hotplug"
cleanup() {
    sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    rm -rf "$KEEL_RUNDIR" "$IMG"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

truncate -s $((SIZE + 16))M "$IMG" || exit 1
sh "$S/scripts/keel-host" start >/dev/null || { echo "bench-blk: keel-host start failed" >&2; exit 1; }
cat >"$KEEL_RUNDIR/diskbench.cfg" <<EOF
name = "diskbench"
kernel = "diskbench"
memory = 128
vcpus = 1
extra = "size=$SIZE bs=$BS seqqd=$SEQQD time=$TIME_MS runs=$RUNS"
disk = ['format=raw,vdev=xvda,access=rw,target=$IMG']
on_poweroff = "preserve"
on_crash = "preserve"
EOF
"$XL" create -q "$KEEL_RUNDIR/diskbench.cfg" || { echo "bench-blk: xl create failed" >&2; exit 1; }
domid=$("$XL" domid diskbench 2>/dev/null)
# each round: two sequential sweeps and two timed random phases; allow 60 s per round
t=$((RUNS * 60 + 30))
while [ "$t" -gt 0 ]; do
    "$XL" dmesg | grep -q "(d$domid) diskbench: \(done\|FAIL\)" && break
    sleep 1
    t=$((t - 1))
done
guest=$("$XL" dmesg | sed -n "s/^(d$domid) diskbench: //p")
echo "$guest" | sed 's/^/guest: /'
if ! echo "$guest" | grep -q '^done'; then
    echo "bench-blk: the guest did not finish (see above)" >&2
    exit 1
fi
"$XL" destroy diskbench >/dev/null 2>&1
sh "$S/scripts/keel-host" stop >/dev/null 2>&1     # the image is closed before dom0 uses it
ref=$("$B/bench/bench-blk-ref" "$IMG" "$SIZE" "$BS" "$SEQQD" "$TIME_MS" "$RUNS") || exit 1
echo "$ref"

echo
printf '%-20s %28s %28s %8s\n' figure "guest median (min-max)" "dom0 median (min-max)" ratio
for name in seqwrite_kibps seqread_kibps randread_qd1_iops randread_qd32_iops; do
    g=$(echo "$guest" | awk -v n="$name" '$1 == "result" && $2 == n {print $3, $4, $5}')
    d=$(echo "$ref" | awk -v n="$name" '$2 == "result" && $3 == n {print $4, $5, $6}')
    echo "$g $d" | awk -v n="$name" '{
        r = ($4 > 0) ? $1 / $4 : 0
        printf "%-20s %12s (%s-%s) %12s (%s-%s) %8.2f\n", n, $1, $2, $3, $4, $5, $6, r }'
done
echo "(kibps = KiB/s; iops = 4 KiB random reads per second; ratio = guest/dom0, goal >= 0.9 for"
echo " throughput and for IOPS at depth 32)"
