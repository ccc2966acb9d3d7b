#!/bin/sh
# bench-vtpm.sh [N] [RUNS] [INSTANCES] - the vTPM's round trips, creation time and memory.
# 1. Round trips of TPM2_GetRandom(32) and TPM2_PCR_Extend(PCR 23) from a guest through the
#    tpmif frontend (tpmcheck bench=N runs=RUNS, timed with the guest's clock, rt_now) against
#    the same commands sent by bench-vtpm-ref to Debian's swtpm over its Unix socket in the same
#    run (and, for the record, to the same guest's keel-vtpmd instance over its dom0 socket).
# 2. Time to create a vTPM: xl vtpm-attach on a paused guest, which returns once keel-vtpmd has
#    started the instance (a new TPM manufactured: fresh uuid each time) and gone InitWait,
#    against starting swtpm until its socket answers TPM2_Startup (also a new TPM each time).
# 3. Memory per vTPM instance: the proportional set size (Pss, /proc/PID/smaps_rollup) of
#    keel-vtpmd's instance processes with INSTANCES vtpms attached, per instance, against
#    swtpm's process with one TPM started.
# Prints per figure the median and spread (min-max) of both sides and the ratio keel/swtpm.
# Run as root from the build directory: KEEL_BUILDDIR=$PWD sh ../bench/bench-vtpm.sh 200 5 8
set -u
N=${1:-200}
RUNS=${2:-5}
INST=${3:-8}
B=${KEEL_BUILDDIR:-$PWD}
[ -x "$B/hypervisor/keel-hv" ] || { echo "bench-vtpm.sh: $B is not a build directory (run it from one, or set KEEL_BUILDDIR)" >&2; exit 1; }
S=${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
XL="$B/cli/xl"
REF="$B/bench/bench-vtpm-ref"
command -v swtpm >/dev/null 2>&1 || { echo "bench-vtpm.sh: swtpm (Debian's swtpm package) is needed for the reference" >&2; exit 1; }

BASE=$(mktemp -d /tmp/keel-benchvtpm-XXXXXX) || exit 1
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_VTPMD="$B/daemons/vtpm/keel-vtpmd"
export KEEL_GUESTDIR="$B/guests" KEEL_BLKBACK=none KEEL_NETBACK=none
export KEEL_RUNDIR="$BASE/host" XENSTORED_PATH="$BASE/host/xenstored/socket"
export KEEL_STATEDIR="$BASE/state"
mkdir -p "$KEEL_RUNDIR" "$KEEL_STATEDIR"
SWPID=
cleanup() {
    [ -n "$SWPID" ] && kill "$SWPID" 2>/dev/null
    sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    rm -rf "$BASE"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now_ns() { date +%s%N; }
# stats NAME VALUES...: "median min max" of the values
stats() {
    shift
    printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%d %d %d", v[int((NR+1)/2)], v[1], v[NR]}'
}
line() { # FIGURE UNIT "KEEL-STATS" "REF-STATS"
    set -- "$1" "$2" $3 $4
    awk -v f="$1" -v u="$2" -v km="$3" -v kl="$4" -v kh="$5" -v rm="$6" -v rl="$7" -v rh="$8" 'BEGIN {
        printf "%-26s keel %9d %s (%d-%d)   swtpm %9d %s (%d-%d)   ratio %.2f\n",
               f, km, u, kl, kh, rm, u, rl, rh, rm ? km / rm : 0 }'
}

# swtpm in DIR, started and answering on DIR/srv.sock; its pid in SWPID
swtpm_start() {
    mkdir -p "$1"
    swtpm socket --tpm2 --tpmstate dir="$1" --server type=unixio,path="$1/srv.sock" \
        --ctrl type=unixio,path="$1/ctrl.sock" --flags not-need-init,startup-clear \
        >"$1/log" 2>&1 &
    SWPID=$!
    t=400
    while [ $t -gt 0 ] && ! [ -S "$1/srv.sock" ]; do sleep 0.005; t=$((t - 1)); done
}
swtpm_stop() { kill "$SWPID" 2>/dev/null; wait "$SWPID" 2>/dev/null; SWPID=; }

sh "$S/scripts/keel-host" start >/dev/null || { echo "bench-vtpm: keel-host start failed" >&2; exit 1; }
[ -S "$KEEL_RUNDIR/vtpm/control" ] || { echo "bench-vtpm: keel-vtpmd is not running" >&2; exit 1; }

# ---- 1. round trips ----
cat >"$KEEL_RUNDIR/tb.cfg" <<CFG
name = "tb"
kernel = "tpmcheck"
memory = 32
vcpus = 1
extra = "bench=$N runs=$RUNS ${KEEL_BENCH_GUEST_ARGS:-}"
vtpm = [ "backend=0" ]
on_poweroff = "preserve"
CFG
"$XL" create -q "$KEEL_RUNDIR/tb.cfg" || exit 1
d=$("$XL" domid tb)
t=0
until "$XL" dmesg | grep -q "(d$d) tpmcheck: \(done\|FAIL\)"; do
    sleep 0.5; t=$((t + 1)); [ $t -gt 600 ] && { echo "bench-vtpm: guest timed out" >&2; exit 1; }
done
"$XL" dmesg | grep -q "(d$d) tpmcheck: FAIL" && { "$XL" dmesg | grep "(d$d)" >&2; exit 1; }
g=$("$XL" dmesg | sed -n "s/^(d$d) tpmcheck: result //p")
swtpm_start "$BASE/sw1"
r=$("$REF" "$BASE/sw1/srv.sock" "$N" "$RUNS" startup | sed -n 's/^ref: result //p') || exit 1
swtpm_stop
"$XL" destroy tb
echo "bench-vtpm: $N round trips x $RUNS runs; ns per command (median, min-max over runs)"
for f in getrandom_ns pcr_extend_ns; do
    line "guest $f" ns "$(echo "$g" | sed -n "s/^$f //p")" "$(echo "$r" | sed -n "s/^$f //p")"
done
# the same guest TPM from dom0 (a fresh vtpm: its instance socket), for the record
"$XL" create -q -p "$KEEL_RUNDIR/tb.cfg" name=tb2 || exit 1
d=$("$XL" domid tb2)
dm=$("$REF" "$KEEL_RUNDIR/vtpm/$d.0.sock" "$N" "$RUNS" startup | sed -n 's/^ref: result //p')
swtpm_start "$BASE/sw2"
r=$("$REF" "$BASE/sw2/srv.sock" "$N" "$RUNS" startup | sed -n 's/^ref: result //p')
swtpm_stop
for f in getrandom_ns pcr_extend_ns; do
    line "dom0 socket $f" ns "$(echo "$dm" | sed -n "s/^$f //p")" "$(echo "$r" | sed -n "s/^$f //p")"
done
"$XL" destroy tb2

# ---- 2. creation ----
cat >"$KEEL_RUNDIR/tc.cfg" <<CFG
name = "tc"
kernel = "tpmcheck"
memory = 16
vcpus = 1
CFG
"$XL" create -q -p "$KEEL_RUNDIR/tc.cfg" || exit 1
kc=""; sc=""
for i in $(seq 1 "$RUNS"); do
    t0=$(now_ns)
    "$XL" vtpm-attach tc >/dev/null || exit 1
    t1=$(now_ns)
    kc="$kc $(( (t1 - t0) / 1000 ))"
    "$XL" vtpm-detach tc "$("$XL" vtpm-list tc | awk 'NR==2 {print $1}')" >/dev/null
    t0=$(now_ns)
    swtpm_start "$BASE/sc$i"
    "$REF" "$BASE/sc$i/srv.sock" 1 1 startup >/dev/null || exit 1
    t1=$(now_ns)
    swtpm_stop
    sc="$sc $(( (t1 - t0) / 1000 ))"
done
line "create a vTPM" us "$(stats x $kc)" "$(stats x $sc)"
"$XL" destroy tc

# ---- 3. memory ----
vtpmd=$(cat "$KEEL_RUNDIR/vtpm/keel-vtpmd.pid")
for i in $(seq 1 "$INST"); do
    sed "s/^name = .*/name = \"tm$i\"/" "$KEEL_RUNDIR/tc.cfg" >"$KEEL_RUNDIR/tm.cfg"
    echo 'vtpm = [ "backend=0" ]' >>"$KEEL_RUNDIR/tm.cfg"
    "$XL" create -q -p "$KEEL_RUNDIR/tm.cfg" || exit 1
done
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
kids=$(ps -o pid= --ppid "$vtpmd")
kp=""
for p in $kids; do v=$(pss "$p"); [ -n "$v" ] && kp="$kp $v"; done
nk=$(echo $kp | wc -w)
[ "$nk" -ge 1 ] || { echo "bench-vtpm: no instance processes under keel-vtpmd ($vtpmd)" >&2; exit 1; }
swtpm_start "$BASE/sm"
"$REF" "$BASE/sm/srv.sock" 1 1 startup >/dev/null
sp=$(pss "$SWPID")
swtpm_stop
echo "bench-vtpm: $INST vtpms attached, $nk instance processes; manager itself $(pss "$vtpmd") KiB Pss"
line "memory per instance (Pss)" KiB "$(stats x $kp)" "$sp $sp $sp"
for i in $(seq 1 "$INST"); do "$XL" destroy "tm$i"; done
