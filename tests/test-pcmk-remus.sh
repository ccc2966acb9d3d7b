#!/bin/sh
# test-pcmk-remus.sh - a real two-node Pacemaker/Corosync cluster drives ocf:keel:remus (issue 15
# item 5, docs/remus.md "The cluster test"). Nodes A and B are the host pair of
# tests/remus-dev-lib.sh (a network namespace each, on the LAN bridge lan0), each also in a mount
# and UTS namespace of its own (held by one process, $W/<node>.pid) with private tmpfs on /run,
# /dev/shm, /etc/corosync, /var/lib/corosync, /var/lib/pacemaker and /var/log/pacemaker, its
# own disk at $W/disk and its own Keel host whose runtime directory is $W/run there. Each node
# runs corosync (knet over UDP, 192.0.2.11 and .12, two_node) and pacemakerd. Read-only overlays,
# only inside the nodes' mount namespaces, add ocf:keel:remus (etc/ocf/keel-remus) to
# /usr/lib/ocf/resource.d and the test's fence agent fence_keelns to /usr/sbin: fencing a node
# kills every process in its network namespace (its corosync, pacemaker, Keel host and guests).
# The resource c1 (the udpcount guest, disk + vif) starts on A protected to B; a client on the
# LAN counts; node A is killed at once (off the LAN, every process killed); checked: B's
# Pacemaker sees A offline and fenced, stays quorate, runs c1 on B; the guest runs on B under
# its name and keeps answering with no acknowledged increment lost.
. "${KEEL_SRCDIR:-..}/tests/netns-reexec.sh"
netns_reexec keel-pcmk "Pacemaker cluster with ocf:keel:remus" "$0" "$@"
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
WHAT="Pacemaker cluster with ocf:keel:remus"
if "$B/config.status" --config 2>/dev/null | grep -q enable-sanitizers; then
    echo "1..0 # SKIP in the sanitizer build: the agent is shell over xl; test-xl-remus-dev.sh covers the Remus paths under the sanitizers; the plain build runs it"
    exit 0
fi
for c in corosync pacemakerd cibadmin crm_resource crm_mon crm_node stonith_admin nsenter unshare; do
    command -v "$c" >/dev/null 2>&1 && continue
    skip "$WHAT" "$c missing (scripts/install-deps.sh installs pacemaker, pacemaker-cli-utils, corosync)"
    done_tap; exit
done
if [ ! -x "$B/daemons/netback/keel-netback" ] || [ ! -x "$B/daemons/blkback/keel-blkback" ]; then
    skip "$WHAT" "keel-netback or keel-blkback not built"; done_tap; exit
fi
modprobe overlay 2>/dev/null
if ! grep -qw overlay /proc/filesystems; then
    skip "$WHAT" "no overlay file system (the nodes add the agents to /usr/lib/ocf and /usr/sbin by read-only overlays in their mount namespaces)"
    done_tap; exit
fi
. "$S/tests/remus-dev-lib.sh"
PATH="$B/cli:$PATH"
export PATH

# ---- the nodes ----
# on NODE COMMAND...: run it on the node (its namespaces, its Keel host's environment); also the
# agent's "ssh" to the backup
cat >"$W/on" <<EOF
#!/bin/sh
h=\$1; shift
p=\$(cat "$W/\$h.pid" 2>/dev/null) &&
    [ "\$(readlink /proc/\$p/ns/net 2>/dev/null)" = "\$(cat "$W/\$h.netns")" ] ||
    { echo "on: node \$h is down" >&2; exit 2; }
exec nsenter -t "\$p" -m -u -n env KEEL_RUNDIR="$W/run" XENSTORED_PATH="$W/run/xenstored/socket" "\$@"
EOF
# the hosts' runtime directories as seen from outside the nodes (rd_kill and rd_stop_all remove
# them; $W/run itself is a mount point inside the nodes and must stay)
echo "$W/run-A" >"$W/A.rundir"; echo "$W/run-B" >"$W/B.rundir"
mkdir -p "$W/run" "$W/run-A" "$W/run-B" "$W/log-A" "$W/log-B" "$W/ocf/keel" "$W/sbin"
chmod 711 "$W"          # the daemons that run as hacluster write their logs under it
chmod 777 "$W/log-A" "$W/log-B"
ln -s "$S/etc/ocf/keel-remus" "$W/ocf/keel/remus"

# fence_keelns: the fence agent (RHCS style: key=value lines on stdin, or -o ACTION -n NODE):
# off and reboot kill every process in the node's network namespace (named by
# $W/NODE.netns) and wait until none is left: the node is powered off for good (reboot does not
# bring it back: stonith-action=off is configured); status says 0 (on) while the namespace has
# processes, 2 (off) when it has none; list names the nodes; monitor checks the map.
cat >"$W/sbin/fence_keelns" <<EOF
#!/bin/sh
action=off plug=
while [ \$# -gt 0 ]; do
    case \$1 in -o) action=\$2; shift ;; -n) plug=\$2; shift ;; esac; shift
done
if [ ! -t 0 ]; then
    while IFS='=' read -r k v; do
        case \$k in action|option) action=\$v ;; port|plug) plug=\$v ;; nodename) [ -n "\$plug" ] || plug=\$v ;; esac
    done
fi
pids() { # the processes of network namespace \$1
    for d in /proc/[0-9]*; do
        [ "\$(readlink "\$d/ns/net" 2>/dev/null)" = "\$1" ] && echo "\${d#/proc/}"
    done
}
ns() { [ -n "\$plug" ] && [ -r "$W/\$plug.netns" ] || { echo "fence_keelns: unknown node '\$plug'" >&2; exit 1; }
    cat "$W/\$plug.netns"; }
case \$action in
metadata) cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_keelns" shortdesc="Fences a Keel test node by killing every process in its network namespace">
<longdesc>Test fence agent of tests/test-pcmk-remus.sh: off kills the node's processes.</longdesc>
<parameters>
<parameter name="action" unique="0" required="1"><getopt mixed="-o, --action=[action]"/><content type="string" default="off"/><shortdesc lang="en">Fencing action</shortdesc></parameter>
<parameter name="plug" unique="0" required="1"><getopt mixed="-n, --plug=[node]"/><content type="string"/><shortdesc lang="en">Node to fence</shortdesc></parameter>
</parameters>
<actions>
<action name="off"/><action name="reboot"/><action name="status"/><action name="list"/><action name="monitor"/><action name="metadata"/>
</actions>
</resource-agent>
XML
    ;;
list) echo A; echo B ;;
monitor) [ -r "$W/A.netns" ] && [ -r "$W/B.netns" ] ;;
status) n=\$(ns); [ -n "\$(pids "\$n")" ] && exit 0; exit 2 ;;
off|reboot)
    n=\$(ns)
    echo "\$(date +%T) fence_keelns: \$action \$plug (\$n)" >>"$W/fence.log"
    for t in 1 2 3 4 5 6 7 8 9 10; do
        p=\$(pids "\$n")
        [ -z "\$p" ] && exit 0
        kill -9 \$p 2>/dev/null; sleep 0.2
    done
    exit 1 ;;
*) echo "fence_keelns: action \$action is not supported" >&2; exit 1 ;;
esac
EOF
# crm NODE COMMAND...: a Pacemaker tool on the node, bounded to 10 s
printf '#!/bin/sh\nexec timeout 10 "%s/on" "$@"\n' "$W" >"$W/crm"
chmod +x "$W/on" "$W/crm" "$W/sbin/fence_keelns"
crm() { "$W/crm" "$@"; }

cat >"$W/corosync.conf" <<EOF
totem {
    version: 2
    cluster_name: keeltest
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: 1000
}
nodelist {
    node {
        ring0_addr: 192.0.2.11
        name: A
        nodeid: 1
    }
    node {
        ring0_addr: 192.0.2.12
        name: B
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_stderr: no
    to_syslog: no
    to_logfile: yes
    logfile: $W/log-NODE/corosync.log
    timestamp: on
}
EOF

# the CIB both nodes start from: fencing on (the agent above, action off), the survivor of a
# two-node cluster keeps quorum through corosync's two_node, so no-quorum-policy stays "stop"
cat >"$W/cib.xml" <<'EOF'
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="true"/>
        <nvpair id="opt-stonith-action" name="stonith-action" value="off"/>
        <nvpair id="opt-no-quorum-policy" name="no-quorum-policy" value="stop"/>
        <nvpair id="opt-cluster-recheck" name="cluster-recheck-interval" value="1min"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="3s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
EOF

# node.sh NODE IP: runs as the node's first process, in its network namespace and fresh mount
# and UTS namespaces; sets the node up, starts corosync and pacemakerd, then holds the
# namespaces (its pid is $W/NODE.pid once the node is up)
cat >"$W/node.sh" <<EOF
set -e
h=\$1
hostname "\$h"
ip addr add "\$2/24" dev xenbr0
mount --make-rprivate /
mount --bind "$W/\$h" "$W/disk"
mount --bind "$W/run-\$h" "$W/run"
for d in /run /dev/shm /etc/corosync /var/lib/corosync /var/lib/pacemaker /var/log/pacemaker; do
    mount -t tmpfs -o mode=755 tmpfs "\$d"
done
chmod 1777 /dev/shm
mkdir -p /run/crm /run/resource-agents /run/lock /etc/corosync/uidgid.d \\
    /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox \\
    /var/lib/pacemaker/cores /var/log/pacemaker/bundles
mount -t overlay -o "lowerdir=$W/ocf:/usr/lib/ocf/resource.d" overlay /usr/lib/ocf/resource.d
mount -t overlay -o "lowerdir=$W/sbin:/usr/sbin" overlay /usr/sbin
sed "s/NODE/\$h/" "$W/corosync.conf" >/etc/corosync/corosync.conf
printf 'uidgid {\n    uid: hacluster\n    gid: haclient\n}\n' >/etc/corosync/uidgid.d/pacemaker
cp "$W/cib.xml" /var/lib/pacemaker/cib/cib.xml
chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker /run/crm
chmod 750 /var/lib/pacemaker/cib
corosync -f >"$W/log-\$h/corosync.out" 2>&1 &
t=100
until corosync-cfgtool -s >/dev/null 2>&1; do
    t=\$((t - 1)); [ \$t -gt 0 ] || { echo "node \$h: corosync did not start" >&2; exit 1; }
    sleep 0.1
done
PCMK_logfile="$W/log-\$h/pacemaker.log" PCMK_logfacility=none pacemakerd -f \\
    >"$W/log-\$h/pacemakerd.out" 2>&1 &
echo \$\$ >"$W/\$h.pid"
exec sleep 3600
EOF

# pk_node NODE IP: start the node and its Keel host
pk_node() {
    eval hn=\$NS_$1
    ip netns exec "$hn" readlink /proc/self/ns/net >"$W/$1.netns" &&
        truncate -s ${DISK_MB}M "$W/$1/c.img" || return 1
    ip netns exec "$hn" unshare -m -u sh "$W/node.sh" "$1" "$2" >"$W/log-$1/node.out" 2>&1 &
    wait_until 15 test -s "$W/$1.pid" || { sed "s/^/# node $1: /" "$W/log-$1/node.out"; return 1; }
    on "$1" env KEEL_NETBACK="$NBK" KEEL_BLKBACK="$BBK" KEEL_VTPMD=none KEEL_CONSOLED=none \
        sh "$S/scripts/keel-host" start >/dev/null 2>&1
}
pk_diag() { # what the cluster said, for a failure
    for h in A B; do
        echo "--- node $h"; crm "$h" crm_mon -1 -A 2>&1
        tail -n 15 "$W/log-$h/pacemaker.log" "$W/log-$h/corosync.log" "$W/log-$h/pacemakerd.out"
        tail -n 5 "$W/run-$h/ocf/c1.remus.log"
    done 2>/dev/null | sed 's/^/# /'
}
# where_runs NODE: the nodes Pacemaker on NODE says c1 runs on
where_runs() { crm "$1" crm_resource --locate -r c1 -Q 2>/dev/null | tr '\n' ' '; }
domains() { on "$1" xl list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0" { print $1 }' | tr '\n' ' '; }
# at exit, also on failure or a signal: the client, both nodes (every process in their network
# namespaces: holders, corosync, pacemaker, Keel hosts; their mount namespaces go with them), the
# namespaces, $W. PK_KEEP=DIR keeps the nodes' logs there.
cpid=
trap '[ -z "$cpid" ] || kill "$cpid" 2>/dev/null; [ -z "${PK_KEEP:-}" ] || cp -r "$W/log-A" "$W/log-B" "$PK_KEEP"/
    rd_stop_all; cleanup' EXIT

rd_net; ok $? "a LAN bridge and node namespaces $NS_A and $NS_B"
pk_node A 192.0.2.11 && pk_node B 192.0.2.12; ok $? "nodes A and B: corosync, pacemakerd and a Keel host each"
if on A xl info 2>/dev/null | grep -q "^logdirty_engine *: *none"; then
    skip "$WHAT" "no log-dirty engine on this kernel (xl remus refuses)"; done_tap; exit
fi
rd_guest_cfg
wait_until 20 sh -c "'$W/crm' A crm_mon -1 2>/dev/null | grep -q 'Online: \\[ A B \\]'"
ok $? "the cluster forms: Pacemaker on A sees A and B online"
[ $failed -eq 0 ] || { pk_diag; done_tap; exit; }

# the fence device and the resource: c1 prefers A, stays where it runs
crm A cibadmin --create -o resources --xml-text "<primitive id='fence-ns' class='stonith' type='fence_keelns'>
  <instance_attributes id='fence-ns-ia'>
    <nvpair id='fence-ns-hl' name='pcmk_host_list' value='A B'/>
    <nvpair id='fence-ns-hc' name='pcmk_host_check' value='static-list'/>
  </instance_attributes>
  <operations><op id='fence-ns-mon' name='monitor' interval='60s'/></operations></primitive>"
ok $? "cibadmin: the fence device fence-ns (stonith:fence_keelns)"
crm A cibadmin --create -o resources --xml-text "<primitive id='c1' class='ocf' provider='keel' type='remus'>
  <instance_attributes id='c1-ia'>
    <nvpair id='c1-config' name='config' value='$W/c1.cfg'/>
    <nvpair id='c1-backup' name='backup' value='A B'/>
    <nvpair id='c1-ssh' name='ssh' value='$W/on'/>
    <nvpair id='c1-interval' name='interval' value='50'/>
    <nvpair id='c1-options' name='options' value='--debug'/>
    <nvpair id='c1-rundir' name='rundir' value='$W/run'/>
    <nvpair id='c1-shutdown' name='shutdown_timeout' value='0'/>
    <nvpair id='c1-takeover' name='takeover_timeout' value='30'/>
    <nvpair id='c1-env' name='keel_host_env' value='PATH=$PATH'/>
  </instance_attributes>
  <meta_attributes id='c1-meta'><nvpair id='c1-stick' name='resource-stickiness' value='100'/></meta_attributes>
  <operations>
    <op id='c1-start' name='start' interval='0' timeout='60s'/>
    <op id='c1-stop' name='stop' interval='0' timeout='60s'/>
    <op id='c1-monitor' name='monitor' interval='2s' timeout='20s'/>
  </operations></primitive>" &&
    crm A cibadmin --create -o constraints --xml-text \
        "<rsc_location id='c1-prefers-A' rsc='c1' node='A' score='50'/>"
ok $? "cibadmin: the resource c1 (ocf:keel:remus) preferring A"
wait_until 30 sh -c "'$W/crm' B crm_mon -1 2>/dev/null | grep -q 'c1.*Started A'"
ok $? "Pacemaker starts c1 on A (crm_mon on B: c1 Started A)"
wait_until 15 grep -q '^Remus: checkpoint 3:' "$W/run-A/ocf/c1.remus.log"
ok $? "c1 runs on A protected to B: B acknowledges checkpoints"
[ "$(domains A)" = "c1 " ]; ok $? "the domain runs on A ($(domains A))"
on B xl list c1--incoming >/dev/null 2>&1; ok $? "B holds the replica c1--incoming"
[ $failed -eq 0 ] || { pk_diag; done_tap; exit; }

rm -f "$W/stop"
python3 "$W/client.py" "$GIP" 7001 "$W/client.log" "$W/stop" &
cpid=$!
wait_until 10 grep -q '^ack' "$W/client.log"; ok $? "the guest answers the client's increments (from A)"
sleep 0.5
rd_kill A
tk=$(mono)
[ -z "$(ip netns pids "$NS_A")" ]; ok $? "node A killed: no process is left in its namespace (corosync, pacemaker, Keel host)"
wait_until 30 sh -c "'$W/crm' B crm_mon -1 2>/dev/null | grep -q 'OFFLINE: \\[ A \\]'"
ok $? "Pacemaker on B sees A offline"
wait_until 30 sh -c "'$W/crm' B crm_mon -1 2>/dev/null | grep -q 'c1.*Started B'"
ok $? "Pacemaker runs c1 on B (crm_mon on B: c1 Started B)"
[ "$(where_runs B)" = "B " ]; ok $? "crm_resource --locate on B: c1 runs on B only ($(where_runs B))"
crm B stonith_admin --history A 2>&1 | grep -q "off of A successful"
ok $? "A was fenced (stonith_admin --history: $(crm B stonith_admin --history A 2>&1 | head -n 1))"
# the order in B's log: A fenced, then c1 started on B
lb="$W/log-B/pacemaker.log"
f=$(grep -n "Peer A was terminated (off) by B.*: OK" "$lb" | head -n 1 | cut -d: -f1)
st=$(grep -n "Result of start operation for c1 on B: ok" "$lb" | head -n 1 | cut -d: -f1)
[ -n "$f" ] && [ -n "$st" ] && [ "$f" -lt "$st" ]
ok $? "Pacemaker fenced A before it started c1 on B (log lines ${f:-none} < ${st:-none})"
[ "$(crm B crm_node -q 2>/dev/null)" = 1 ]; ok $? "B is quorate alone (two_node)"
[ "$(domains B)" = "c1 " ]; ok $? "the domain runs on B under its name ($(domains B))"
wait_until 10 awk -v t="$tk" '$1 == "ack" && $4 > t {f = 1} END {exit !f}' "$W/client.log"
ok $? "the guest answers on the LAN after A died (from B)"
sleep 0.3
touch "$W/stop"; wait "$cpid"; cpid=
v=$(python3 "$W/verdict.py" "$W/client.log" "$tk")
echo "$v" | grep -q " lost 0 "; ok $? "no acknowledged increment lost across the failover ($v)"
crm B crm_mon -1 2>/dev/null | grep -q 'c1.*Started B'; ok $? "crm_mon on B: c1 still Started B"
[ $failed -eq 0 ] || pk_diag
done_tap
