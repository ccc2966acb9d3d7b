# remus-dev-lib.sh - shared by tests/test-xl-remus-dev.sh and tests/remus-dev-kill.sh (issue 15,
# docs/remus.md): a LAN bridge lan0 (192.0.2.1/24) in the caller's network namespace and Keel
# hosts A and B, each in a network namespace of its own (bridge xenbr0, a veth to lan0) and,
# per command, a mount namespace in which its own disk directory is bound at the one path the
# guest's configuration names ($W/disk): the two hosts' copies of the disk are different files
# at the same path, as on two machines. A udpcount guest (guests/udpcount.c) on 192.0.2.30 is
# protected by `xl remus` from one host to the other; a client on the LAN (rd_client) sends
# numbered increments every 5 ms and logs each answer; rd_kill cuts a host off the LAN and kills
# every process in its namespace (a host dying at once); rd_round runs one protect-kill-failover
# round and leaves its verdicts in RD_* variables. Expects xl-lib.sh sourced, runs as root.
NBK="$B/daemons/netback/keel-netback"
BBK="$B/daemons/blkback/keel-blkback"
W=$(mktemp -d /tmp/keel-rd-XXXXXX)
mkdir -p "$W/disk" "$W/A" "$W/B"
NS_A="keel-rda-$$" NS_B="keel-rdb-$$"
MAC=00:16:3e:00:0d:01
GIP=192.0.2.30
SLOTS=1024
DISK_MB=1

# on HOST COMMAND...: run it on host A or B (its network namespace, its disk at $W/disk, its
# runtime directory $W/run-<host>.<incarnation> from $W/<host>.rundir)
cat >"$W/on" <<EOF
#!/bin/sh
h=\$1; shift
case \$h in A) ns=$NS_A ;; B) ns=$NS_B ;; *) exit 2 ;; esac
rd=\$(cat "$W/\$h.rundir")
exec ip netns exec "\$ns" unshare -m sh -c 'mount --bind "\$1" "\$2" && shift 2 && exec "\$@"' \\
    sh "$W/\$h" "$W/disk" env KEEL_RUNDIR="\$rd" XENSTORED_PATH="\$rd/xenstored/socket" "\$@"
EOF
chmod +x "$W/on"
on() { "$W/on" "$@"; }

cat >"$W/client.py" <<'EOF'
# client.py IP PORT LOG STOPFILE: an increment ("inc SEQ") every 5 ms; each answer is logged
# as "ack SEQ VALUE T" (T monotonic), each send as "sent SEQ T"; ends when STOPFILE exists.
import os, socket, sys, time
ip, port, log, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
out = open(log, "w", buffering=1)
seq, nxt = 0, time.monotonic()
while not os.path.exists(stop):
    now = time.monotonic()
    if now >= nxt:
        seq += 1
        try:
            s.sendto(b"inc %d" % seq, (ip, port))
            out.write("sent %d %.6f\n" % (seq, now))
        except OSError:
            pass
        nxt = now + 0.005
    try:
        while True:
            d = s.recv(128).decode().split()
            if len(d) >= 3 and d[0] == "val":
                out.write("ack %s %s %.6f\n" % (d[2], d[1], time.monotonic()))
    except (BlockingIOError, UnicodeDecodeError):
        pass
    time.sleep(0.001)
EOF

cat >"$W/get.py" <<'EOF'
# get.py IP PORT: "get" until an answer (5 s): prints "VALUE DISK"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
end = time.monotonic() + 5
while time.monotonic() < end:
    s.sendto(b"get 1", (sys.argv[1], int(sys.argv[2])))
    try:
        d = s.recv(128).decode().split()
    except OSError:
        continue
    if len(d) == 5 and d[0] == "val" and d[3] == "disk":
        print(d[1], d[4]); sys.exit(0)
sys.exit(1)
EOF

cat >"$W/disklog.py" <<'EOF'
# disklog.py IMAGE SLOTS VALUE: the udpcount log on a disk image, checked from dom0: the largest
# value is VALUE and each of the last min(VALUE, SLOTS) values sits in its sector.
import sys
img, slots, v = open(sys.argv[1], "rb").read(), int(sys.argv[2]), int(sys.argv[3])
def at(k):
    b = img[512 * (1 + k % slots):512 * (2 + k % slots)]
    return int(b[9:b.index(b"\n")]) if b.startswith(b"udpcount ") else 0
best = max(at(k) for k in range(slots))
bad = [k for k in range(max(1, v - slots + 1), v + 1) if at(k) != k]
print("largest %d, %d of the last values misplaced" % (best, len(bad)))
sys.exit(0 if best == v and not bad else 1)
EOF

cat >"$W/verdict.py" <<'EOF'
# verdict.py LOG TKILL: the answers by sequence number must carry strictly increasing values
# (each increment acknowledged before the kill is in the state that answers after it).
# Prints "acked N before B lost L nonmono M first-after S" (L: acknowledged values that a later
# request's answer does not exceed, i.e. increments the state lost; M: answers in request order
# that did not increase; S: seconds from the kill to the first answer after it).
import sys
acks, tk = [], float(sys.argv[2])
for l in open(sys.argv[1]):
    f = l.split()
    if f[0] == "ack":
        acks.append((int(f[1]), int(f[2]), float(f[3])))
acks.sort()
before = [a for a in acks if a[2] <= tk]
after = [a for a in acks if a[2] > tk]
# an acknowledged value is lost when a later request was answered with a value not above it
lost, low = 0, None
for a in reversed(acks):
    if low is not None and low <= a[1]:
        lost += 1
    low = a[1] if low is None else min(low, a[1])
lost_any = sum(1 for i in range(1, len(acks)) if acks[i][1] <= acks[i - 1][1])
fa = min((a[2] for a in after), default=None)
print("acked %d before %d lost %d nonmono %d first-after %s" % (len(acks), len(before), lost,
      lost_any, "%.3f" % (fa - tk) if fa else "none"))
EOF

rd_net() { # the LAN and the two host namespaces
    ip link set lo up && ip link add lan0 type bridge && ip addr add 192.0.2.1/24 dev lan0 &&
        ip link set lan0 up && ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
    for h in A B; do
        eval hn=\$NS_$h
        ip link add "lan$h" type veth peer name "up$h" && ip link set "up$h" netns "$hn" &&
            ip link set "lan$h" master lan0 up && ip -n "$hn" link set lo up &&
            ip -n "$hn" link add xenbr0 type bridge && ip -n "$hn" link set xenbr0 up &&
            ip -n "$hn" link set "up$h" master xenbr0 up || return 1
    done
}

# rd_host_start HOST: a fresh incarnation of the host (new runtime directory, an empty disk)
rd_host_start() {
    eval hn=\$NS_$1
    rd=$(mktemp -d /tmp/keel-rd$1-XXXXXX) && echo "$rd" >"$W/$1.rundir" &&
        rm -f "$W/$1/c.img" && truncate -s ${DISK_MB}M "$W/$1/c.img" &&
        ip -n "$hn" link set "up$1" up &&
        on "$1" env KEEL_NETBACK="$NBK" KEEL_BLKBACK="$BBK" KEEL_VTPMD=none KEEL_CONSOLED=none \
            sh "$S/scripts/keel-host" start >/dev/null 2>&1
}

# rd_kill HOST: the host dies at once: off the LAN first (nothing leaves it after this
# instant), then every process in its network namespace is killed (the guests die with the core)
rd_kill() {
    eval hn=\$NS_$1
    ip -n "$hn" link set "up$1" down
    ip netns pids "$hn" | xargs -r kill -9
    wait_until 5 sh -c "[ -z \"\$(ip netns pids $hn)\" ]"
    rm -rf "$(cat "$W/$1.rundir")"
}

rd_stop_all() {
    for h in A B; do
        [ -f "$W/$h.rundir" ] || continue
        eval hn=\$NS_$h
        on "$h" sh "$S/scripts/keel-host" stop >/dev/null 2>&1
        ip netns pids "$hn" 2>/dev/null | xargs -r kill -9
        rm -rf "$(cat "$W/$h.rundir")"
    done
    ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null
    rm -rf "$W"
}

rd_guest_cfg() {
    printf 'name = "c1"\nkernel = "udpcount"\nmemory = 16\ncmdline = "ip=%s/24 slots=%s"\nvif = [ "bridge=xenbr0,ip=%s,mac=%s" ]\ndisk = [ "format=raw,vdev=xvda,access=rw,target=%s/disk/c.img" ]\n' \
        "$GIP" "$SLOTS" "$GIP" "$MAC" "$W" >"$W/c1.cfg"
}

# rd_diag HOST: what a failover left on HOST (domains, devices, backend logs, console)
rd_diag() {
    rd=$(cat "$W/$1.rundir")
    tail -n 5 "$W/remus.$1.out"; on "$1" "$XL" list; on "$1" "$XL" network-list c1
    on "$1" "$XL" block-list c1; on "$1" "$XL" debug-keys q; on "$1" "$XL" dmesg | tail -n 4
    tail -n 4 "$rd"/netback/keel-netback.log "$rd"/blkback/keel-blkback.log "$rd"/netback/*.stats
    on "$1" timeout 1 "$XL" console c1 </dev/null | tail -n 5
}

mono() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }

# rd_round PRIMARY BACKUP DELAY [xl remus options]: protect c1 (running on PRIMARY) to a fresh
# BACKUP, run the client, kill PRIMARY after DELAY seconds, wait for answers from BACKUP.
# Sets RD_REMUS (xl remus started), RD_VERDICT (verdict.py), RD_GET ("VALUE DISK" after), RD_DISK
# (disklog.py on BACKUP's image after the guest stopped: 0 ok), RD_FIRST (answers after kill).
rd_round() {
    p=$1 q=$2 delay=$3; shift 3
    RD_REMUS=1 RD_VERDICT= RD_GET= RD_DISK=1 RD_FIRST=1
    rd_host_start "$q" || return 1
    on "$p" "$XL" remus -i 50 -s '' "$@" c1 "$W/on $q $XL migrate-receive -r" \
        >"$W/remus.$q.out" 2>&1 &
    wait_until 10 sh -c "'$W/on' $q '$XL' list c1--incoming" && RD_REMUS=0
    rm -f "$W/stop"
    python3 "$W/client.py" "$GIP" 7001 "$W/client.log" "$W/stop" &
    cpid=$!
    sleep "$delay"
    rd_kill "$p"
    tk=$(mono)              # answers after this instant come from the backup
    # the backup answers: an acknowledgement received after the kill
    wait_until 10 awk -v t="$tk" '$1 == "ack" && $4 > t {f = 1} END {exit !f}' "$W/client.log" &&
        RD_FIRST=0
    [ $RD_FIRST -eq 0 ] || rd_diag "$q" >"$W/diag" 2>&1
    sleep 0.3
    touch "$W/stop"; wait "$cpid"
    RD_VERDICT=$(python3 "$W/verdict.py" "$W/client.log" "$tk")
    RD_GET=$(python3 "$W/get.py" "$GIP" 7001)
    on "$q" "$XL" destroy c1 >/dev/null 2>&1
    python3 "$W/disklog.py" "$W/$q/c.img" "$SLOTS" "${RD_GET%% *}" >"$W/disklog.out" 2>&1
    RD_DISK=$?
    on "$q" "$XL" create -q "$W/c1.cfg" >/dev/null 2>&1 # on again for the next round
}
