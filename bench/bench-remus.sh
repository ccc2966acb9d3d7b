#!/bin/sh
# bench-remus.sh [ROUNDS] - Remus with a disk and a vif (issue 15, docs/remus.md), measured on the
# udpcount guest between two Keel hosts on this machine (tests/remus-dev-lib.sh: network
# namespaces, each host its own copy of the disk). Prints, with median and spread:
#  - the request/reply round trip of an increment (one in flight), unprotected (the reference)
#    and under `xl remus -i 10` (output commit: the reply waits for the backup's acknowledgement
#    of the checkpoint after it), and their ratio;
#  - checkpoints per second sustained at -i 10 and the guest's pause per checkpoint (median,
#    p99), from `xl remus --debug` while the client runs (light dirtying: a counter and one
#    disk sector per increment);
#  - the time from the primary's death (cut off the LAN, every process killed) to the first
#    answer from the backup, over ROUNDS kills (default 5).
# Run as root from a build directory: sudo sh ../../bench/bench-remus.sh [ROUNDS]
if [ -z "${KEEL_NETNS:-}" ]; then
    ns="keel-rdbench-$$"
    ip netns add "$ns" || exit 1
    KEEL_NETNS=$ns ip netns exec "$ns" sh "$0" "$@"; rc=$?
    ip netns del "$ns"
    exit $rc
fi
export KEEL_BUILDDIR=${KEEL_BUILDDIR:-$PWD}
KEEL_SRCDIR=${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export KEEL_SRCDIR
. "$KEEL_SRCDIR/tests/xl-lib.sh"
cd "$S" || exit 1
. "$S/tests/remus-dev-lib.sh"
trap 'rd_stop_all; cleanup' EXIT
rounds=${1:-5}

cat >"$W/rtt.py" <<'EOF'
# rtt.py IP PORT N: N increments one at a time; prints each round trip in microseconds
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
for i in range(int(sys.argv[3])):
    t = time.monotonic()
    s.sendto(b"inc %d" % i, (sys.argv[1], int(sys.argv[2])))
    try:
        while s.recv(128).split()[2] != b"%d" % i:
            pass
    except OSError:
        continue
    print(int((time.monotonic() - t) * 1e6))
EOF
cat >"$W/stats.py" <<'EOF'
# stats.py NAME UNIT [SCALE]: median, p10-p90, p99, n of the numbers on stdin
import sys, statistics as st
v = sorted(float(x) * float(sys.argv[3] if len(sys.argv) > 3 else 1) for x in sys.stdin.read().split())
if not v:
    print("%-44s no samples" % sys.argv[1]); sys.exit(0)
q = lambda p: v[min(len(v) - 1, int(p * len(v)))]
print("%-44s median %9.1f %s  p10-p90 %.1f-%.1f  p99 %.1f  (n=%d)" % (sys.argv[1], st.median(v),
      sys.argv[2], q(0.1), q(0.9), q(0.99), len(v)))
EOF
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

rd_net && rd_host_start A || { echo "cannot set up the hosts"; exit 1; }
rd_guest_cfg
on A "$XL" create -q "$W/c1.cfg" && wait_until 10 python3 "$W/get.py" "$GIP" 7001 ||
    { echo "the guest does not answer on A"; exit 1; }
echo "# bench-remus: udpcount guest (disk + vif), hosts A and B in namespaces, $(nproc) CPUs"
python3 "$W/rtt.py" "$GIP" 7001 400 >"$W/rtt.plain"
python3 "$W/stats.py" "round trip, unprotected (reference)" us <"$W/rtt.plain"

rd_host_start B
on A "$XL" remus -i 10 --debug -s '' c1 "$W/on B $XL migrate-receive -r" >"$W/remus.out" 2>&1 &
rp=$!                                  # the on script execs down to xl itself
wait_until 10 sh -c "grep -q '^Remus: checkpoint 5:' '$W/remus.out'"
python3 "$W/rtt.py" "$GIP" 7001 400 >"$W/rtt.remus"
python3 "$W/stats.py" "round trip, xl remus -i 10 (output commit)" us <"$W/rtt.remus"
echo "round trip ratio protected/unprotected (medians): $(python3 -c "print('%.1f' % ($(med <"$W/rtt.remus") / $(med <"$W/rtt.plain")))")"
# checkpoints per second and pauses over a 3 s window with the client running
rm -f "$W/stop"
python3 "$W/client.py" "$GIP" 7001 "$W/client.log" "$W/stop" &
cp=$!
sleep 0.5
n0=$(grep -c '^Remus: checkpoint' "$W/remus.out"); sleep 3; n1=$(grep -c '^Remus: checkpoint' "$W/remus.out")
touch "$W/stop"; wait $cp
echo "checkpoints per second at -i 10 (3 s, client running): $(( (n1 - n0) / 3 ))"
tail -n +"$((n0 + 1))" "$W/remus.out" | sed -n 's/^Remus: checkpoint [0-9]*: guest paused \([0-9]*\) us.*/\1/p' | head -n $((n1 - n0)) |
    python3 "$W/stats.py" "guest pause per checkpoint (-i 10)" us
tail -n +"$((n0 + 1))" "$W/remus.out" | sed -n 's/^Remus: checkpoint .* acknowledged \([0-9]*\) us after.*/\1/p' | head -n $((n1 - n0)) |
    python3 "$W/stats.py" "pause start to backup's acknowledgement" us
kill -INT "$rp"                         # replication stops, the domain runs on at A
sleep 0.5
rd_kill B                              # the backup goes (a fresh B for each kill below)
wait "$rp"
# failover: kill the primary, time to the first answer from the backup
: >"$W/failover"
p=A q=B
for i in $(seq 1 "$rounds"); do
    rd_round "$p" "$q" 1.0 -i 10
    echo "$RD_VERDICT" | sed -n 's/.*first-after \([0-9.]*\).*/\1/p' >>"$W/failover"
    t=$p p=$q q=$t
done
python3 "$W/stats.py" "primary killed -> first answer from the backup" ms 1000 <"$W/failover"
