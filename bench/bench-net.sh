#!/bin/sh
# bench-net.sh [RUNS [SECS]] - PV network throughput and latency against a veth reference, all in
# network namespaces this script creates (192.0.2.0/24 only), measured in one run:
#  - reference: two namespaces, each on a veth pair whose other end is a port of a bridge in a
#    third namespace (the same shape as two guests on two vifs of one bridge); bench-net-ref sends
#    UDP (1472-byte payloads: 1500-byte frames) and one TCP stream (64 KiB writes) from one to the
#    other for SECS, and measures the ping round trip from the bridge's namespace to one of them;
#  - guests: a private host (scripts/keel-host: core, store, keel-netback) in a namespace with a
#    bridge br0; two nettraffic guests (udpsend -> udpsink, tcpsend -> tcpsink) on vifs of br0;
#    ping from the host namespace to a netecho guest;
#  - concurrency: 1, 2 and 4 guest pairs at once (UDP), with the core's per-domain grant locks and
#    again with one global grant lock (KEEL_GRANT_GLOBAL_LOCK=1: the seed's comparison).
# Each figure is measured RUNS times (default 3) for SECS seconds (default 2); prints the median,
# min-max, the spread ((max-min)/median) and the ratio to the reference of the same run. The
# guests' figures are their own result lines (nettraffic times with the guest clock; the sink's
# figure is what arrived). Every step waits on a condition (a sink's "listening" line, a guest's
# result line), never a fixed sleep; guests of one step are created and destroyed in parallel.
# The defaults take about 2-3 minutes on a 2-CPU machine.
# Run as root from the build directory: KEEL_BUILDDIR=$PWD sh ../bench/bench-net.sh [RUNS [SECS]]
set -u
RUNS=${1:-3}
SECS=${2:-2}
T0=$(date +%s)
B=${KEEL_BUILDDIR:-$PWD}
S=${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
REF="$B/bench/bench-net-ref"
[ -x "$REF" ] && [ -x "$B/cli/xl" ] || {
    echo "bench-net.sh: run from a build directory (no $REF or $B/cli/xl); KEEL_BUILDDIR=..." >&2
    exit 1
}
P=kbn$$
NS_LIST="${P}h ${P}a ${P}b ${P}k"
cleanup() {
    [ -n "${KEEL_RUNDIR:-}" ] && ip netns exec "${P}k" sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    for n in $NS_LIST; do ip netns del "$n" 2>/dev/null; done
    [ -n "${KEEL_RUNDIR:-}" ] && rm -rf "$KEEL_RUNDIR"
    [ -n "${T:-}" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# median and min-max of the numbers on stdin: "MEDIAN MIN MAX"
stats() { grep . | sort -g | awk '{v[NR]=$1} END {if (!NR) {print "- - -"; exit} printf "%s %s %s\n", v[int((NR+1)/2)], v[1], v[NR]}'; }
field() { sed -n "s/.*[ :]$1=\([0-9.]*\).*/\1/p" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0 && a != "-") printf "%.2f", a / b; else print "-"}'; }

# ---- the veth reference ----
for n in $NS_LIST; do ip netns add "$n" || exit 1; done
ip -n "${P}h" link set lo up
ip -n "${P}h" link add br0 type bridge && ip -n "${P}h" link set br0 up
ip -n "${P}h" addr add 192.0.2.1/24 dev br0
for x in a b; do
    ip -n "${P}h" link add "v$x" type veth peer name eth0 netns "${P}$x"
    ip -n "${P}h" link set "v$x" master br0 up
    ip -n "${P}$x" link set lo up
    ip -n "${P}$x" link set eth0 up
done
ip -n "${P}a" addr add 192.0.2.11/24 dev eth0
ip -n "${P}b" addr add 192.0.2.12/24 dev eth0
ip netns exec "${P}h" "$REF" icmprtt 192.0.2.12 20 >/dev/null    # neighbours learnt

# until SECONDS CMD...: true once CMD succeeds, polled every 50 ms
until_ok() {
    t=$(($1 * 20)); shift
    while [ "$t" -gt 0 ]; do "$@" && return 0; sleep 0.05; t=$((t - 1)); done
    return 1
}
# ref PROTO: one reference stream from a to b; prints the sink's Mbit/s
ref() {
    : >"$T/sink"
    ip netns exec "${P}b" "$REF" "${1}sink" 5001 "$SECS" >"$T/sink" & sp=$!
    until_ok 10 grep -q listening "$T/sink" || echo "bench-net.sh: reference $1 sink not listening" >&2
    if [ "$1" = udp ]; then
        ip netns exec "${P}a" "$REF" udpsend 192.0.2.12 5001 1472 "$SECS" >/dev/null
    else
        ip netns exec "${P}a" "$REF" tcpsend 192.0.2.12 5001 65536 "$SECS" >/dev/null
    fi
    wait $sp
    field mbit <"$T/sink"
}
T=$(mktemp -d /tmp/keel-benchnet-XXXXXX) || exit 1
KEEL_RUNDIR=$T/run
mkdir -p "$KEEL_RUNDIR"
for r in $(seq "$RUNS"); do
    ref udp >>"$T/ref.udp"
    ref tcp >>"$T/ref.tcp"
    ip netns exec "${P}h" "$REF" icmprtt 192.0.2.12 500 | field median_us >>"$T/ref.rtt"
done

# ---- the guests: a host in namespace k with bridge br0 ----
K() { ip netns exec "${P}k" env KEEL_RUNDIR="$KEEL_RUNDIR" XENSTORED_PATH="$KEEL_RUNDIR/xenstored/socket" \
    KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored" \
    KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_BLKBACK=none \
    KEEL_NETBACK="$B/daemons/netback/keel-netback" KEEL_VTPMD=none \
    KEEL_GUESTDIR="$B/guests" KEEL_SCRIPTDIR="$S/scripts/hotplug" "$@"; }
ip -n "${P}k" link set lo up
ip -n "${P}k" link add br0 type bridge && ip -n "${P}k" addr add 192.0.2.1/24 dev br0 &&
    ip -n "${P}k" link set br0 up
host_start() { K sh "$S/scripts/keel-host" start >/dev/null 2>&1 || { echo "bench-net.sh: keel-host start failed" >&2; exit 1; }; }
host_stop() { K sh "$S/scripts/keel-host" stop >/dev/null 2>&1; }
out() { K "$B/cli/xl" dmesg | sed -n "s/^(d$1) //p"; }
# guest NAME KERNEL EXTRA: created paused with one vif on br0, unpaused; prints its domid
guest() {
    cat >"$KEEL_RUNDIR/$1.cfg" <<EOF
name = "$1"
kernel = "$2"
memory = 64
vcpus = 1
extra = "$3"
vif = [ 'bridge=br0' ]
on_poweroff = "preserve"
EOF
    K "$B/cli/xl" create -q "$KEEL_RUNDIR/$1.cfg" >/dev/null 2>&1 && K "$B/cli/xl" domid "$1"
}
# dmesg once into $T/dm; has DOMID TEXT: the guest printed TEXT (in the last dmesg)
dm() { K "$B/cli/xl" dmesg >"$T/dm" 2>/dev/null; }
has() { grep -q "^(d$1) .*$2" "$T/dm"; }
# all_have TEXT DOMID...: every domain printed TEXT (reads dmesg again)
all_have() {
    txt=$1; shift; dm
    for d in "$@"; do has "$d" "$txt" || return 1; done
}
gone() { for gn in "$@"; do K "$B/cli/xl" destroy "$gn" >/dev/null 2>&1 & done; wait; }
# create NAME KERNEL EXTRA in the background, domid into $T/id.NAME
bg_guest() { guest "$@" >"$T/id.$1" 2>/dev/null & }

# pairs N PROTO: N sender/sink pairs at once; prints the sum of the sinks' Mbit/s
pairs() {
    i=0; names=""
    while [ "$i" -lt "$1" ]; do
        bg_guest "k$i" nettraffic "ip=192.0.2.$((20 + i))/24 mode=${2}sink port=5001 secs=$SECS"
        names="$names k$i s$i"; i=$((i + 1))
    done
    wait
    sinks=""; i=0
    while [ "$i" -lt "$1" ]; do sinks="$sinks $(cat "$T/id.k$i")"; i=$((i + 1)); done
    # shellcheck disable=SC2086
    until_ok 30 all_have "${2}sink listening" $sinks || echo "bench-net.sh: a $2 sink is not listening" >&2
    i=0
    while [ "$i" -lt "$1" ]; do
        bg_guest "s$i" nettraffic "ip=192.0.2.$((60 + i))/24 mode=${2}send peer=192.0.2.$((20 + i)) port=5001 secs=$SECS size=1472"
        i=$((i + 1))
    done
    wait
    # shellcheck disable=SC2086
    until_ok $((SECS + 60)) all_have "nettraffic: sink:" $sinks || echo "bench-net.sh: a $2 sink did not finish" >&2
    sum=0
    for sk in $sinks; do
        m=$(grep "^(d$sk) nettraffic: sink:" "$T/dm" | field mbit)
        sum=$(awk -v a="$sum" -v b="${m:-0}" 'BEGIN {print a + b}')
    done
    # shellcheck disable=SC2086
    gone $names
    echo "$sum"
}

host_start
e=$(guest echo netecho "ip=192.0.2.10/24")
# ready: the guest said so and its backend is Connected (it answers an ARP then)
until_ok 60 all_have "netecho: ready" "$e" || echo "bench-net.sh: netecho (domain $e) not ready within 60 s" >&2
answers() { ip netns exec "${P}k" "$REF" icmprtt 192.0.2.10 1 2>/dev/null | grep -q "lost=0"; }
until_ok 20 answers ||
    echo "bench-net.sh: netecho does not answer ping" >&2
ip netns exec "${P}k" "$REF" icmprtt 192.0.2.10 20 >/dev/null
for r in $(seq "$RUNS"); do
    ip netns exec "${P}k" "$REF" icmprtt 192.0.2.10 500 | field median_us >>"$T/g.rtt"
    pairs 1 udp >>"$T/g.udp"
    pairs 1 tcp >>"$T/g.tcp"
done
gone echo
for n in 2 4; do for r in $(seq "$RUNS"); do pairs "$n" udp >>"$T/g.udp$n"; done; done
cp "$T/g.udp" "$T/g.udp1"
host_stop
export KEEL_GRANT_GLOBAL_LOCK=1
host_start
for n in 1 2 4; do for r in $(seq "$RUNS"); do pairs "$n" udp >>"$T/gl.udp$n"; done; done
host_stop
unset KEEL_GRANT_GLOBAL_LOCK

# ---- report ----
echo "bench-net: $RUNS runs of ${SECS}s each, $(($(date +%s) - T0)) s in all; median (min-max, spread = (max-min)/median); load average $(cut -d' ' -f1-3 /proc/loadavg)"
mm() { # "MEDIAN MIN MAX" -> "MIN-MAX, S%"
    echo "$1" | awk '{s = ($1 > 0 && $1 != "-") ? sprintf("%.0f%%", ($3 - $2) * 100 / $1) : "-"; printf "%s-%s, %s", $2, $3, s}'
}
line() { # LABEL FILE REF-FILE UNIT
    set -- "$1" "$(stats <"$2")" "$(stats <"$3")" "$4"
    g=${2%% *}; rf=${3%% *}
    printf '  %-50s %9s %-6s (%s)  ref %9s (%s)  ratio %s\n' "$1" "$g" "$4" "$(mm "$2")" "$rf" "$(mm "$3")" "$(ratio "$g" "$rf")"
}
line "UDP 1472 B, guest->guest vs veth->veth" "$T/g.udp" "$T/ref.udp" Mbit/s
line "TCP one stream, guest->guest vs veth->veth" "$T/g.tcp" "$T/ref.tcp" Mbit/s
line "ping RTT dom0->guest vs dom0->namespace (veth)" "$T/g.rtt" "$T/ref.rtt" us
for n in 1 2 4; do
    line "UDP, $n pair(s): per-domain vs global grant lock" "$T/g.udp$n" "$T/gl.udp$n" Mbit/s
done
rm -rf "$T"
