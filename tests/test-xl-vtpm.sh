#!/bin/sh
# test-xl-vtpm.sh - vTPMs through xl and liblight on a private host (docs/device-vtpm.md).
# Without the manager: vtpm= parsing and its errors (key and position named), xl vtpm-attach /
# -list / -detach arguments, messages and exit codes, the store layout and permissions of the
# contract (seen while vtpm-attach waits for the manager), a driver-domain backend and a uuid in
# use refused, create with vtpm= failing cleanly with nothing left, and the guest frontend's
# handshake (rt_tpmfront in tpmcheck) against the backend keys written by this script: it
# refuses a backend without feature-protocol-v2, publishes ring-ref / event-channel /
# feature-protocol-v2=1 and Initialised, gives up when the backend closes. With keel-vtpmd
# (daemons/vtpm): keeld's and Python's vtpm methods; tpmcheck's checks pass and its PCR values
# equal tpm2_pcrread's on the instance socket and those of the same extends on Debian's swtpm;
# the NV index survives destroy and create with the same uuid; a guest cannot reach another
# domain's vTPM nodes; save/restore, xl save -c and a failed migration (the frozen instance
# resumed) and live migration to a second host keep the TPM's volatile state (tpmcheck keep=1
# extends PCR 23 every second and checks it).
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
export KEEL_DEVICE_TIMEOUT=3
KEEL_STATEDIR=$(mktemp -d /tmp/keel-vtpmstate-XXXXXX) || exit 1
export KEEL_STATEDIR
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
VTPMD="$B/daemons/vtpm/keel-vtpmd"
vtpmd_pids=""
stop_all() {
    for p in $vtpmd_pids; do kill "$p" 2>/dev/null; done
    for p in $vtpmd_pids; do wait "$p" 2>/dev/null; done
    (KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket host stop >/dev/null 2>&1)
    rm -rf "$B2" "$KEEL_STATEDIR" "$KEEL_STATEDIR.B"
    cleanup
}
trap stop_all EXIT
U1=6f1c2a50-3d4e-4b7a-9c1d-2e3f4a5b6c7d
U2=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }
be() { xenstore-read "/local/domain/0/backend/vtpm/$1/${3:-0}/$2" 2>/dev/null; }
fe() { xenstore-read "/local/domain/$1/device/vtpm/${3:-0}/$2" 2>/dev/null; }

if ! have_xs; then
    skip "vTPM tests" "xenstore-utils not installed"; done_tap; exit
fi

# ---- configuration parsing (no host needed) ----
cfg() { printf 'name = "%s"\nkernel = "tpmcheck"\nmemory = 32\non_crash = "preserve"\n%s\n' "$1" "$2" >"$KEEL_RUNDIR/$1.cfg"; }
cfg p1 "vtpm = [ \"uuid=$U1,backend=0\" ]"
o=$($XL -N create "$KEEL_RUNDIR/p1.cfg" 2>&1)
echo "$o" | grep -q '"vtpms"' && echo "$o" | grep -q "\"uuid\": \"$U1\""; ok $? "vtpm= with uuid= and backend=: the uuid in the parsed configuration"
cfg p2 'vtpm = [ "backend=0" ]'
o=$($XL -N create "$KEEL_RUNDIR/p2.cfg" 2>&1)
echo "$o" | grep -q '"vtpms"'; ok $? "vtpm= without uuid= parses (the uuid is chosen at create)"
cfg p3 'vtpm = [ "uuid=nonsense,backend=0" ]'
o=$($XL -N create "$KEEL_RUNDIR/p3.cfg" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$o" | grep -q "invalid uuid .nonsense" && echo "$o" | grep -q "p3.cfg:5"; ok $? "a bad uuid is refused, naming the value and the file:line"
cfg p4 "vtpm = [ \"uuid=$U1,backend=0,colour=red\" ]"
o=$($XL -N create "$KEEL_RUNDIR/p4.cfg" 2>&1)
echo "$o" | grep -q "unknown keyword .colour"; ok $? "an unknown vtpm key is refused by name"
cfg p5 "vtpm = [ \"uuid=$U1\" ]"
o=$($XL -N create "$KEEL_RUNDIR/p5.cfg" 2>&1)
echo "$o" | grep -q "missing required backend field"; ok $? "backend= is required in vtpm= (as Xen's xl)"
cfg p6 "vtpm = [ \"uuid=$U1 backend=0\" ]"
$XL -N create "$KEEL_RUNDIR/p6.cfg" >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "a value with a blank is not a second key"

# ---- xl's own checks ----
o=$($XL -N vtpm-attach 0 uuid=$U1 backend=0 2>&1)
echo "$o" | grep -q '^vtpm: {' && echo "$o" | grep -q "$U1"; ok $? "vtpm-attach -N prints the parsed vtpm (xl's 'vtpm: ...')"
o=$($XL vtpm-attach 0 uuid=zz 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$o" | grep -qx "Invalid uuid specified (zz)"; ok $? "vtpm-attach: Xen's message for a bad uuid, exit 1"
o=$($XL vtpm-attach 0 colour=red 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$o" | grep -qx "unrecognized argument \`colour=red'"; ok $? "vtpm-attach: Xen's message for an unknown argument"
$XL vtpm-attach >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "vtpm-attach without a domain is a usage error (2)"
$XL vtpm-detach x >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "vtpm-detach needs a domain and a device (2)"
$XL help 2>&1 | grep -q "vtpm-attach.*virtual TPM"; ok $? "xl help lists vtpm-attach"

KEEL_VTPMD=none host start >/dev/null 2>&1; ok $? "a private host starts (no keel-vtpmd yet)"
$XL create -q -p "$KEEL_RUNDIR/p2.cfg" 2>/dev/null; [ $? -ne 0 ] && [ -z "$(store_domains)" ]
ok $? "create with vtpm= and no manager fails and leaves no domain in the store"
$XL list p2 >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "and no domain"
cfg g1 'on_poweroff = "preserve"'
$XL create -q -p "$KEEL_RUNDIR/g1.cfg" 2>/dev/null; ok $? "create a paused tpmcheck guest g1 without a vtpm"
d=$($XL domid g1)
$XL vtpm-attach nosuch 2>&1 | grep -q "nosuch is an invalid domain identifier"; ok $? "an unknown domain: xl's message"
o=$($XL vtpm-attach g1 backend=7 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$o" | grep -q "driver domains are not supported" && echo "$o" | grep -q "libxl_device_vtpm_add failed."
ok $? "backend= another domain is refused with the reason"
$XL vtpm-attach 0 2>&1 | grep -q "Domain-0 takes no vTPM frontend"; ok $? "Domain-0 gets no vTPM"
[ -z "$(xenstore-list /local/domain/0/backend/vtpm/$d 2>/dev/null)" ]; ok $? "and none of them wrote a node"

# ---- the layout, seen while vtpm-attach waits for the manager's InitWait ----
$XL vtpm-attach g1 uuid=$U1 >"$KEEL_RUNDIR/att.out" 2>&1 &
ap=$!
wait_until 5 xenstore-read /local/domain/0/backend/vtpm/$d/0/state; ok $? "vtpm-attach writes the backend directory"
bdir=/local/domain/0/backend/vtpm/$d/0
ls=$(xenstore-ls -p $bdir 2>/dev/null)
for kv in "frontend = \"/local/domain/$d/device/vtpm/0\"" "frontend-id = \"$d\"" 'online = "1"' \
          'state = "1"' 'handle = "0"' "uuid = \"$U1\"" 'resume = "False"'; do
    echo "$ls" | grep -q "^$kv"; ok $? "BE key $kv"
done
xenstore-ls -p /local/domain/0/backend/vtpm/$d | grep -q "^0 = \"\".*(n0,r$d)"; ok $? "BE dir owned by Domain-0, the guest may read (n0,r$d)"
fls=$(xenstore-ls -p /local/domain/$d/device/vtpm)
echo "$fls" | grep -q "^0 = \"\".*(n$d,r0)"; ok $? "FE dir owned by the guest, the backend may read (n$d,r0)"
for kv in "backend = \"$bdir\"" 'backend-id = "0"' 'state = "1"' 'handle = "0"'; do
    echo "$fls" | grep -q "^ $kv"; ok $? "FE key $kv"
done
[ "$(xenstore-read /libxl/$d/device/vtpm/0/backend)" = "$bdir" ]; ok $? "the /libxl bookkeeping names the backend"
not xenstore-read $bdir/script; ok $? "no hotplug script (libxl runs none for vtpm)"
wait $ap; rc=$?
[ $rc -eq 1 ] && grep -q "did not reach InitWait.*keel-vtpmd" "$KEEL_RUNDIR/att.out"; ok $? "without keel-vtpmd vtpm-attach fails after the timeout, naming the manager"
[ -z "$(xenstore-list /local/domain/0/backend/vtpm/$d 2>/dev/null)" ] && not xenstore-read /libxl/$d/device/vtpm/0/backend && not xenstore-read /local/domain/$d/device/vtpm/0/state
ok $? "and every node is removed"

# ---- the frontend against backend keys written here (the manager's part of the handshake) ----
# be_answer DOMID V2: wait for the backend directory, then InitWait with feature-protocol-v2=V2
be_answer() {
    wait_until 5 xenstore-read /local/domain/0/backend/vtpm/$1/0/state || return 1
    [ "$2" = none ] || xenstore-write /local/domain/0/backend/vtpm/$1/0/feature-protocol-v2 "$2"
    xenstore-write /local/domain/0/backend/vtpm/$1/0/state 2
}
$XL vtpm-attach g1 uuid=$U1 >"$KEEL_RUNDIR/att.out" 2>&1 &
ap=$!
be_answer $d 1
wait $ap; ok $? "vtpm-attach returns once the backend is in InitWait"
o=$($XL vtpm-list g1)
echo "$o" | head -1 | grep -q "^Idx BE Uuid *handle state evt-ch ring-ref BE-path"; ok $? "vtpm-list: Xen's header"
echo "$o" | grep -q "^0   0  $U1      0     1     -1       -1 $bdir"; ok $? "vtpm-list: the device, its uuid and backend path"
$XL list -l g1 | grep -q "\"uuid\": \"$U1\""; ok $? "xl list -l shows the vtpm's uuid"
cfg g2 'on_poweroff = "preserve"'
$XL create -q -p "$KEEL_RUNDIR/g2.cfg" name=g2 2>/dev/null; d2=$($XL domid g2)
o=$($XL vtpm-attach g2 uuid=$U1 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$o" | grep -q "uuid $U1 is the vTPM of domain $d already"; ok $? "a uuid another domain's vtpm has is refused"
$XL unpause g1
wait_until 10 sh -c "[ \"\$(xenstore-read /local/domain/$d/device/vtpm/0/state 2>/dev/null)\" = 3 ]"; ok $? "the frontend goes Initialised"
r=$(fe $d ring-ref); e=$(fe $d event-channel)
[ "$r" -ge 8 ] 2>/dev/null && [ "$e" -ge 1 ] 2>/dev/null && [ "$(fe $d feature-protocol-v2)" = 1 ]
ok $? "it published ring-ref ($r), event-channel ($e) and feature-protocol-v2=1"
$XL vtpm-list g1 | grep -q "^0   0  $U1      0     3 *$e *$r "; ok $? "vtpm-list shows its state, event channel and ring-ref"
xenstore-write $bdir/state 6
wait_until 10 sh -c "$XL dmesg | grep -q '(d$d) tpmcheck: FAIL open: -19'"; ok $? "a backend that closes instead of connecting: the frontend gives up (ENODEV)"
$XL vtpm-detach g1 nosuch 2>&1 | grep -qx "Unknown device nosuch."; ok $? "vtpm-detach: Xen's message for an unknown device"
$XL vtpm-detach g1 $U1; ok $? "vtpm-detach by uuid"
[ -z "$(xenstore-list /local/domain/0/backend/vtpm/$d 2>/dev/null)" ] && ! $XL list -l g1 2>/dev/null | grep -q "$U1"
ok $? "the nodes are gone and the stored configuration has no vtpm"
$XL destroy g1

# a backend without feature-protocol-v2: the frontend refuses it
$XL vtpm-attach g2 uuid=$U2 >/dev/null 2>&1 &
ap=$!
be_answer $d2 none
wait $ap
$XL unpause g2
wait_until 10 sh -c "$XL dmesg | grep -q '(d$d2) tpmfront: vtpm 0: the backend does not offer feature-protocol-v2'"
ok $? "a backend without feature-protocol-v2: the frontend refuses it"
not fe $d2 ring-ref; ok $? "and grants nothing"
$XL vtpm-detach g2 0; ok $? "vtpm-detach by devid"
$XL destroy g2
[ -z "$(store_domains)" ]; ok $? "nothing left in the store"

# ---- with the manager ----
start_vtpmd() { # RUNDIR STATEDIR
    mkdir -p "$1/vtpm"
    KEEL_RUNDIR=$1 KEEL_STATEDIR=$2 "$VTPMD" -r "$1" >"$1/vtpmd.log" 2>&1 &
    vtpmd_pids="$vtpmd_pids $!"
    wait_until 10 test -S "$1/vtpm/control"
}
if [ ! -x "$VTPMD" ] || ! start_vtpmd "$KEEL_RUNDIR" "$KEEL_STATEDIR"; then
    skip "tests with keel-vtpmd" "keel-vtpmd not built or does not start"; done_tap; exit
fi
ok 0 "keel-vtpmd starts"

# keeld's domain.vtpm_* and Python's Context.vtpm_* (the same liblight calls), on a paused guest
api_checks() { # API
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$S/daemons/keeld/tests:$KEEL_RUNDIR/py" \
    LD_LIBRARY_PATH="$B/liblight/.libs:$B/libguest/.libs:$B/libctrl/.libs" \
    python3 - "$1" "$U2" <<'PYEOF'
import os, sys
api, u2 = sys.argv[1], sys.argv[2]
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
    ok(c.call("domain.vtpm_list", domain="a1") == [], "keeld domain.vtpm_list: no vtpm yet")
    ok(err(lambda: c.call("domain.vtpm_attach", domain="a1", uuid="zz"), -32602, "not a uuid") and
       err(lambda: c.call("domain.vtpm_attach", domain="a1", backend="7"), -32602, "driver domains"),
       "keeld domain.vtpm_attach: a bad uuid and a driver domain are invalid params")
    a = c.call("domain.vtpm_attach", domain="a1", uuid=u2)
    ok(a["devid"] == 0 and a["uuid"] == u2, "keeld domain.vtpm_attach answers the devid and uuid")
    l = c.call("domain.vtpm_list", domain="a1")
    ok(len(l) == 1 and l[0]["uuid"] == u2 and l[0]["backend_state"] == 2, "keeld domain.vtpm_list shows it, keel-vtpmd in InitWait")
    ok(err(lambda: c.call("domain.vtpm_detach", domain="a1", device=9), -32602, "no vtpm 9"),
       "keeld domain.vtpm_detach: an absent vtpm is invalid params")
    ok(c.call("domain.vtpm_detach", domain="a1", device=u2)["device"] == u2 and
       c.call("domain.vtpm_list", domain="a1") == [], "keeld domain.vtpm_detach by uuid")
else:
    import keel
    with keel.Context(os.environ["KEEL_RUNDIR"]) as ctx:
        try:
            ctx.vtpm_attach("a1", uuid="zz")
            ok(False, "Python vtpm_attach with a bad uuid raises ValueError")
        except ValueError:
            ok(True, "Python vtpm_attach with a bad uuid raises ValueError")
        devid, uuid = ctx.vtpm_attach("a1")
        l = ctx.vtpm_list("a1")
        ok(len(l) == 1 and l[0]["devid"] == devid and l[0]["uuid"] == uuid and len(uuid) == 36,
           "Python vtpm_attach -> (devid, new uuid), vtpm_list shows it")
        ctx.vtpm_detach("a1", devid)
        ok(ctx.vtpm_list("a1") == [], "Python vtpm_detach by devid")
PYEOF
}
run_api() {
    if [ -x "$B/daemons/keeld/keeld" ] && "$B/daemons/keeld/keeld" >/dev/null 2>&1; then
        N0=$n api_checks keeld >"$KEEL_RUNDIR/api.out" 2>&1; cat "$KEEL_RUNDIR/api.out"
        n=$((n + $(grep -c '^\(not \)\?ok ' "$KEEL_RUNDIR/api.out")))
        failed=$((failed + $(grep -c '^not ok' "$KEEL_RUNDIR/api.out")))
        kill "$(cat "$KEEL_RUNDIR/keeld/keeld.pid" 2>/dev/null)" 2>/dev/null
    else
        skip "keeld domain.vtpm_*" "keeld did not start"
    fi
    suffix=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    so="$B/bindings/python/.libs/_keel$suffix"
    if [ -f "$so" ] && ! ldd "$so" 2>/dev/null | grep -q libasan; then
        mkdir -p "$KEEL_RUNDIR/py/keel"
        ln -sf "$S/bindings/python/keel/__init__.py" "$KEEL_RUNDIR/py/keel/__init__.py"
        ln -sf "$so" "$KEEL_RUNDIR/py/keel/_keel$suffix"
        N0=$n api_checks python >"$KEEL_RUNDIR/api.out" 2>&1; cat "$KEEL_RUNDIR/api.out"
        n=$((n + $(grep -c '^\(not \)\?ok ' "$KEEL_RUNDIR/api.out")))
        failed=$((failed + $(grep -c '^not ok' "$KEEL_RUNDIR/api.out")))
    else
        skip "Python Context.vtpm_*" "module not built (or a sanitizer build: see bindings/python)"
    fi
}
cfg a1 ''
$XL create -q -p "$KEEL_RUNDIR/a1.cfg" 2>/dev/null; ok $? "create a paused guest a1 for the API checks"
run_api
$XL destroy a1
cfg t1 "vtpm = [ \"uuid=$U1,backend=0\" ]
extra = \"nv=first\"
on_poweroff = \"preserve\""
if ! $XL create -q "$KEEL_RUNDIR/t1.cfg" 2>"$KEEL_RUNDIR/c.err"; then
    ok 1 "create with vtpm= and keel-vtpmd running: $(cat "$KEEL_RUNDIR/c.err")"; done_tap; exit
fi
ok 0 "create with vtpm= and keel-vtpmd running"
d=$($XL domid t1)
wait_until 30 sh -c "$XL dmesg | grep -q '(d$d) tpmcheck: \(ok\|FAIL\)'"
out $d | grep -q "^tpmcheck: ok$"; ok $? "tpmcheck: startup, PCR extend/read, random, NV all pass ($(out $d | grep FAIL | head -1))"
out $d | grep -q "^tpmcheck: nv before none$"; ok $? "a new vTPM: the NV index had no contents"
SOCK="$KEEL_RUNDIR/vtpm/$d.0.sock"
if command -v tpm2_pcrread >/dev/null 2>&1; then
    p=$(tpm2_pcrread -T "swtpm:path=$SOCK" sha256:16,23 2>/dev/null)
    g16=$(out $d | sed -n 's/^tpmcheck: final pcr 16 sha256 //p')
    g23=$(out $d | sed -n 's/^tpmcheck: final pcr 23 sha256 //p')
    echo "$p" | tr 'A-F' 'a-f' | grep -q "16 *: 0x$g16" && echo "$p" | tr 'A-F' 'a-f' | grep -q "23 *: 0x$g23"
    ok $? "tpm2_pcrread from dom0 reads the PCR values the guest extended and printed"
else
    skip "tpm2_pcrread comparison" "tpm2-tools not installed"
fi
# the same extends on Debian's swtpm give the same PCR values (deterministic: reset, then extend)
if command -v swtpm >/dev/null 2>&1 && command -v tpm2_pcrextend >/dev/null 2>&1; then
    sw="$KEEL_RUNDIR/swtpm"; mkdir -p "$sw"
    swtpm socket --tpm2 --tpmstate dir="$sw" --server type=unixio,path="$sw/srv.sock" \
        --ctrl type=unixio,path="$sw/srv.sock.ctrl" --flags not-need-init,startup-clear >"$sw/log" 2>&1 &
    swp=$!
    wait_until 10 test -S "$sw/srv.sock"
    T="swtpm:path=$sw/srv.sock"
    m16=$(out $d | sed -n 's/^tpmcheck: measurement 16 //p'); m23=$(out $d | sed -n 's/^tpmcheck: measurement 23 //p')
    tpm2_pcrreset -T "$T" 16 >/dev/null 2>&1 && tpm2_pcrreset -T "$T" 23 >/dev/null 2>&1 &&
        tpm2_pcrextend -T "$T" "16:sha256=$m16" "23:sha256=$m23" >/dev/null 2>&1
    p=$(tpm2_pcrread -T "$T" sha256:16,23 2>/dev/null | tr 'A-F' 'a-f')
    echo "$p" | grep -q "16 *: 0x$g16" && echo "$p" | grep -q "23 *: 0x$g23"
    ok $? "the same extends on Debian's swtpm give the PCR values the vTPM has"
    kill $swp 2>/dev/null
else
    skip "the same extends on swtpm" "swtpm or tpm2-tools not installed"
fi
$XL destroy t1
cfg t1b "vtpm = [ \"uuid=$U1,backend=0\" ]
extra = \"nv=second\"
on_poweroff = \"preserve\""
$XL create -q "$KEEL_RUNDIR/t1b.cfg" 2>/dev/null; d=$($XL domid t1b)
wait_until 30 sh -c "$XL dmesg | grep -q '(d$d) tpmcheck: \(ok\|FAIL\)'"
out $d | grep -q "^tpmcheck: nv before $(printf first | od -An -tx1 | tr -d ' \n')0*$"; ok $? "destroy and create with the same uuid: the NV index kept what the first run wrote"
# another guest cannot reach this domain's vTPM nodes
cfg s1 "extra = \"steal=$d\"
on_poweroff = \"preserve\""
$XL create -q "$KEEL_RUNDIR/s1.cfg" 2>"$KEEL_RUNDIR/s1.err" || cat "$KEEL_RUNDIR/s1.err" >&2
ds=$($XL domid s1)
wait_until 20 sh -c "$XL dmesg | grep -q '(d$ds) tpmcheck: \(FAIL open\|vtpm connected\)'"
n_ok=$(out $ds | grep -c "^tpmcheck: steal write .* rc -13$")
[ "$n_ok" -eq 3 ] && [ "$(out $ds | grep "^tpmcheck: steal read /local/domain/$d/" | grep -c 'rc -13')" -eq 1 ]
ok $? "a guest can neither write another domain's vtpm nodes nor read its frontend"
[ "$n_ok" -eq 3 ] || out $ds | grep steal | sed 's/^/# /'
$XL destroy t1b; $XL destroy s1

# save/restore and migration with the TPM's volatile state (PCR 23 extended every second)
cfg k1 "vtpm = [ \"uuid=$U2,backend=0\" ]
extra = \"keep=1\""
$XL create -q "$KEEL_RUNDIR/k1.cfg" 2>/dev/null; d=$($XL domid k1)
wait_until 30 sh -c "[ \$($XL dmesg | grep -c '(d$d) tpmcheck: tick .* ok') -ge 2 ]"; ok $? "keep=1: the guest extends and checks PCR 23 every second"
$XL save k1 "$KEEL_RUNDIR/k1.save" >/dev/null 2>&1; ok $? "xl save of a guest with a vTPM"
ver=/opt/keel-xen/usr/lib/xen-4.17/bin/verify-stream-v2
if [ -f "$ver" ]; then
    PYTHONPATH=$(dirname "$ver")/../lib/python python3 "$ver" -q -f xl -i "$KEEL_RUNDIR/k1.save" >/dev/null 2>&1
    ok $? "Xen's verify-stream-v2 accepts the image with its EMULATOR_CONTEXT record"
else
    skip "Xen's verify-stream-v2 accepts the image" "verifier not unpacked"
fi
grep -aq '"vtpm"' "$KEEL_RUNDIR/k1.save" && grep -aq KEELVTPM "$KEEL_RUNDIR/k1.save"; ok $? "the image carries the frontend keys (keel_frontends.vtpm) and the vTPM state"
$XL restore "$KEEL_RUNDIR/k1.save" >/dev/null 2>&1; ok $? "xl restore"
d=$($XL domid k1)
wait_until 30 sh -c "[ \$($XL dmesg | grep -c '(d$d) tpmcheck: tick .* ok') -ge 2 ]" && ! out $d | grep -q "tpmcheck: FAIL"
ok $? "after the restore the PCR values go on from where they were (the volatile state came along)"
mkdir -p "$KEEL_STATEDIR.B"
# xl save -c: the domain runs on after the save, its frozen vTPM resumed (the ticks go on)
c0=$(out $d | grep -c "^tpmcheck: tick .* ok$")
$XL save -c k1 "$KEEL_RUNDIR/k1c.save" >/dev/null 2>&1; ok $? "xl save -c (checkpoint, the domain goes on)"
wait_until 20 sh -c "[ \$($XL dmesg | grep -c '(d$d) tpmcheck: tick .* ok') -ge $((c0 + 3)) ]" && ! out $d | grep -q "tpmcheck: FAIL"
ok $? "after save -c the guest's TPM answers again and its PCRs are intact (the instance was resumed)"
KEEL_VTPMD=none KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket host start >/dev/null 2>&1; ok $? "host B starts"
# a migration that fails on the target (no keel-vtpmd there to import the state): the source
# resumes its frozen instance and runs on
$XL migrate -s "KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL migrate-receive" k1 localhost >"$KEEL_RUNDIR/mig0.out" 2>&1
[ $? -ne 0 ] && [ "$($XL domid k1 2>/dev/null)" = "$d" ]; ok $? "a migration to a host without keel-vtpmd fails and the source keeps k1"
[ -z "$(KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket sh -c 'xenstore-list /local/domain' 2>/dev/null | grep -vx 0)" ]
ok $? "and the target has nothing left of it"
c0=$(out $d | grep -c "^tpmcheck: tick .* ok$")
wait_until 20 sh -c "[ \$($XL dmesg | grep -c '(d$d) tpmcheck: tick .* ok') -ge $((c0 + 3)) ]" && ! out $d | grep -q "tpmcheck: FAIL"
ok $? "after the failed migration the source's TPM answers and its PCRs are intact (resumed)"
start_vtpmd "$B2" "$KEEL_STATEDIR.B"; ok $? "keel-vtpmd on host B (its own state directory)"
$XL migrate -s "KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL migrate-receive 2>$B2/recv.err" k1 localhost >"$KEEL_RUNDIR/mig.out" 2>&1
ok $? "xl migrate k1 to host B ($(tail -1 "$KEEL_RUNDIR/mig.out"))" || sed 's/^/# /' "$KEEL_RUNDIR/mig.out" "$B2/recv.err"
db=$(KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL domid k1 2>/dev/null)
wait_until 30 sh -c "[ \$(KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL dmesg | grep -c '(d$db) tpmcheck: tick .* ok') -ge 2 ]" &&
    ! KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL dmesg | grep -q "(d$db) tpmcheck: FAIL"
ok $? "on host B the PCR values go on (the vTPM state travelled in the stream)"
[ -z "$(store_domains)" ]; ok $? "the source is gone from host A"

# Remus from B back to A: every checkpoint carries the vTPM's state, committed with the memory
# it belongs to; after the failover the guest's PCR checks go on without a FAIL (a TPM state
# older or newer than the guest's memory would break its expected PCR 23)
XB() { KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL "$@"; }
XB remus -i 100 -s '' k1 "KEEL_RUNDIR=$KEEL_RUNDIR XENSTORED_PATH=$XENSTORED_PATH $XL migrate-receive -r 2>$KEEL_RUNDIR/remus-recv.err" 2>"$B2/remus.err" &
rp=$!
wait_until 20 $XL domid k1--incoming >/dev/null 2>&1; ok $? "xl remus of k1 (with its vTPM) from B: A holds the replica k1--incoming"
c0=$(XB dmesg | grep -c "(d$db) tpmcheck: tick .* ok")
wait_until 20 sh -c "[ \$(KEEL_RUNDIR=$B2 XENSTORED_PATH=$B2/xenstored/socket $XL dmesg | grep -c '(d$db) tpmcheck: tick .* ok') -ge $((c0 + 2)) ]"
ok $? "the guest extends its PCR on the primary while it is checkpointed"
grep -q "vtpm $db/0: exported" "$B2/vtpmd.log"; ok $? "B's keel-vtpmd exported the vTPM's state for the checkpoints"
XB destroy k1; wait $rp; ok $? "the primary is destroyed: xl remus exits 0 (failover)" || sed 's/^/# /' "$B2/remus.err" "$KEEL_RUNDIR/remus-recv.err"
wait_until 20 $XL domid k1 >/dev/null 2>&1; ok $? "on A the replica runs as k1"
da=$($XL domid k1 2>/dev/null)
wait_until 30 sh -c "[ \$($XL dmesg | grep -c '(d$da) tpmcheck: tick .* ok') -ge 2 ]" && ! out "$da" | grep -q "tpmcheck: FAIL"
ok $? "after the failover the PCR values go on from the last checkpoint (the vTPM state came with it)" || out "$da" | tail -5 | sed 's/^/# /'
$XL destroy k1
done_tap
