#!/bin/sh
# test-keeld-xlconf.sh - keeld reads xl.conf as xl does (liblight's kl_xl_conf): on a private
# host, keeld --xl-conf FILE with vm.cpumask="1", max_grant_frames and claim_mode=1; a
# domain.create is masked (both vCPUs' hard affinity 1, seen with xl vcpu-list) and takes the
# grant-frame default (xl list -l); cpus="0" fails with the mask's message and leaves no domain;
# a domain the host cannot hold fails at once with the claim's message; without --xl-conf keeld
# reads xl's default ($KEEL_XL_CONF); a malformed xl.conf stops keeld at start with file, line
# and key. Needs 2 CPUs (else skipped).
B=${KEEL_BUILDDIR:-../..}
B=$(cd "$B" && pwd)
S=${KEEL_SRCDIR:-$B/..}
S=$(cd "$S" && pwd)
PY=${PYTHON:-/usr/bin/python3}
if [ "$(nproc)" -lt 2 ]; then
    echo "1..0 # SKIP the mask needs a host of 2 CPUs at least"
    exit 0
fi
KEEL_RUNDIR=$(mktemp -d /tmp/keel-keeldxc-XXXXXX) || exit 1
export KEEL_RUNDIR
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_GUESTDIR="$B/guests"
export KEEL_BLKBACK=none KEEL_NETBACK=none KEEL_VTPMD=none
XL="$B/cli/xl" KEELD="$B/daemons/keeld/keeld"
C="$KEEL_RUNDIR/xl.conf"
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
stop_keeld() {
    [ -s "$KEEL_RUNDIR/keeld/keeld.pid" ] && kill "$(cat "$KEEL_RUNDIR/keeld/keeld.pid")" 2>/dev/null
    i=0
    while [ -s "$KEEL_RUNDIR/keeld/keeld.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
cleanup() {
    stop_keeld
    sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    rm -rf "$KEEL_RUNDIR"
}
trap cleanup EXIT
trap "exit 1" INT TERM
# rpc METHOD JSON-PARAMS: the task's result as JSON, or "error CODE MESSAGE"
rpc() {
    "$PY" - "$KEEL_RUNDIR/keeld/socket" "$1" "$2" <<'P'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["SRC"], "daemons", "keeld", "tests"))
import keelrpc
c = keelrpc.Client.unix(sys.argv[1])
try:
    r = c.call(sys.argv[2], **json.loads(sys.argv[3]))
    if isinstance(r, dict) and "task" in r:
        r = c.wait_task(r["task"])
    print(json.dumps(r))
except keelrpc.RpcError as e:
    print("error", e.code, e.message)
P
}
export SRC="$S"
cfg() { printf 'name = "%s"\nkernel = "counter"\nmemory = %s\nvcpus = 2\n%s\n' "$1" "$2" "$3"; }
aff() { "$XL" vcpu-list "$1" | awk -v v="$2" '$3 == v { print $(NF - 2) }'; }
json_cfg() { "$PY" -c 'import json,sys; print(json.dumps({"config": sys.stdin.read()}))'; }

echo "1..9"
sh "$S/scripts/keel-host" start >/dev/null 2>&1 || { echo "Bail out! the host did not start"; exit 1; }
printf '# keeld and xl\nvm.cpumask="1"\nmax_grant_frames=9\nclaim_mode=1\n' >"$C"
"$KEELD" --xl-conf "$C" >/dev/null 2>&1; ok $? "keeld --xl-conf FILE starts"

r=$(rpc domain.create "$(cfg k1 16 "" | json_cfg)")
echo "$r" | grep -q '"domid"'; ok $? "domain.create of a two-vCPU domain ($r)"
[ "$(aff k1 0)" = 1 ] && [ "$(aff k1 1)" = 1 ]; ok $? "vm.cpumask=\"1\" masked both vCPUs' hard affinity (xl vcpu-list: 1)"
"$XL" list -l k1 | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d[0]["config"]["b_info"]["max_grant_frames"] != 9)'
ok $? "max_grant_frames=9 from xl.conf is the domain's default"

r=$(rpc domain.create "$(cfg k2 16 'cpus = "0"' | json_cfg)")
echo "$r" | grep -q "^error -32004 .*domain 'k2': vcpu hard affinity map is empty: vCPU 0's hard affinity 0 ANDed with the global affinity masks vm.cpumask=\"1\" in $C"
ok $? "cpus=\"0\" with the mask 1 fails as a configuration error naming the mask ($r)"
"$XL" domid k2 >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "and leaves no domain"

free=$("$XL" info | awk -F': ' '$1 ~ /^free_memory/ { print $2 }')
if [ "$free" -lt 59000 ]; then
    r=$(rpc domain.create "$(printf 'name = "huge"\nkernel = "counter"\nmemory = 61440\n' | json_cfg)")
    echo "$r" | grep -q "claim_mode: the host cannot hold domain 'huge': it needs 61440 MiB, [0-9]* MiB are free" &&
        ! "$XL" domid huge >/dev/null 2>&1
    ok $? "claim_mode=1: a 60 GiB domain fails at once with the claim's reason, nothing left ($r)"
else
    echo "ok $((n += 1)) # SKIP the host has more than 59000 MiB free"
fi
"$XL" destroy k1

# without --xl-conf: xl's default path ($KEEL_XL_CONF)
stop_keeld
KEEL_XL_CONF="$C" "$KEELD" >/dev/null 2>&1 &&
    echo "$(rpc domain.create "$(cfg k3 16 "" | json_cfg)")" | grep -q '"domid"' && [ "$(aff k3 1)" = 1 ]
ok $? "without --xl-conf keeld reads \$KEEL_XL_CONF, as xl does (mask applied)"
"$XL" destroy k3 2>/dev/null
stop_keeld

printf 'vm.pv.cpumask="1-x"\n' >"$C"
"$KEELD" --xl-conf "$C" >/dev/null 2>"$KEEL_RUNDIR/err"; rc=$?
[ $rc -eq 2 ] && grep -q "$C:1: vm.pv.cpumask: invalid value \"1-x\"" "$KEEL_RUNDIR/err" &&
    [ ! -S "$KEEL_RUNDIR/keeld/socket" ]
ok $? "a malformed xl.conf stops keeld at start (exit 2) with file, line and key"
[ $fails -eq 0 ]
