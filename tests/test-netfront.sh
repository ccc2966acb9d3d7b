#!/bin/sh
# test-netfront.sh - the guest network frontend and IPv4 stack (guests/rt/rt_netfront.c,
# rt_net_*.c) on a real host with keel-netback, in a network namespace of its own: a bridge
# br0 with 192.0.2.1/24; netecho (192.0.2.10) answers ping and echoes UDP on port 7 and port=;
# it sends a gratuitous ARP at connect and again each time the backend's state is written
# Connected (as after a backend restart or migration); two nettraffic guests move a verified
# TCP stream and UDP datagrams across the bridge; network-detach closes the vif through the
# close handshake and the guest says so.
. "${KEEL_SRCDIR:-..}/tests/netns-reexec.sh"
netns_reexec keel-nf "PV network frontend tests" "$0" "$@"
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
REF="$B/bench/bench-net-ref"
ip link set lo up
ip link add br0 type bridge && ip addr add 192.0.2.1/24 dev br0 && ip link set br0 up
ok $? "a bridge br0 with 192.0.2.1/24 in the test's namespace"
host start >/dev/null 2>&1; ok $? "keel-host starts the core, the store and the backends"
if ! wait_until 10 grep -q "serving" "$KEEL_RUNDIR/netback/keel-netback.log"; then
    skip "netfront on a real backend" "keel-netback is not running"
    done_tap; exit
fi

# guest NAME KERNEL EXTRA: created with one vif on br0; prints its domid
guest() {
    cat >"$KEEL_RUNDIR/$1.cfg" <<EOF
name = "$1"
kernel = "$2"
memory = 64
vcpus = 1
extra = "$3"
vif = [ 'bridge=br0' ]
on_poweroff = "destroy"
on_crash = "destroy"
EOF
    $XL create -q -p "$KEEL_RUNDIR/$1.cfg" >/dev/null 2>"$KEEL_RUNDIR/$1.err" ||
        sed 's/^/# /' "$KEEL_RUNDIR/$1.err" >&2
    $XL domid "$1" && $XL unpause "$1"
}
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }
has() { out "$1" | grep -q "$2"; }
udp_echo() { # PORT: prints the echoed text
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for i in range(3):
    s.sendto(b"echo-%s-%d" % (sys.argv[1].encode(), i), ("192.0.2.10", int(sys.argv[1])))
    try:
        print(s.recvfrom(2048)[0].decode()); break
    except socket.timeout:
        pass
EOF
}

d=$(guest ne netecho "ip=192.0.2.10/24 port=9000")
ok $? "a netecho guest with vif=[bridge=br0] is created"
wait_until 30 has "$d" "netecho: ready"; ok $? "netfront connects and the stack comes up ($(out "$d" | grep netfront: | head -1))"
has "$d" "split event channels, sg 1"; ok $? "it negotiated split event channels and scatter-gather"
[ "$(xenstore-read /local/domain/$d/device/vif/0/request-rx-copy 2>/dev/null)" = 1 ] &&
[ "$(xenstore-read /local/domain/$d/device/vif/0/feature-rx-notify 2>/dev/null)" = 1 ] &&
[ "$(xenstore-read /local/domain/$d/device/vif/0/state 2>/dev/null)" = 4 ]
ok $? "frontend keys: request-rx-copy=1, feature-rx-notify=1, state 4"
wait_until 5 has "$d" "netecho: garp 1"; ok $? "a gratuitous ARP goes out at connect"
r=$("$REF" icmprtt 192.0.2.10 20 2>&1)
echo "$r" | grep -q "rtt: count=20 lost=0"; ok $? "dom0 pings the guest: 20 of 20 answered ($r)"
[ "$(udp_echo 7)" = "echo-7-0" ]; ok $? "UDP to port 7 is echoed back"
[ "$(udp_echo 9000)" = "echo-9000-0" ]; ok $? "UDP to port= 9000 is echoed back"
[ -z "$(udp_echo 9001)" ]; ok $? "UDP to another port is not echoed"
xenstore-write /local/domain/0/backend/vif/$d/0/state 4
wait_until 5 has "$d" "netecho: garp 2"; ok $? "the backend's state written Connected again: another gratuitous ARP"
r=$("$REF" icmprtt 192.0.2.10 5 2>&1)
echo "$r" | grep -q "lost=0"; ok $? "ping still answered after it ($r)"

# two guests across the bridge: a verified TCP stream, then UDP datagrams
s=$(guest sink nettraffic "ip=192.0.2.20/24 mode=tcpsink port=5001 streams=1")
wait_until 30 has "$s" "tcpsink listening"
c=$(guest src nettraffic "ip=192.0.2.21/24 mode=tcpsend peer=192.0.2.20 port=5001 bytes=33554432")
wait_until 120 has "$s" "nettraffic: sink:"
l=$(out "$s" | grep "nettraffic: sink:")
echo "$l" | grep -q "bytes=33554432 .*bad=0 "; ok $? "guest to guest: a 32 MiB TCP stream arrives whole and in order ($l)"
wait_until 30 has "$c" "nettraffic: send:"
out "$c" | grep -q "nettraffic: send: proto=tcp .*bytes=33554432 .*error=0"; ok $? "the sender's connection closed cleanly ($(out "$c" | grep 'nettraffic: send:'))"
wait_until 20 not $XL list sink; wait_until 20 not $XL list src
s=$(guest usink nettraffic "ip=192.0.2.20/24 mode=udpsink port=5002")
wait_until 30 has "$s" "udpsink listening"
c=$(guest usrc nettraffic "ip=192.0.2.21/24 mode=udpsend peer=192.0.2.20 port=5002 count=20000 size=1000")
wait_until 120 has "$s" "nettraffic: sink:"
l=$(out "$s" | grep "nettraffic: sink:")
p=$(echo "$l" | sed -n 's/.*pkts=\([0-9]*\).*/\1/p'); lost=$(echo "$l" | sed -n 's/.*lost=\([-0-9]*\).*/\1/p')
[ "${p:-0}" -gt 0 ] && [ $((p + lost)) -le 20000 ] && [ "$lost" -ge 0 ]
ok $? "guest to guest: UDP datagrams arrive, the end marker ends the sink ($l)"
wait_until 20 not $XL list usink; wait_until 20 not $XL list usrc

$XL network-detach ne 0 >/dev/null 2>&1; ok $? "xl network-detach of netecho's vif"
wait_until 15 has "$d" "netecho: vif closed"; ok $? "the guest follows the close handshake ($(out "$d" | grep 'netfront: vif 0: clos' | tr '\n' ' '))"
[ -z "$($XL network-list ne 2>/dev/null | sed 1d)" ]; ok $? "network-list shows no vif"
$XL destroy ne
done_tap
