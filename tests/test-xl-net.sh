#!/bin/sh
# test-xl-net.sh - PV network devices (vifs) through xl and liblight on a private host, run in a
# network namespace of its own (real taps and bridges, nothing touches the machine's network):
# the vif spec of xl-network-configuration(5) (every key, rate conversion, errors naming the
# key and the position); xl network-attach / -list / -detach arguments, messages and exit codes;
# the store layout and permissions of docs/device-net.md (seen while network-attach waits for
# the backend); without a backend: the InitWait timeout with a clear message and nothing left,
# create with vif= failing cleanly; the hotplug scripts vif-bridge and vif-route run directly on
# taps made with `ip tuntap` (bridge given, first bridge, xenbrN -> ethN, MTU from the store or
# the bridge, frontend mtu written, missing bridge, routes and proxy ARP, offline removing the
# port, the routes and the tap). With keel-netback running (started by keel-host), also attach /
# list / detach on a running guest, create with vif=, a failing script, destroy cleanup, and
# with the netecho guest ping and UDP echo across a bridge, two guests reaching each other,
# hot-plug and unplug, save/restore and live migration to a second host (same MAC, ping again).
. "${KEEL_SRCDIR:-..}/tests/netns-reexec.sh"
netns_reexec keel-net "PV network tests" "$0" "$@"
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
export KEEL_DEVICE_TIMEOUT=3
VB="$S/scripts/hotplug/vif-bridge"
VR="$S/scripts/hotplug/vif-route"
ip link set lo up
nx() { ! xenstore-read "$1" >/dev/null 2>&1; }       # no such store node
nolink() { ! ip link show dev "$1" >/dev/null 2>&1; }  # no such interface

# ---- the vif spec (no host needed) ----
spec() { $XL -N network-attach 1 "$@" 2>&1; }
out=$(spec mac=00:16:3E:12:34:56 bridge=br0 ip="192.0.2.5 192.0.2.6/32" script=vif-route \
      vifname=web0 type=vif model=e1000 devid=3 mtu=9000 gatewaydev=eth1 rate=10Mb/s@20ms)
for kv in '"mac": "00:16:3e:12:34:56"' '"bridge": "br0"' '"ip": "192.0.2.5 192.0.2.6/32"' \
          '"script": "vif-route"' '"ifname": "web0"' '"nictype": "vif"' '"devid": 3' \
          '"mtu": 9000' '"gatewaydev": "eth1"' '"rate_bytes_per_interval": 25000' \
          '"rate_interval_usecs": 20000'; do
    echo "$out" | grep -q "$kv"; ok $? "network-attach -N: $kv"
done
echo "$out" | grep -q "warning: vif: model=e1000 names an emulated NIC.*ignored"; ok $? "model= warns that an emulated NIC is ignored"
for r in "10Mb/s:62500:50000" "1MB/s@20ms:20000:20000" "250KB/s:12500:50000" "8Gb/s@100us:100000:100"; do
    set -- $(echo "$r" | tr ':' ' ')
    out=$(spec rate=$1)
    echo "$out" | grep -q "\"rate_bytes_per_interval\": $2," && echo "$out" | grep -q "\"rate_interval_usecs\": $3"
    ok $? "rate=$1 is $2 bytes every $3 us (the backend's \"bytes,usecs\")"
done
spec netdev=eth2 | grep -q '"gatewaydev": "eth2"'; ok $? "netdev= is gatewaydev"
for bad in "mac=00:16:3e:00:00:zz|invalid MAC" "rate=10Mb|invalid rate" "rate=10Mb/s@5h|invalid replenishment" \
           "mtu=20|invalid mtu" "devid=x|invalid devid" "type=tap|invalid type" "colour=blue|unknown keyword"; do
    arg=${bad%%|*}; msg=${bad#*|}
    out=$(spec "$arg"); rc=$?
    [ $rc -eq 1 ] && echo "$out" | grep -q "$msg" && echo "$out" | grep -qF "$arg"; ok $? "'$arg' is refused, naming the key and value (exit 1)"
done
cfg="$KEEL_RUNDIR/v.cfg"
printf 'name = "v"\nkernel = "counter"\nmemory = 32\nvif = [ "bridge=xenbr0", "rate=1MB/s,mac=00:16:3e:00:00:0g" ]\n' >"$cfg"
$XL -N create "$cfg" 2>&1 | grep -q "v.cfg:4:26: vif\[1\]: invalid MAC address.*mac=00:16:3e:00:00:0g"; ok $? "a bad key in vif= is reported with file:line:column and the entry's index"
printf 'name = "v"\nkernel = "counter"\nmemory = 32\nvif = [ "devid=1", "" ]\n' >"$cfg"
$XL -N create "$cfg" 2>&1 | grep -q "devid 1 of vif\[1\] is already used by vif\[0\]"; ok $? "duplicate devids in vif= are refused"
printf 'name = "v"\nkernel = "counter"\nmemory = 32\nvif = [ "ip=192.0.2.9,vifname=g0" ]\n' >"$cfg"
$XL -N create "$cfg" | grep -q '"ifname": "g0"'; ok $? "vif= with ip and vifname parses"
$XL network-attach >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "network-attach without arguments is a usage error (2)"
$XL network-detach 1 >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "network-detach needs a device (2)"

if ! have_xs; then
    skip "PV network tests on a host" "xenstore-utils not installed"; done_tap; exit
fi
# first without a network backend (the layout, the timeout), keel-netback started further down
KEEL_NETBACK=none host start >/dev/null 2>&1; ok $? "a private host starts (in network namespace $KEEL_NETNS)"
backend=$(sh "$S/scripts/keel-host" status 2>/dev/null | grep -c "keel-netback: running")
$XL create -q -p examples/counter.cfg name=n1 2>/dev/null; ok $? "create a paused guest n1"
d=$($XL domid n1)

# ---- errors found before anything is written ----
$XL network-attach nosuch bridge=br0 2>&1 | grep -q "nosuch is an invalid domain identifier"; ok $? "an unknown domain: xl's message"
$XL network-attach n1 script=nosuchscript 2>&1 | grep -q "hotplug script 'nosuchscript' not found"; ok $? "a missing hotplug script is reported"
$XL network-attach n1 type=ioemu 2>&1 | grep -q "type=ioemu: Keel's guests are PV"; ok $? "type=ioemu is refused (no emulated NIC)"
$XL network-attach n1 backend=drv 2>&1 | grep -q "driver domains are not supported yet"; ok $? "backend= another domain is refused"
$XL network-attach n1 vlan=10 2>&1 | grep -q "vlan=10: VLAN tagging is not supported"; ok $? "vlan= is refused: the backend does not tag"
$XL network-attach n1 vifname=much-too-long-name 2>&1 | grep -q "vifname 'much-too-long-name' is not an interface name"; ok $? "a vifname longer than 15 characters is refused"
$XL network-attach n1 "ip=192.0.2.300" 2>&1 | grep -q "ip: '192.0.2.300' is not an IPv4 or IPv6 address"; ok $? "a bad ip= address is refused, quoting it"
$XL network-attach n1 "ip=192.0.2.3/33" 2>&1 | grep -q "libxl_device_nic_add failed."; ok $? "a bad prefix too, with xl's last line"
[ -z "$(xenstore-list /local/domain/0/backend/vif 2>/dev/null)" ] && nx /libxl/$d/device/vif; ok $? "and none of them wrote a node"

# ---- the nodes as written (seen while the toolstack waits for the backend) ----
if [ "$backend" -eq 0 ]; then
    $XL network-attach n1 mac=00:16:3e:0a:0b:0c bridge=br9 ip=192.0.2.7 rate=1MB/s@20ms mtu=9000 \
        vifname=web7 gatewaydev=lo devid=2 >"$KEEL_RUNDIR/att.out" 2>&1 &
    apid=$!
    be=/local/domain/0/backend/vif/$d/2
    fe=/local/domain/$d/device/vif/2
    wait_until 5 xenstore-read $be/hotplug-status; ok $? "network-attach writes the backend dir $be"
    ls=$(xenstore-ls -p $be)
    echo "$ls" | grep -q "^frontend = \"$fe\".*(n0,r$d)"; ok $? "BE frontend link, owner 0, the guest may read"
    for kv in "frontend-id = \"$d\"" 'online = "1"' 'state = "1"' "script = \"$VB\"" \
              'mac = "00:16:3e:0a:0b:0c"' 'bridge = "br9"' 'handle = "2"' 'type = "vif"' \
              'hotplug-status = ""' 'vifname = "web7"' 'ip = "192.0.2.7"' 'gatewaydev = "lo"' \
              'rate = "20000,20000"' 'mtu = "9000"'; do
        echo "$ls" | grep -q "^$kv"; ok $? "BE key $kv"
    done
    xenstore-ls -p /local/domain/0/backend/vif/$d | grep -q "^2 = \"\".*(n0,r$d)"; ok $? "BE dir permissions n0,r$d"
    fls=$(xenstore-ls -p /local/domain/$d/device/vif)
    echo "$fls" | grep -q "^2 = \"\".*(n$d,r0)"; ok $? "FE dir owned by the guest, backend may read (n$d,r0)"
    for kv in "backend = \"$be\"" 'backend-id = "0"' 'state = "1"' 'handle = "2"' \
              'mac = "00:16:3e:0a:0b:0c"' 'trusted = "1"'; do
        echo "$fls" | grep -q "^ $kv"; ok $? "FE key $kv"
    done
    echo "$fls" | grep -q '^ mtu = "9000".*(n0,r'"$d"')'; ok $? "FE mtu is Domain-0's, the guest may only read it (n0,r$d)"
    [ "$(xenstore-read /libxl/$d/device/vif/2/backend)" = "$be" ] &&
        [ "$(xenstore-read /libxl/$d/device/vif/2/frontend)" = "$fe" ]; ok $? "bookkeeping /libxl/$d/device/vif/2"
    wait $apid; rc=$?
    [ $rc -eq 1 ] && grep -q "vif 2: the backend did not reach InitWait.*within 3 s (is keel-netback running?)" "$KEEL_RUNDIR/att.out" &&
        grep -q "libxl_device_nic_add failed." "$KEEL_RUNDIR/att.out"; ok $? "without a backend the attach fails after the timeout, saying why"
    nx $be/mac && nx $fe/backend && nx /libxl/$d/device/vif/2/backend &&
        nx /local/domain/0/backend/vif/$d; ok $? "and removes every node it wrote"
    $XL list -l n1 | grep -q '"nics"'; [ $? -ne 0 ]; ok $? "a failed attach leaves the stored config without the vif"
    # defaults: devid 0 then one past the highest, a random 00:16:3e MAC, no bridge key, mtu 1500
    $XL network-attach n1 >/dev/null 2>&1 &
    apid=$!
    wait_until 5 xenstore-read /local/domain/0/backend/vif/$d/0/mac; ok $? "without devid= the first vif is devid 0"
    mac=$(xenstore-read /local/domain/0/backend/vif/$d/0/mac)
    echo "$mac" | grep -Eq '^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$'; ok $? "a random MAC in Xen's OUI ($mac)"
    nx /local/domain/0/backend/vif/$d/0/bridge && nx /local/domain/0/backend/vif/$d/0/mtu &&
        [ "$(xenstore-read /local/domain/$d/device/vif/0/mtu)" = 1500 ] &&
        [ "$(xenstore-read /local/domain/0/backend/vif/$d/0/script)" = "$VB" ]; ok $? "no bridge key, no BE mtu, FE mtu 1500, script vif-bridge by default"
    wait $apid
    # create with vif=: fails without a backend, leaves no domain and no node
    $XL create -q examples/counter.cfg name=nd "vif=['bridge=br0']" >"$KEEL_RUNDIR/cr.out" 2>&1; rc=$?
    [ $rc -ne 0 ] && grep -q "vif 0: the backend did not reach InitWait" "$KEEL_RUNDIR/cr.out"; ok $? "create with vif= and no backend fails with the vif's error"
    not $XL list nd 2>/dev/null && [ -z "$(xenstore-list /libxl 2>/dev/null | grep -vx "$d")" ] &&
        [ -z "$(xenstore-list /local/domain/0/backend/vif 2>/dev/null)" ]; ok $? "and leaves no domain, no bookkeeping, no backend node"
else
    skip "store layout while waiting for a backend" "keel-netback runs: see the attach tests below"
fi

# ---- keeld's domain.network_* and Python's Context.network_* (the same liblight calls) ----
# $1: whether a backend serves vifs; a run without one checks that attach fails cleanly
api_checks() {
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$S/daemons/keeld/tests:$KEEL_RUNDIR/py" \
    LD_LIBRARY_PATH="$B/liblight/.libs:$B/libguest/.libs:$B/libctrl/.libs" \
    python3 - "$1" "$2" <<'PYEOF'
import os, sys
backend, api = sys.argv[1] == "1", sys.argv[2]
n = int(os.environ["N0"])
def ok(c, what):
    global n
    n += 1
    print(("ok %d - " if c else "not ok %d - ") % n + what, flush=True)
if api == "keeld":
    import keelrpc
    c = keelrpc.Client.unix(os.path.join(os.environ["KEEL_RUNDIR"], "keeld", "socket"))
    def err(f, code, text=""):
        try:
            f()
        except keelrpc.RpcError as e:
            return e.code == code and text in str(e)
        return False
    ok(c.call("domain.network_list", domain="n1") == [], "keeld domain.network_list: no vif yet")
    ok(err(lambda: c.call("domain.network_attach", domain="n1", spec="rate=10Mb"), -32004, "invalid rate"),
       "keeld domain.network_attach: a bad spec is a config error naming the key")
    ok(err(lambda: c.call("domain.network_attach", domain="n1", spec="type=ioemu"), -32602),
       "keeld domain.network_attach: type=ioemu is invalid params")
    ok(err(lambda: c.call("domain.network_attach", domain="n1", spec=7), -32602) and
       err(lambda: c.call("domain.network_attach", domain="n1", spec="x" * 2000), -32602),
       "keeld domain.network_attach: spec not a string or too long")
    ok(err(lambda: c.call("domain.network_detach", domain="n1", device=9), -32602, "no vif 9") and
       err(lambda: c.call("domain.network_detach", domain="n1", device=[1]), -32602) and
       err(lambda: c.call("domain.network_detach", domain="n1", device="zz:1"), -32602),
       "keeld domain.network_detach: an absent vif, a wrong type, a bad MAC")
    if backend:
        a = c.call("domain.network_attach", domain="n1", spec="bridge=xenbr0,devid=5")
        ok(a["devid"] == 5 and a["mac"].startswith("00:16:3e:"), "keeld domain.network_attach answers the devid and the MAC chosen")
        lst = c.call("domain.network_list", domain="n1")
        ok(len(lst) == 1 and lst[0]["hotplug_status"] == "connected" and lst[0]["bridge"] == "xenbr0",
           "keeld domain.network_list shows it connected")
        ok(c.call("domain.network_detach", domain="n1", device=a["mac"])["device"] == a["mac"],
           "keeld domain.network_detach by MAC")
        ok(c.call("domain.network_list", domain="n1") == [], "and it is gone")
    else:
        ok(err(lambda: c.call("domain.network_attach", domain="n1", spec="bridge=xenbr0"), -32003,
               "did not reach InitWait"), "keeld domain.network_attach without a backend fails, saying why")
        ok(c.call("domain.network_list", domain="n1") == [], "and leaves no vif")
else:
    import keel
    with keel.Context(os.environ["KEEL_RUNDIR"]) as ctx:
        ok(ctx.network_list("n1") == [], "Python Context.network_list: no vif yet")
        try:
            ctx.network_attach("n1", "mtu=20")
            ok(False, "Python network_attach with a bad spec raises ConfigError")
        except keel.ConfigError as e:
            ok("invalid mtu" in str(e), "Python network_attach with a bad spec raises ConfigError naming the key")
        try:
            ctx.network_detach("n1", 1.5)
            ok(False, "Python network_detach: a float is a TypeError")
        except TypeError:
            ok(True, "Python network_detach: a float is a TypeError")
        if backend:
            devid, mac = ctx.network_attach("n1", "bridge=xenbr0")
            l = ctx.network_list("n1")
            ok(len(l) == 1 and l[0]["devid"] == devid and l[0]["mac"] == mac and l[0]["hotplug_status"] == "connected",
               "Python network_attach -> (devid, mac), network_list shows it connected")
            ctx.network_detach("n1", devid)
            ok(ctx.network_list("n1") == [], "Python network_detach by devid")
        else:
            try:
                ctx.network_attach("n1", "bridge=xenbr0")
                ok(False, "Python network_attach without a backend raises")
            except keel.Error as e:
                ok("did not reach InitWait" in str(e), "Python network_attach without a backend raises keel.Error saying why")
            ok(ctx.network_list("n1") == [], "and leaves no vif")
PYEOF
}
api_count() { # the TAP lines the Python above printed
    grep -c '^\(not \)\?ok ' "$KEEL_RUNDIR/api.out"
}
run_api() { # BACKEND
    if [ -x "$B/daemons/keeld/keeld" ] && "$B/daemons/keeld/keeld" >/dev/null 2>&1; then
        N0=$n api_checks "$1" keeld >"$KEEL_RUNDIR/api.out" 2>&1; cat "$KEEL_RUNDIR/api.out"
        n=$((n + $(api_count))); failed=$((failed + $(grep -c '^not ok' "$KEEL_RUNDIR/api.out")))
        kill "$(cat "$KEEL_RUNDIR/keeld/keeld.pid" 2>/dev/null)" 2>/dev/null
    else
        skip "keeld domain.network_*" "keeld did not start"
    fi
    suffix=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    so="$B/bindings/python/.libs/_keel$suffix"
    if [ -f "$so" ] && ! ldd "$so" 2>/dev/null | grep -q libasan; then
        mkdir -p "$KEEL_RUNDIR/py/keel"
        ln -sf "$S/bindings/python/keel/__init__.py" "$KEEL_RUNDIR/py/keel/__init__.py"
        ln -sf "$so" "$KEEL_RUNDIR/py/keel/_keel$suffix"
        N0=$n api_checks "$1" python >"$KEEL_RUNDIR/api.out" 2>&1; cat "$KEEL_RUNDIR/api.out"
        n=$((n + $(api_count))); failed=$((failed + $(grep -c '^not ok' "$KEEL_RUNDIR/api.out")))
    else
        skip "Python Context.network_*" "module not built (or a sanitizer build: see bindings/python)"
    fi
}
run_api "$backend"

# ---- the hotplug scripts on their own, on real taps (nodes written with xenstore-write) ----
vs() { # SCRIPT COMMAND DOMID DEVID [VIF] [NETDEV] -> runs the script as liblight does
    XENBUS_PATH=backend/vif/$3/$4 XENBUS_TYPE=vif XENBUS_BASE_PATH=backend script="$1" \
        vif=${5:-vif$3.$4} netdev=${6:-} "$1" "$2" type_if=vif </dev/null >/dev/null 2>&1
}
hs() { xenstore-read "backend/vif/$1/hotplug-status" 2>/dev/null; }
herr() { xenstore-read "backend/vif/$1/hotplug-error" 2>/dev/null; }
tap() { ip tuntap add dev "$1" mode tap; }
master() { ip -o link show dev "$1" | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }
tap vif901.0
vs "$VB" online 901 0; [ $? -eq 1 ] && [ "$(hs 901/0)" = error ] && herr 901/0 | grep -q "no bridge given and none found"; ok $? "vif-bridge online with no bridge on the host: exit 1, hotplug-error says so"
xenstore-write backend/vif/901/0/bridge br9
vs "$VB" online 901 0; [ $? -eq 1 ] && herr 901/0 | grep -q "bridge br9 does not exist"; ok $? "a configured bridge that does not exist is an error naming it"
ip link add brA type bridge && ip link set brA mtu 1400 && ip link set brA up
ip link add br9 type bridge && ip link set br9 up
vs "$VB" online 901 0; rc=$?
[ $rc -eq 0 ] && [ "$(hs 901/0)" = connected ] && [ "$(master vif901.0)" = br9 ]; ok $? "vif-bridge online: the tap joins the configured bridge, hotplug-status=connected"
ip -o link show dev vif901.0 | grep -q "link/ether fe:ff:ff:ff:ff:ff"; ok $? "the tap's MAC is fe:ff:ff:ff:ff:ff"
ip -o link show dev vif901.0 | grep -q "state UP\|<.*UP.*>"; ok $? "and it is up"
[ "$(xenstore-read /local/domain/901/device/vif/0/mtu)" = 1500 ]; ok $? "its MTU is the bridge's, written to the frontend's mtu"
vs "$VB" offline 901 0; rc=$?
[ $rc -eq 0 ] && nolink vif901.0; ok $? "vif-bridge offline: the tap leaves the bridge and is deleted"
[ -z "$(ip -o link show master br9)" ]; ok $? "br9 has no port left"
vs "$VB" offline 901 0; ok $? "offline again (the tap gone) exits 0"
tap vif902.1
xenstore-write backend/vif/902/1/mtu 1280
vs "$VB" online 902 1; rc=$?
[ $rc -eq 0 ] && [ "$(master vif902.1)" = brA ]; ok $? "no bridge key: the first bridge of the host (brA)"
ip -o link show dev vif902.1 | grep -q " mtu 1280 " && [ "$(xenstore-read /local/domain/902/device/vif/1/mtu)" = 1280 ]; ok $? "the backend's mtu is applied to the tap and written to the frontend"
vs "$VB" offline 902 1
tap vif903.0
ip link add eth7 type bridge && ip link set eth7 up
xenstore-write backend/vif/903/0/bridge xenbr7
vs "$VB" online 903 0 && [ "$(master vif903.0)" = eth7 ]; ok $? "bridge xenbr7 missing while eth7 is a bridge: eth7, as Xen"
vs "$VB" offline 903 0
tap dum0 && ip link set dum0 up        # a device that is not a bridge
xenstore-write backend/vif/904/0/bridge dum0
tap vif904.0
vs "$VB" online 904 0; [ $? -eq 1 ] && herr 904/0 | grep -q "dum0 is not a bridge"; ok $? "a bridge key naming a non-bridge device is refused"
vs "$VB" online 905 0; [ $? -eq 1 ] && herr 905/0 | grep -q "interface vif905.0 does not exist"; ok $? "a tap the backend never made: exit 1 naming it"
xenstore-write backend/vif/904/0/bridge br9
vs "$VB" online 904 0 web4; [ $? -eq 1 ] && herr 904/0 | grep -q "interface web4 does not exist"; ok $? "vif= from the environment names the tap (vifname)"
ip link set vif904.0 name web4
vs "$VB" online 904 0 web4 && [ "$(master web4)" = br9 ]; ok $? "a vifname tap is enslaved under its own name"
vs "$VB" offline 904 0 web4; nolink web4; ok $? "and removed under it"
XENBUS_PATH=backend/vif/906/0 vif=vif906.0 "$VB" add type_if=tap </dev/null >/dev/null 2>&1 && [ -z "$(hs 906/0)" ]; ok $? "add type_if=tap (an emulated NIC's tap) does nothing, exit 0"
XENBUS_PATH="backend/vif/../x" vif=v "$VB" online type_if=vif </dev/null >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a malformed XENBUS_PATH is refused"
XENBUS_PATH=backend/vif/906/0 vif='a;b' "$VB" online type_if=vif </dev/null >/dev/null 2>&1; [ $? -eq 1 ] && herr 906/0 | grep -q "is not an interface name"; ok $? "a vif= that is not an interface name is refused"
# vif-route
ip addr add 192.0.2.1/24 dev dum0
tap vif907.0
vs "$VR" online 907 0; [ $? -eq 1 ] && herr 907/0 | grep -q "needs the guest's addresses"; ok $? "vif-route without ip: refused"
xenstore-write backend/vif/907/0/ip "192.0.2.77 192.0.2.78"
vs "$VR" online 907 0 vif907.0 nosuchdev; [ $? -eq 1 ] && herr 907/0 | grep -q "gateway device nosuchdev does not exist"; ok $? "a missing gateway device is named"
vs "$VR" online 907 0 vif907.0 dum0; rc=$?
[ $rc -eq 0 ] && [ "$(hs 907/0)" = connected ]; ok $? "vif-route online: hotplug-status=connected"
ip -4 -o addr show dev vif907.0 | grep -q "inet 192.0.2.1/32"; ok $? "the tap has the gateway device's address as a /32"
[ "$(cat /proc/sys/net/ipv4/conf/vif907.0/proxy_arp)" = 1 ]; ok $? "proxy ARP is on"
ip route show 192.0.2.77 | grep -q "dev vif907.0" && ip route show 192.0.2.78 | grep -q "dev vif907.0 .*src 192.0.2.1"; ok $? "a host route per address, through the tap"
vs "$VR" offline 907 0 vif907.0 dum0; rc=$?
[ $rc -eq 0 ] && [ -z "$(ip route show 192.0.2.77)" ] && nolink vif907.0; ok $? "vif-route offline: routes removed, tap deleted"
grep -q "vif-bridge online backend/vif/901/0: error: no bridge given" "$KEEL_RUNDIR/hotplug.log" &&
    grep -q "vif-route online backend/vif/907/0: vif907.0 .*routed for" "$KEEL_RUNDIR/hotplug.log"; ok $? "everything is logged to RUNDIR/hotplug.log"
xenstore-rm /local/domain/0/backend/vif; for x in 901 902 903 904 905 906 907; do xenstore-rm /local/domain/$x 2>/dev/null; done
ip link del eth7; ip link del brA; ip link del br9; ip tuntap del dev dum0 mode tap

# ---- with a backend: attach, list, detach, create with vif=, destroy, traffic ----
if [ "$backend" -eq 0 ] && [ -x "$B/daemons/netback/keel-netback" ]; then
    KEEL_NETBACK="$B/daemons/netback/keel-netback" host start >/dev/null 2>&1
    backend=$(sh "$S/scripts/keel-host" status 2>/dev/null | grep -c "keel-netback: running")
fi
if [ "$backend" -gt 0 ]; then
    # icmp_ping ADDR COUNT: ICMP echo requests from dom0 over a raw socket (no ping(8) needed);
    # succeeds when at least COUNT-1 replies with the right id and sequence came back
    icmp_ping() {
        python3 - "$1" "$2" <<'PYEOF'
import os, socket, struct, sys, time
addr, count = sys.argv[1], int(sys.argv[2])
def csum(b):
    b += b"\0" * (len(b) & 1)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
ident, got = os.getpid() & 0xffff, 0
for seq in range(count):
    body = b"keel-ping-%d" % seq
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq) + body, (addr, 0))
    end = time.time() + 2
    while time.time() < end:
        try:
            pkt, src = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (pkt[0] & 15) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
        if src[0] == addr and t == 0 and i == ident and q == seq and pkt[ihl + 8:] == body:
            got += 1
            break
sys.exit(0 if got >= max(1, count - 1) else 1)
PYEOF
    }
    ip link add xenbr0 type bridge && ip addr add 192.0.2.1/24 dev xenbr0 && ip link set xenbr0 up
    $XL unpause n1
    run_api 1
    $XL network-attach n1 bridge=xenbr0 mac=00:16:3e:00:01:01; ok $? "network-attach on a running guest (keel-netback serving)"
    be=/local/domain/0/backend/vif/$d/0
    [ "$(xenstore-read $be/hotplug-status)" = connected ] && [ "$(master vif$d.0)" = xenbr0 ]; ok $? "the hotplug script ran: connected, vif$d.0 is a port of xenbr0"
    [ "$(xenstore-read $be/feature-rx-copy 2>/dev/null)" = 1 ] && [ "$(xenstore-read $be/state)" -ge 2 ]; ok $? "the backend published its features and went past InitWait"
    $XL network-list n1 | awk -v d="$d" 'NR==1 && $1=="Idx" && $3=="Mac" && $NF=="BE-path" {h=1}
        NR==2 && $1==0 && $2==0 && $3=="00:16:3e:00:01:01" && $4==0 && $NF=="/local/domain/0/backend/vif/" d "/0" {r=1}
        END {exit !(h && r)}'; ok $? "network-list shows xl's columns and the vif"
    $XL list -l n1 | grep -q '"mac": "00:16:3e:00:01:01"'; ok $? "xl list -l shows the vif in the config"
    $XL network-attach n1 bridge=xenbr0 mac=00:16:3e:00:01:01 devid=0 2>&1 | grep -q "device 0 already exists"; ok $? "a second vif with the same devid is refused"
    $XL network-detach n1 00:16:3e:00:01:01; ok $? "network-detach by MAC"
    nx $be/state && nx /local/domain/$d/device/vif/0/backend && nx /libxl/$d/device/vif/0/backend &&
        nolink vif$d.0 && [ -z "$(ip -o link show master xenbr0)" ]; ok $? "detach leaves no node, no tap, no bridge port"
    $XL network-detach n1 0 2>&1 | grep -q "Unknown device 0."; ok $? "detaching again: xl's message"
    $XL list -l n1 | grep -q '"nics"'; [ $? -ne 0 ]; ok $? "and the stored config has no vif left"
    printf '#!/bin/sh\n[ "$1" = online ] || exit 0\nxenstore-write "$XENBUS_PATH/hotplug-error" "no uplink for $vif" "$XENBUS_PATH/hotplug-status" error\nexit 1\n' >"$KEEL_RUNDIR/badvif"
    chmod +x "$KEEL_RUNDIR/badvif"
    err=$($XL network-attach n1 script="$KEEL_RUNDIR/badvif" 2>&1); rc=$?
    [ $rc -eq 1 ] && echo "$err" | grep -q "vif 0: hotplug script $KEEL_RUNDIR/badvif online failed: no uplink for vif$d.0"; ok $? "a failing script: the add fails with its hotplug-error"
    wait_until 5 nolink vif$d.0
    nx $be/state && nx /libxl/$d/device/vif/0/backend && nolink vif$d.0; ok $? "and nothing is left (nodes, tap)"
    $XL network-attach n1 bridge=br404 2>&1 | grep -q "bridge br404 does not exist"; ok $? "a missing bridge: vif-bridge's error reaches the user"
    nx $be/state && nolink vif$d.0; ok $? "and nothing is left"
    # traffic: netecho guests on xenbr0 (192.0.2.0/24)
    $XL create -q examples/counter.cfg name=e1 kernel=netecho 'cmdline="ip=192.0.2.10/24"' \
        "vif=['bridge=xenbr0,ip=192.0.2.10,mac=00:16:3e:00:0e:01']"; ok $? "create a netecho guest with vif="
    e1=$($XL domid e1)
    [ "$(xenstore-read /local/domain/0/backend/vif/$e1/0/hotplug-status)" = connected ]; ok $? "its vif is connected before it runs"
    wait_until 10 sh -c "$XL dmesg | grep -q '(d$e1) netecho: ready ip 192.0.2.10'"; ok $? "netecho reports ready with its address"
    icmp_ping 192.0.2.10 3; ok $? "ping (ICMP echo) from dom0 across the bridge reaches the guest"
    python3 - <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
got = 0
for i in range(5):
    s.sendto(b"keel-echo-%d" % i, ("192.0.2.10", 7))
    try:
        data, src = s.recvfrom(2048)
        got += data == b"keel-echo-%d" % i and src[0] == "192.0.2.10"
    except socket.timeout:
        pass
sys.exit(0 if got >= 4 else 1)
PYEOF
    ok $? "UDP datagrams to port 7 come back from the guest"
    $XL create -q examples/counter.cfg name=e2 kernel=nettraffic 'cmdline="ip=192.0.2.11/24 mode=udpsend peer=192.0.2.10 port=7 count=50 size=200"' \
        "vif=['bridge=xenbr0']"; ok $? "create a second guest sending UDP to the first"
    e2=$($XL domid e2 2>/dev/null)
    wait_until 20 sh -c "$XL dmesg | grep -q '(d$e2) nettraffic: send: proto=udp pkts=50'"; ok $? "guest 2 sent its datagrams"
    wait_until 10 sh -c "$XL dmesg | grep '(d$e1) netecho: stats' | grep -q 'echoed [1-9]'"; ok $? "and guest 1 received and echoed them (two guests reach each other)"
    $XL destroy e2 2>/dev/null
    # hot-plug on a running netecho: a second vif, then unplug it
    $XL network-attach e1 bridge=xenbr0 devid=1; ok $? "hot-plug a second vif into the running netecho guest"
    [ "$(master vif$e1.1)" = xenbr0 ]; ok $? "its tap joined the bridge"
    $XL network-detach e1 1; ok $? "hot-unplug it"
    nolink vif$e1.1 && icmp_ping 192.0.2.10 2; ok $? "its tap is gone and the first vif still answers"
    # save and restore: the vif's frontend keys travel in the image, the MAC is kept
    $XL save e1 "$KEEL_RUNDIR/e1.save" >/dev/null 2>&1; ok $? "save the netecho guest"
    grep -a -q '"vif": {' "$KEEL_RUNDIR/e1.save" && grep -a -q '"tx-ring-ref": "' "$KEEL_RUNDIR/e1.save"; ok $? "the image carries the vif's frontend keys (keel_frontends \"vif\")"
    nx /local/domain/0/backend/vif/$e1 && nolink vif$e1.0; ok $? "saving (which destroys it) removed its vif: no node, no tap"
    for edit in '"tx-ring-ref"=>"tx-ring-reX"' '"request-rx-copy": "1"=>"request-rx-copy": "7"'; do
        python3 - "$KEEL_RUNDIR/e1.save" "$KEEL_RUNDIR/bad.save" "$edit" <<'PYEOF'
import sys
a, b = sys.argv[3].split("=>")
data = open(sys.argv[1], "rb").read()
i = data.index(b'"keel_frontends"')
j = data.index(a.encode(), i)
open(sys.argv[2], "wb").write(data[:j] + b.encode() + data[j + len(a):])
PYEOF
        $XL restore "$KEEL_RUNDIR/bad.save" >"$KEEL_RUNDIR/bad.err" 2>&1; rc=$?
        [ $rc -eq 1 ] && grep -q "keel_frontends" "$KEEL_RUNDIR/bad.err" && ! $XL list e1 >/dev/null 2>&1
        ok $? "an image whose vif keys have $(echo "$edit" | cut -d'>' -f2) is refused, naming keel_frontends, and leaves no domain"
    done
    $XL restore "$KEEL_RUNDIR/e1.save" >/dev/null 2>&1; ok $? "restore it"
    r1=$($XL domid e1)
    $XL network-list e1 | awk 'NR==2 && $3=="00:16:3e:00:0e:01" && $5==4 {f=1} END {exit !f}' &&
        [ "$(master vif$r1.0)" = xenbr0 ]; ok $? "the restored guest (domain $r1) has its vif again: same MAC, connected, on the bridge"
    icmp_ping 192.0.2.10 3; ok $? "and answers ping again"
    wait_until 5 sh -c "$XL dmesg | grep -q '(d$r1) netecho: garp [2-9]'"; ok $? "it announced itself (gratuitous ARP) when its backend came back"
    # live migration to a second host on the same bridge (same network namespace)
    B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
    trap 'KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1; rm -rf "$B2"; cleanup' EXIT
    KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket KEEL_NETBACK="$B/daemons/netback/keel-netback" \
        KEEL_BLKBACK=none host start >/dev/null 2>&1; ok $? "host B starts with its keel-netback"
    XLB() { KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL "$@"; }
    $XL migrate -s '' e1 "KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL migrate-receive" >/dev/null 2>&1
    ok $? "xl migrate the netecho guest to host B"
    m1=$(XLB domid e1 2>/dev/null)
    XLB network-list e1 2>/dev/null | awk 'NR==2 && $3=="00:16:3e:00:0e:01" && $5==4 {f=1} END {exit !f}'; ok $? "on host B its vif has the same MAC and is connected"
    nx /local/domain/0/backend/vif/$r1 && ! $XL list e1 >/dev/null 2>&1; ok $? "host A keeps no domain and no vif node"
    icmp_ping 192.0.2.10 3; ok $? "the migrated guest answers ping through host B's vif"
    XLB destroy e1
    [ -z "$(XENSTORED_PATH=$B2/xenstored/socket xenstore-list /local/domain/0/backend/vif 2>/dev/null)" ] &&
        [ -z "$(ip -o link show master xenbr0)" ]; ok $? "destroy on host B leaves no vif node and no bridge port"
    grep -q "vif-bridge offline backend/vif/$m1/0" "$B2/hotplug.log"; ok $? "and ran the script's offline"
    KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1; rm -rf "$B2"
else
    skip "attach/list/detach on a running guest, create with vif=, traffic" "keel-netback is not available"
fi
$XL destroy n1
[ -z "$(xenstore-list /local/domain/0/backend 2>/dev/null)" ] && [ -z "$(xenstore-list /libxl 2>/dev/null)" ]; ok $? "destroying the guest leaves no backend node and no bookkeeping"
[ -z "$(ip -o link show | grep -E ': (vif[0-9]|web)')" ]; ok $? "and no tap in the namespace"
done_tap
