#!/bin/sh
# test-netback.sh - keel-netback on a real host (keel-host in a private runtime directory) inside
# a network namespace of its own: the backend side of docs/device-net.md driven through the
# store as the toolstack would write it (until xl network-attach exists, the test writes the BE
# and FE nodes itself and runs the hotplug step: the tap into a bridge, hotplug-status=
# connected). Checked: features and InitWait, the tap (persistent, vifname), the worker's
# confinement, refused configurations, close and removal (no tap, no statistics, no worker);
# with real guests (guests/netevil): well-formed frames reach the tap and dom0's frames reach the
# guest, every hostile request of the contract is answered with an error or a drop and counted,
# the hostile vif is disabled with its log line while the other guest goes on; kill -9 of the
# daemon and its restart re-attach (the tap kept, traffic resumes); a killed worker closes its
# vif.
if [ -z "${NB_IN_NETNS:-}" ]; then
    command -v unshare >/dev/null || { echo "1..0 # SKIP unshare not installed"; exit 0; }
    NB_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
have_xs || { echo "1..0 # SKIP xenstore-utils not installed"; exit 0; }
[ -c /dev/net/tun ] || { echo "1..0 # SKIP no /dev/net/tun"; exit 0; }
export KEEL_NETBACK="$B/daemons/netback/keel-netback" KEEL_BLKBACK=none KEEL_NETBACK_QUEUES=2
NLOG="$KEEL_RUNDIR/netback/keel-netback.log"
BE=/local/domain/0/backend/vif
FR="python3 $S/daemons/netback/tests/nb-frames.py"
ip link set lo up

nbpid() { cat "$KEEL_RUNDIR/netback/keel-netback.pid" 2>/dev/null; }
worker_of() { grep "vif $1/$2: worker [0-9]* started" "$NLOG" | tail -1 | sed 's/.*worker \([0-9]*\) started.*/\1/'; }
state_is() { [ "$(xenstore-read "$1/state" 2>/dev/null)" = "$2" ]; }
has_link() { ip link show "$1" >/dev/null 2>&1; }
stat_of() { sed -n "s/^$2  *//p" "$KEEL_RUNDIR/netback/vif$1.stats" 2>/dev/null | tr -d ' '; }
# add_vif DOMID DEVID MAC [extra BE key value ...]: the nodes the toolstack writes at add
add_vif() {
    d=$1; v=$2; m=$3; shift 3
    be=$BE/$d/$v; fe=/local/domain/$d/device/vif/$v
    xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" 1 "$fe/handle" "$v" \
        "$fe/mac" "$m" "$fe/trusted" 1 \
        "$be/frontend" "$fe" "$be/frontend-id" "$d" "$be/online" 1 "$be/script" "$S/scripts/hotplug/vif-bridge" \
        "$be/mac" "$m" "$be/bridge" br0 "$be/handle" "$v" "$be/type" vif "$be/hotplug-status" "" "$@" \
        "$be/state" 1
    xenstore-chmod -r "$fe" "n$d" r0
    xenstore-chmod -r "$be" n0 "r$d"
}
hotplug() { # DOMID DEVID [IFNAME]: what vif-bridge does, by hand
    ip link set "${3:-vif$1.$2}" master br0 up && xenstore-write "$BE/$1/$2/hotplug-status" connected
}
del_vif() { xenstore-write "$BE/$1/$2/online" 0 "$BE/$1/$2/state" 5; }
guest() { # NAME EXTRA: created paused; prints its domid
    cat >"$KEEL_RUNDIR/$1.cfg" <<EOC
name = "$1"
kernel = "netevil"
memory = 32
vcpus = 1
extra = "$2"
on_poweroff = "destroy"
on_crash = "destroy"
EOC
    $XL create -q -p "$KEEL_RUNDIR/$1.cfg" >/dev/null 2>"$KEEL_RUNDIR/$1.err" || sed 's/^/# /' "$KEEL_RUNDIR/$1.err" >&2
    $XL domid "$1"
}
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }
has() { out "$1" | grep -q "$2"; }

host start >/dev/null 2>&1; ok $? "a private host starts (keel-hv, keel-stored, keel-consoled, keel-netback)"
host status | grep -q "^keel-netback: running"; ok $? "keel-host status reports keel-netback running"
[ -f "$KEEL_RUNDIR/netback/keel-netback.ready" ]; ok $? "the daemon wrote its ready file"
ip link add br0 type bridge && ip link set br0 up

# -- a vif whose domain does not run: InitWait, features, tap, confinement, close ------------
add_vif 7 0 00:16:3e:00:07:00 "$BE/7/0/ip" "192.0.2.70"
wait_until 10 state_is $BE/7/0 2; ok $? "a new vif goes to InitWait (2)"
d=$BE/7/0
f=""; for k in feature-sg feature-gso-tcpv4 feature-gso-tcpv6 feature-ipv6-csum-offload feature-rx-copy feature-split-event-channels; do f="$f$(xenstore-read $d/$k)"; done
[ "$f" = 111111 ] && [ "$(xenstore-read $d/feature-rx-flip)" = 0 ]; ok $? "it offers sg, gso v4/v6, ipv6 csum, rx-copy, split event channels; rx-flip 0"
[ "$(xenstore-read $d/multi-queue-max-queues)" = 2 ]; ok $? "multi-queue-max-queues = 2 (KEEL_NETBACK_QUEUES)"
not xenstore-read $d/feature-ctrl-ring 2>/dev/null; ok $? "no feature-ctrl-ring (not implemented, not promised)"
has_link vif7.0; ok $? "the tap vif7.0 exists in the backend's namespace"
ip -d link show vif7.0 | grep -q "tun type tap.*multi_queue\|multi_queue.*tap"; ok $? "a multi-queue tap ($(ip -d link show vif7.0 | grep -o 'tun type [a-z]*.*' | head -1))"
W=$(worker_of 7 0)
[ -n "$W" ] && grep -q "^Seccomp:[[:space:]]*2$" /proc/$W/status && grep -q "^NoNewPrivs:[[:space:]]*1$" /proc/$W/status
ok $? "the worker ($W) runs under its seccomp filter with no_new_privs"
grep -q "^Max open files *64 *64 " /proc/$W/limits; ok $? "and RLIMIT_NOFILE 64"
nfd=$(ls /proc/$W/fd | wc -l); [ "$nfd" -le 10 ]; ok $? "it holds only its own descriptors ($nfd: stdio, store, core, 2 tap queues, stats, signalfd)"
[ -f "$KEEL_RUNDIR/netback/vif7.0.stats" ] && grep -q "^tx_packets  *0$" "$KEEL_RUNDIR/netback/vif7.0.stats"; ok $? "its statistics file exists"
del_vif 7 0
wait_until 10 state_is $d 6; ok $? "online=0, state 5: Closed (6)"
wait_until 5 not has_link vif7.0; ok $? "the tap is deleted"
wait_until 5 not kill -0 "$W"; ok $? "the worker exits"
wait_until 5 not test -e "$KEEL_RUNDIR/netback/vif7.0.stats"; ok $? "the statistics file is removed"
xenstore-rm $BE/7 /local/domain/7

add_vif 7 1 00:16:3e:00:07:01 "$BE/7/1/vifname" gst7
wait_until 10 state_is $BE/7/1 2 && has_link gst7; ok $? "vifname=gst7 names the tap"
del_vif 7 1; wait_until 10 state_is $BE/7/1 6 && wait_until 5 not has_link gst7; ok $? "and it goes at close"
add_vif 7 2 01:00:5e:00:00:01
wait_until 10 state_is $BE/7/2 6; ok $? "a multicast mac is refused: Closed"
grep -q "vif 7/2: backend mac '01:00:5e:00:00:01' is not a unicast MAC address" "$NLOG"; ok $? "logged with the device and the value"
add_vif 7 3 00:16:3e:00:07:03 "$BE/7/3/rate" "lots"
wait_until 10 state_is $BE/7/3 6 && grep -q "vif 7/3: backend rate 'lots'" "$NLOG"; ok $? "a malformed rate is refused and logged"
add_vif 7 4 00:16:3e:00:07:04 "$BE/7/4/vifname" "../../etc"
wait_until 10 state_is $BE/7/4 6 && not has_link "../../etc"; ok $? "a vifname that is not an interface name is refused"
xenstore-rm $BE/7 /local/domain/7
# the toolstack removes a backend directory outright (destroy, a timed-out close): the worker
# stops and writes nothing into it (a late state=6 would create the node again)
add_vif 7 5 00:16:3e:00:07:05
wait_until 10 state_is $BE/7/5 2; W=$(worker_of 7 5)
xenstore-rm $BE/7/5
wait_until 5 not kill -0 "$W" && wait_until 5 not has_link vif7.5; ok $? "a removed backend directory: its worker ($W) exits and the tap goes"
not xenstore-read $BE/7/5/state >/dev/null 2>&1 && not xenstore-ls $BE/7/5 >/dev/null 2>&1
ok $? "no node of the removed directory comes back ($(xenstore-ls $BE/7/5 2>/dev/null | tr '\n' ' '))"
xenstore-rm $BE/7 /local/domain/7

# -- guests: a well-behaved one and a hostile one ------------------------------------------
g1=$(guest nbgood "mode=good run=150 ip=192.0.2.11 split=1")
ok $? "a well-behaved netevil guest (domain $g1)"
add_vif "$g1" 0 00:16:3e:00:00:11 "$BE/$g1/0/ip" 192.0.2.11
wait_until 10 state_is $BE/$g1/0 2
$XL unpause nbgood
hotplug "$g1" 0
wait_until 15 state_is $BE/$g1/0 4; ok $? "hotplug-status=connected and the frontend's keys: Connected (4)"
grep -q "vif $g1/0: connected: 1 queue, split event channels" "$NLOG"; ok $? "one queue with split event channels negotiated"
r=$($FR capture vif$g1.0 2 "netevil $g1 seq"); ok $? "its well-formed frames appear on the tap vif$g1.0 ($r)"
$FR send vif$g1.0 "hello-from-dom0" 3
wait_until 10 has "$g1" "netevil: rx len .* text 'hello-from-dom0'"; ok $? "dom0's frames out of the tap reach the guest's rx ring ($(out $g1 | grep -c hello-from-dom0) lines)"
[ "$(stat_of $g1.0 rx_packets)" -ge 1 ] 2>/dev/null && [ "$(stat_of $g1.0 tx_packets)" -ge 5 ] 2>/dev/null
ok $? "the statistics count both directions (tx $(stat_of $g1.0 tx_packets), rx $(stat_of $g1.0 rx_packets))"

g2=$(guest nbevil "mode=evil ip=192.0.2.12 split=0")
ok $? "a hostile netevil guest (domain $g2)"
add_vif "$g2" 0 00:16:3e:00:00:12 "$BE/$g2/0/ip" 192.0.2.12
wait_until 10 state_is $BE/$g2/0 2
hotplug "$g2" 0
# up to 30 s (a loaded sanitizer build can take 6 s and more to bring the guest's vif up), and
# no longer than its first frame
$FR capture vif$g2.0 30 "netevil evil first" "$KEEL_RUNDIR/evilcap.ready" first >"$KEEL_RUNDIR/evilcap" 2>&1 &
cap=$!
wait_until 10 test -e "$KEEL_RUNDIR/evilcap.ready"   # the capture is bound before the guest runs
$XL unpause nbevil
wait_until 30 has "$g2" "netevil: disabled after"; ok $? "the hostile guest ran all its attacks"
has "$g2" "attack=good status 0"; ok $? "its first, well-formed frame is accepted (status 0)"
wait "$cap"; ok $? "and appears on the tap ($(cat "$KEEL_RUNDIR/evilcap"))"
for a in oversized badoffset toomany notgranted badextra; do
    has "$g2" "attack=$a status -1"; ok $? "attack $a: answered with RSP_ERROR"
done
has "$g2" "attack=tinyflood status -1 count 200"; ok $? "a flood of 200 runts: each answered with RSP_ERROR"
has "$g2" "attack=spoofmac status -2"; ok $? "a frame from another MAC: dropped (RSP_DROPPED)"
has "$g2" "attack=spoofip status -2"; ok $? "a frame from an address not in ip=: dropped (RSP_DROPPED)"
wait_until 10 state_is $BE/$g2/0 6; ok $? "the hostile vif is disabled: BE state 6"
grep -q "vif $g2/0: .*: disabled" "$NLOG"; ok $? "log line: $(grep "vif $g2/0: .*: disabled" "$NLOG" | sed 's/.*error: //' | head -1)"
[ "$(stat_of $g2.0 tx_spoof_mac)" = 1 ] && [ "$(stat_of $g2.0 tx_spoof_ip)" = 1 ]; ok $? "statistics: one MAC and one IP spoofing drop"
[ "$(stat_of $g2.0 tx_errors)" -ge 206 ] 2>/dev/null && [ "$(stat_of $g2.0 tx_fatal)" -gt 16 ] 2>/dev/null
ok $? "statistics: errors $(stat_of $g2.0 tx_errors), fatal $(stat_of $g2.0 tx_fatal), disabled $(stat_of $g2.0 disabled)"
wait_until 5 not has_link vif$g2.0; ok $? "the disabled vif's tap is gone"
kill -0 "$(nbpid)"; ok $? "the daemon goes on"
r=$($FR capture vif$g1.0 2 "netevil $g1 seq"); ok $? "the well-behaved guest's frames still reach its tap ($r)"
del_vif "$g2" 0; wait_until 10 not kill -0 "$(worker_of $g2 0)"; ok $? "removing the disabled vif ends its worker"

# -- kill -9 of the daemon, restart, re-attach ----------------------------------------------
OLD=$(nbpid); OW=$(worker_of "$g1" 0)
seq1=$($FR capture vif$g1.0 1 "netevil $g1 seq" | sed 's/.*seq //')
kill -9 "$OLD"
wait_until 5 not kill -0 "$OW"; ok $? "kill -9 of the daemon: its worker dies with it"
has_link vif$g1.0; ok $? "the persistent tap stays"
host start >/dev/null 2>&1; ok $? "keel-host start starts it again"
resumed() { [ "$(grep -c "vif $g1/0: queue 0: .*tx resumes at request" "$NLOG")" -ge 2 ]; }
wait_until 10 resumed; ok $? "the new worker re-attaches at the published responses ($(grep "vif $g1/0: queue 0: .*tx resumes" "$NLOG" | tail -1 | sed 's/.*; //'))"
state_is $BE/$g1/0 4; ok $? "the vif is still Connected (4)"
r=$($FR capture vif$g1.0 2 "netevil $g1 seq")
s2=$(echo "$r" | sed 's/.*seq //'); [ "${s2:--1}" -gt "${seq1:-0}" ] 2>/dev/null; ok $? "traffic resumes on the same tap (seq $seq1 before, $r)"

# -- a worker that dies ---------------------------------------------------------------------
W=$(worker_of "$g1" 0)
kill -KILL "$W"
wait_until 10 state_is $BE/$g1/0 6; ok $? "a killed worker: its vif is marked Closed (6)"
grep -q "vif $g1/0: worker $W killed by signal 9: device marked Closed" "$NLOG"; ok $? "the parent logs it"
del_vif "$g1" 0; ip link del "vif$g1.0" 2>/dev/null   # the offline script's part
$XL destroy nbgood 2>/dev/null
not grep -q "ERROR: AddressSanitizer\|runtime error:" "$NLOG"; ok $? "no sanitizer report in the daemon's log"
if [ "$failed" -gt 0 ]; then     # diagnostics for a failure
    sed 's/^/# netback: /' "$NLOG" | tail -60
    $XL dmesg | grep netevil | grep -v "tx seq" | tail -40 | sed 's/^/# /'
fi
done_tap
