#!/bin/sh
# test-xl-net-mig.sh - a vif across live migration between two hosts, each in a network namespace
# of its own with its own bridge xenbr0 and keel-netback; the two bridges are joined to one LAN
# (bridge lan0 on 192.0.2.1/24 in the test's own namespace, a veth pair to each host). A netecho
# guest (192.0.2.30) on host A answers ping from the LAN; `xl migrate` moves it to host B; it
# answers ping again through B's vif within a second of the migration's end, with its MAC kept;
# its gratuitous ARP is seen on B's bridge and the LAN bridge learns its MAC behind B; host A
# keeps no tap, bridge port or store node; destroy on B leaves none there either.
. "${KEEL_SRCDIR:-..}/tests/netns-reexec.sh"
netns_reexec keel-netm "PV network migration" "$0" "$@"
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
NW="$S/tests/netwatch.py"
NBK="$B/daemons/netback/keel-netback"
if ! have_xs || [ ! -x "$NBK" ]; then
    skip "PV network migration between namespaces" "xenstore-utils or keel-netback missing"; done_tap; exit
fi
NA="keel-nma-$$" NB="keel-nmb-$$"
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
STOP="$KEEL_RUNDIR/stop"
teardown() {
    touch "$STOP"
    KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1
    cleanup
    ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null
    rm -rf "$B2"
}
trap teardown EXIT
inA() { ip netns exec "$NA" "$@"; }
inB() { ip netns exec "$NB" env KEEL_RUNDIR="$B2" XENSTORED_PATH="$B2/xenstored/socket" "$@"; }
XLA() { inA "$XL" "$@"; }
XLB() { inB "$XL" "$@"; }
mono() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }
HOSTENV="KEEL_NETBACK=$NBK KEEL_BLKBACK=none KEEL_VTPMD=none KEEL_CONSOLED=none"

# ---- the LAN, two host namespaces with their bridges, two hosts ----
ip link set lo up && ip link add lan0 type bridge && ip addr add 192.0.2.1/24 dev lan0 &&
    ip link set lan0 up && ip netns add "$NA" && ip netns add "$NB" &&
    for h in A B; do
        eval hn=\$N$h
        ip link add "lan$h" type veth peer name "up$h" && ip link set "up$h" netns "$hn" &&
            ip link set "lan$h" master lan0 up && ip -n "$hn" link set lo up &&
            ip -n "$hn" link add xenbr0 type bridge && ip -n "$hn" link set xenbr0 up &&
            ip -n "$hn" link set "up$h" master xenbr0 up || exit 1
    done
ok $? "a LAN bridge (192.0.2.1/24) joined to bridge xenbr0 of host namespaces $NA and $NB"
env $HOSTENV ip netns exec "$NA" sh "$S/scripts/keel-host" start >/dev/null 2>&1 &&
    env $HOSTENV ip netns exec "$NB" env KEEL_RUNDIR="$B2" XENSTORED_PATH="$B2/xenstored/socket" \
        sh "$S/scripts/keel-host" start >/dev/null 2>&1
ok $? "host A starts in $NA and host B in $NB, each with its keel-netback"
if XLA info 2>/dev/null | grep -q "^logdirty_engine *: *none"; then
    skip "live migration of a vif" "no log-dirty engine on this kernel (xl migrate refuses)"; done_tap; exit
fi

# ---- a netecho guest on A, reached from the LAN ----
MAC=00:16:3e:00:0c:01
printf 'name = "e1"\nkernel = "netecho"\nmemory = 16\ncmdline = "ip=192.0.2.30/24"\nvif = [ "bridge=xenbr0,ip=192.0.2.30,mac=%s" ]\n' \
    "$MAC" >"$KEEL_RUNDIR/e1.cfg"
python3 "$NW" sniff lan0 "$KEEL_RUNDIR/lan.cap" "$STOP" 60 &
wait_until 5 test -e "$KEEL_RUNDIR/lan.cap.ready"
XLA create -q "$KEEL_RUNDIR/e1.cfg"; ok $? "create a netecho guest on host A"
a1=$(XLA domid e1)
[ "$(ip -n "$NA" -o link show dev "vif$a1.0" | sed -n 's/.* master \([^ ]*\) .*/\1/p')" = xenbr0 ]; ok $? "its tap vif$a1.0 is a port of A's xenbr0"
wait_until 5 grep -q "^arp [12] $MAC 192.0.2.30 192.0.2.30\$" "$KEEL_RUNDIR/lan.cap"; ok $? "its gratuitous ARP at connect reaches the LAN through host A"
python3 "$NW" ping 192.0.2.30 "$KEEL_RUNDIR/ping" "$STOP" 60 &
wait_until 10 grep -q "^reply" "$KEEL_RUNDIR/ping"; ok $? "it answers ping from the LAN"
inB python3 "$NW" sniff xenbr0 "$KEEL_RUNDIR/b.cap" "$STOP" 60 &
wait_until 5 test -e "$KEEL_RUNDIR/b.cap.ready"

# ---- live migration A -> B ----
XLA migrate -s '' e1 "ip netns exec $NB env KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL migrate-receive" \
    >"$KEEL_RUNDIR/mig.out" 2>&1; rc=$?
t0=$(mono)
[ $rc -eq 0 ]; ok $? "xl migrate moves it to host B"
[ $rc -eq 0 ] || sed 's/^/# /' "$KEEL_RUNDIR/mig.out"
# the first reply after the migration ended, and how long after
wait_until 2 awk -v t="$t0" '$1 == "reply" && $3 > t {f = 1} END {exit !f}' "$KEEL_RUNDIR/ping"
first=$(awk -v t="$t0" '$1 == "reply" && $3 > t {print $3 - t; exit}' "$KEEL_RUNDIR/ping")
gap=$(awk 'BEGIN {m = 0} $1 == "reply" {if (p && $3 - p > m) m = $3 - p; p = $3} END {printf "%.3f", m}' "$KEEL_RUNDIR/ping")
echo "# first reply ${first:-none} s after xl migrate returned; longest gap between replies ${gap} s"
b1=$(XLB domid e1 2>/dev/null)
XLB network-list e1 2>/dev/null | awk -v m="$MAC" 'NR == 2 && $3 == m && $5 == 4 {f = 1} END {exit !f}'; ok $? "on host B its vif keeps MAC $MAC and is connected"
[ "$(ip -n "$NB" -o link show dev "vif$b1.0" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p')" = xenbr0 ]; ok $? "its new tap vif$b1.0 is a port of B's xenbr0"
# the guest registers its store watches again on the target (its shared page's instance
# changed), so its netfront sees the new backend Connected and announces itself
wait_until 1 grep -q "^arp [12] $MAC 192.0.2.30 192.0.2.30\$" "$KEEL_RUNDIR/b.cap"
ok $? "its gratuitous ARP (sender = target = 192.0.2.30, from $MAC) is seen on B's bridge"
[ $rc -eq 0 ] && [ -n "$first" ] && awk -v f="$first" 'BEGIN {exit !(f <= 1.0)}'; ok $? "it answers ping again on host B within a second (${first:-no reply} s)"
bridge fdb show br lan0 2>/dev/null | grep -q "^$MAC dev lanB"; ok $? "the LAN bridge learned its MAC behind host B"
touch "$STOP"; wait
XLA list e1 >/dev/null 2>&1; [ $? -ne 0 ] && [ -z "$(xenstore-list /local/domain/0/backend/vif 2>/dev/null)" ] &&
    ! ip -n "$NA" link show dev "vif$a1.0" >/dev/null 2>&1 && [ -z "$(ip -n "$NA" -o link show master xenbr0 | grep -v "upA")" ]
ok $? "host A keeps no domain, no vif node, no tap and no bridge port"
XLB destroy e1; ok $? "destroy it on host B"
[ -z "$(XENSTORED_PATH=$B2/xenstored/socket xenstore-list /local/domain/0/backend/vif 2>/dev/null)" ] &&
    ! ip -n "$NB" link show dev "vif$b1.0" >/dev/null 2>&1 && [ -z "$(ip -n "$NB" -o link show master xenbr0 | grep -v "upB")" ] &&
    [ -z "$(ls "$B2/netback" 2>/dev/null | grep '\.stats$')" ]
ok $? "host B keeps no vif node, no tap, no bridge port and no statistics file"
done_tap
