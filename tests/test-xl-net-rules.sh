#!/bin/sh
# test-xl-net-rules.sh - the backend rules a vif gets through the toolstack (xl create with vif=
# on a private host with keel-netback, in a network namespace of its own, bridge xenbr0 on
# 192.0.2.0/24): ip= anti-spoofing (the netevil guest's frame from its own address reaches the
# bridge; its frames with a forged source IP or MAC never do and are counted in the backend's
# statistics), rate= (a netevil flood on a vif with rate=4Mb/s is measured on the tap's rx_bytes
# between credit bursts: within 10 % of the rate, both ways), a rate of 0 bytes per interval
# and a multicast MAC refused at create; and teardown: destroy and network-detach leave no tap,
# no bridge port, no store node (frontend, backend, /libxl), no statistics file and no backend
# worker.
. "${KEEL_SRCDIR:-..}/tests/netns-reexec.sh"
netns_reexec keel-netr "PV network rules" "$0" "$@"
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
NW="$S/tests/netwatch.py"
NB="$B/daemons/netback/keel-netback"
if ! have_xs || [ ! -x "$NB" ]; then
    skip "PV network rules on a host" "xenstore-utils or keel-netback missing"; done_tap; exit
fi
ip link set lo up
nx() { ! xenstore-read "$1" >/dev/null 2>&1; }
nolink() { ! ip link show dev "$1" >/dev/null 2>&1; }
master() { ip -o link show dev "$1" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }
stat_of() { awk -v k="$2" '$1 == k {print $2}' "$1" 2>/dev/null; }   # FILE COUNTER
nbpid() { cat "$KEEL_RUNDIR/netback/keel-netback.pid" 2>/dev/null; }
shut() { $XL list "$1" 2>/dev/null | awk 'NR == 2 && $5 ~ /s/ {f = 1} END {exit !f}'; }  # shut down
workers() { cat /proc/"$(nbpid)"/task/*/children 2>/dev/null | wc -w; }
# gone DOMID DEVID: nothing of the vif is left anywhere
gone() {
    nolink "vif$1.$2" && [ -z "$(ip -o link show master xenbr0)" ] &&
        nx "/local/domain/0/backend/vif/$1/$2" && nx "/local/domain/$1/device/vif/$2" &&
        nx "/libxl/$1/device/vif/$2" && [ ! -e "$KEEL_RUNDIR/netback/vif$1.$2.stats" ]
}
STOP="$KEEL_RUNDIR/stop"
trap 'touch "$STOP"; cleanup' EXIT

KEEL_NETBACK="$NB" KEEL_BLKBACK=none KEEL_VTPMD=none KEEL_CONSOLED=none host start >/dev/null 2>&1 &&
    sh "$S/scripts/keel-host" status 2>/dev/null | grep -q "keel-netback: running"
ok $? "a private host starts with keel-netback (network namespace $KEEL_NETNS)"
ip link add xenbr0 type bridge && ip addr add 192.0.2.1/24 dev xenbr0 && ip link set xenbr0 up
ok $? "bridge xenbr0 on 192.0.2.1/24"
w0=$(workers)

# ---- ip=: anti-spoofing through vif= at create ----
cfg() { # NAME KERNEL CMDLINE VIF
    printf 'name = "%s"\nkernel = "%s"\nmemory = 16\ncmdline = "%s"\non_poweroff = "preserve"\nvif = [ "%s" ]\n' \
        "$1" "$2" "$3" "$4" >"$KEEL_RUNDIR/$1.cfg"
    echo "$KEEL_RUNDIR/$1.cfg"
}
$XL create -q -p "$(cfg ev netevil "mode=evil ip=192.0.2.20" "bridge=xenbr0,ip=192.0.2.20,mac=00:16:3e:00:0a:01")"
ok $? "create a paused netevil guest with vif= 'ip=192.0.2.20'"
ev=$($XL domid ev)
be=/local/domain/0/backend/vif/$ev/0
[ "$(xenstore-read $be/ip)" = 192.0.2.20 ] && [ "$(master vif$ev.0)" = xenbr0 ] &&
    [ "$(workers)" -eq $((w0 + 1)) ]; ok $? "the backend has ip=192.0.2.20, vif$ev.0 is on xenbr0, one worker serves it"
python3 "$NW" sniff xenbr0 "$KEEL_RUNDIR/ev.cap" "$STOP" 30 &
wait_until 5 test -e "$KEEL_RUNDIR/ev.cap.ready"
$XL unpause ev
wait_until 20 sh -c "$XL dmesg | grep -q '(d$ev) netevil: attack=spoofip'"; ok $? "netevil sent its good frame and its forged ones"
st="$KEEL_RUNDIR/netback/vif$ev.0.stats"
wait_until 3 sh -c "[ \"\$(awk '\$1==\"tx_spoof_ip\" {print \$2}' $st)\" -ge 1 ]"
touch "$STOP"; wait
cap="$KEEL_RUNDIR/ev.cap"
grep -q "^udp 00:16:3e:00:0a:01 192.0.2.20 7 netevil.evil.first" "$cap"; ok $? "its frame from its own MAC and address reached the bridge"
! grep -q "spoofip" "$cap" && ! grep -q "203.0.113.66" "$cap"; ok $? "its frame with a forged source address (203.0.113.66) did not"
! grep -q "spoofmac" "$cap" && ! grep -q "^udp 00:16:3e:66:66:66" "$cap"; ok $? "nor its frame with a forged source MAC"
[ "$(stat_of "$st" tx_spoof_ip)" -ge 1 ] && [ "$(stat_of "$st" tx_spoof_mac)" -ge 1 ] &&
    [ "$(stat_of "$st" tx_dropped)" -ge 2 ]; ok $? "the backend counted both (tx_spoof_ip $(stat_of "$st" tx_spoof_ip), tx_spoof_mac $(stat_of "$st" tx_spoof_mac), tx_dropped $(stat_of "$st" tx_dropped))"
[ "$(stat_of "$st" tx_packets)" -ge 1 ]; ok $? "and the good frame as sent (tx_packets $(stat_of "$st" tx_packets))"
# ---- destroy: nothing left ----
$XL destroy ev; ok $? "destroy the netevil guest while it attacks"
wait_until 5 gone "$ev" 0; ok $? "destroy leaves no tap, no bridge port, no BE/FE/libxl node, no statistics file"
wait_until 5 sh -c "[ \$(cat /proc/$(nbpid)/task/*/children 2>/dev/null | wc -w) -eq $w0 ]"; ok $? "and no backend worker"

# ---- rate=: a refused rate, then the credit holds a flood to the rate ----
out=$($XL create -q "$(cfg rz counter "" "bridge=xenbr0,rate=1b/s")" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "rate allows 0 bytes per 50000 us replenishment interval" &&
    echo "$out" | grep -q "warning: .*rate=1b/s allows 0 bytes"; ok $? "a vif with rate=1b/s (0 bytes per interval) is refused at create, saying why"
not $XL list rz 2>/dev/null && [ -z "$(xenstore-list /local/domain/0/backend/vif 2>/dev/null)" ]; ok $? "and leaves no domain and no vif"
out=$($XL create -q "$(cfg mz counter "" "bridge=xenbr0,mac=01:16:3e:00:00:01")" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "vif 0: mac 01:16:3e:00:00:01 is a multicast address .*a vif needs a unicast MAC" &&
    not $XL list mz 2>/dev/null && [ -z "$(xenstore-list /local/domain/0/backend/vif 2>/dev/null)" ]
ok $? "a vif with a multicast MAC (low bit of the first octet) is refused at create, saying why, leaving nothing"
# 4 Mbit/s = 500000 B/s: 25000 bytes every 50 ms (the default interval)
$XL create -q -p "$(cfg fl netevil "mode=flood run=3 ip=192.0.2.21" "bridge=xenbr0,ip=192.0.2.21,rate=4Mb/s")"
ok $? "create a netevil flood guest with vif= 'rate=4Mb/s'"
fl=$($XL domid fl)
[ "$(xenstore-read /local/domain/0/backend/vif/$fl/0/rate)" = "25000,50000" ]; ok $? "the backend's rate is 25000 bytes per 50000 us"
$XL unpause fl
wait_until 5 sh -c "$XL dmesg | grep -q '(d$fl) netevil: connected'"
m=$(python3 "$NW" rate "vif$fl.0" 2.2 25000 50000); rc=$?
echo "# tap rx from the rated guest: $m"
r=$(echo "$m" | awk '{print $4}')
[ $rc -eq 0 ] && awk -v r="$r" 'BEGIN {exit !(r <= 1.10)}'; ok $? "the tap receives at most 1.10x the rate (ratio $r)"
[ $rc -eq 0 ] && awk -v r="$r" 'BEGIN {exit !(r >= 0.90)}'; ok $? "and at least 0.90x of it: the guest is held to it, not starved (ratio $r)"
wait_until 10 sh -c "$XL dmesg | grep -q '(d$fl) netevil: flood'"
echo "# guest: $($XL dmesg | grep "(d$fl) netevil: flood" | sed 's/.*netevil: //')"
wait_until 10 shut fl
# ---- network-detach: nothing left ----
st="$KEEL_RUNDIR/netback/vif$fl.0.stats"
[ -e "$st" ] && [ "$(workers)" -eq $((w0 + 1)) ]; ok $? "before detach: a statistics file and a worker for vif $fl/0"
$XL network-detach fl 0; ok $? "network-detach the rated vif"
gone "$fl" 0; ok $? "network-detach leaves no tap, no bridge port, no BE/FE/libxl node, no statistics file"
wait_until 5 sh -c "[ \$(cat /proc/$(nbpid)/task/*/children 2>/dev/null | wc -w) -eq $w0 ]"; ok $? "and no backend worker"
$XL destroy fl
[ -z "$(xenstore-list /local/domain/0/backend 2>/dev/null)" ] && [ -z "$(xenstore-list /libxl 2>/dev/null)" ] &&
    [ -z "$(ls "$KEEL_RUNDIR/netback" | grep '\.stats$')" ]; ok $? "at the end: no backend node, no bookkeeping, no statistics file"
done_tap
