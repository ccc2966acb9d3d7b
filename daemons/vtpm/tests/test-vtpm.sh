#!/bin/sh
# test-vtpm.sh - keel-vtpmd on a real host (keel-host in a private runtime directory, sealed state
# in a private KEEL_STATEDIR). The vtpm nodes are written through the store as the toolstack does
# at add (docs/device-vtpm.md). Checks: InitWait with feature-protocol-v2, the tpm2-tools socket
# (swtpm TCTI: startup, getrandom, pcrextend/pcrread, createprimary, nvdefine/nvwrite/nvread),
# the instance's confinement, an instance killed (restarted from its sealed state, logged with
# domain/device), the manager killed with -9 and started again (NV and the endorsement key
# survive, and so do a persistent key, a key blob under the owner primary and an NV
# counter), close on online=0, the same uuid on another domain (same EK, same NV), a tampered
# and a truncated state file (refused, device closed, file left as it was), a backend whose
# frontend path names another domain, export/import/resume/release over the control socket,
# the hostile guest tpmevil (every malformed request gets its TPM error, the vTPM lives on, its
# PCR extend is read from dom0), and the same deterministic tpm2-tools results against swtpm.
. "${KEEL_SRCDIR:-../../..}/tests/xl-lib.sh"
cd "$S" || exit 1
have_xs || { echo "1..0 # SKIP xenstore-utils not installed"; exit 0; }
command -v tpm2_getrandom >/dev/null 2>&1 || { echo "1..0 # SKIP tpm2-tools not installed"; exit 0; }
export KEEL_VTPMD="$B/daemons/vtpm/keel-vtpmd" KEEL_BLKBACK=none KEEL_NETBACK=none
export KEEL_STATEDIR="$KEEL_RUNDIR/state"
CTL="$B/daemons/vtpm/tests/vtpm-ctl"
VLOG="$KEEL_RUNDIR/vtpm/keel-vtpmd.log"
BE=/local/domain/0/backend/vtpm
U1=0b6f2e0c-4a43-4c5e-9a1e-5c1f6c1f3a11
U2=7d1c4e55-0f3b-4d2a-8e6b-2f4a1c9b7e01
SF="$KEEL_STATEDIR/vtpm/$U1.state"
export TPM2TOOLS_TCTI=                       # each call names its socket
tpm() { # DOMID DEVID tool args...: a tpm2 tool against that vTPM's socket
    t="swtpm:path=$KEEL_RUNDIR/vtpm/$1.$2.sock"; shift 2
    tool=$1; shift
    timeout 60 "$tool" -T "$t" "$@" 2>>"$KEEL_RUNDIR/tpm2.err"
}
state_is() { [ "$(xenstore-read "$1/state" 2>/dev/null)" = "$2" ]; }
vtpmd_pid() { cat "$KEEL_RUNDIR/vtpm/keel-vtpmd.pid" 2>/dev/null; }
instance_of() { # DOMID DEVID -> pid of its instance (last log line)
    grep "vtpm $1/$2: instance [0-9]* serving" "$VLOG" | tail -1 | sed 's/.*instance \([0-9]*\) serving.*/\1/'
}
# add DOMID DEVID UUID [RESUME]: the nodes the toolstack writes at add
add() {
    be=$BE/$1/$2; fe=/local/domain/$1/device/vtpm/$2
    # directories first, with the permissions the toolstack gives them (keys inherit them)
    xenstore-write "$be/frontend-id" "$1" "$fe/backend-id" 0
    xenstore-chmod "$be" n0 "r$1"; xenstore-chmod "$be/frontend-id" n0 "r$1"
    xenstore-chmod "$fe" "n$1" r0; xenstore-chmod "$fe/backend-id" "n$1" r0
    xenstore-write "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" 1 "$fe/handle" "$2" \
        "$be/frontend" "$fe" "$be/frontend-id" "$1" "$be/online" 1 "$be/handle" "$2" \
        "$be/uuid" "$3" "$be/resume" "${4:-False}" "$be/state" 1
}
remove() { # DOMID DEVID: the toolstack's remove sequence
    xenstore-write "$BE/$1/$2/online" 0 "$BE/$1/$2/state" 5
    wait_until 20 state_is "$BE/$1/$2" 6; r=$?
    xenstore-rm "$BE/$1/$2"; xenstore-rm "/local/domain/$1/device/vtpm/$2"
    return $r
}
ekname() { tpm "$1" "$2" tpm2_createprimary -C e -g sha256 -G rsa -c "$KEEL_RUNDIR/ek.$1.ctx" >/dev/null &&
    tpm "$1" "$2" tpm2_readpublic -c "$KEEL_RUNDIR/ek.$1.ctx" | sed -n 's/^name: //p'; }

host start >/dev/null 2>&1; ok $? "a private host starts with keel-vtpmd"
host status | grep -q "^keel-vtpmd: running"; ok $? "keel-host status reports keel-vtpmd running"
[ "$(stat -c %a "$KEEL_RUNDIR/vtpm")" = 700 ] && [ "$(stat -c %a "$KEEL_RUNDIR/vtpm/control")" = 600 ]
ok $? "the manager's directory is 0700 and its control socket 0600 (root only)"
[ "$(stat -c %a "$KEEL_STATEDIR/vtpm/host.key")" = 600 ] && [ "$(stat -c %s "$KEEL_STATEDIR/vtpm/host.key")" = 32 ]
ok $? "the host key is 32 bytes, 0600, under the state directory"

# -- a vTPM without a guest: tpm2-tools through the socket ---------------------------------
add 7 0 $U1
wait_until 20 state_is $BE/7/0 2; ok $? "a new vtpm goes to InitWait (2)"
[ "$(xenstore-read $BE/7/0/feature-protocol-v2)" = 1 ]; ok $? "it offers feature-protocol-v2=1"
[ -S "$KEEL_RUNDIR/vtpm/7.0.sock" ] && [ "$(stat -c %a "$KEEL_RUNDIR/vtpm/7.0.sock")" = 600 ]
ok $? "its tpm2-tools socket is there, 0600"
[ -f "$SF" ] && [ "$(stat -c %a "$SF")" = 600 ]; ok $? "the new TPM's state is sealed at once ($SF, 0600)"
! grep -q "$(printf 'permall')" "$SF" && head -c 8 "$SF" | grep -q KVTPMST1
ok $? "the state file is sealed (its header, no plaintext marker)"
tpm 7 0 tpm2_startup -c; ok $? "tpm2_startup -c through the socket"
r=$(tpm 7 0 tpm2_getrandom 16 --hex); [ ${#r} -eq 32 ]; ok $? "tpm2_getrandom 16 gives 16 bytes ($r)"
tpm 7 0 tpm2_pcrextend 16:sha256=$(printf '%064d' 1) && tpm 7 0 tpm2_pcrread sha256:16 >"$KEEL_RUNDIR/pcr.keel"
ok $? "tpm2_pcrextend and tpm2_pcrread of PCR 16"
EK1=$(ekname 7 0); [ -n "$EK1" ]; ok $? "tpm2_createprimary -C e gives the endorsement primary ($EK1)"
printf 'hello-vtpm' >"$KEEL_RUNDIR/nv.dat"
tpm 7 0 tpm2_nvdefine 0x1500016 -C o -s 32 -a "ownerread|ownerwrite" >/dev/null &&
    tpm 7 0 tpm2_nvwrite 0x1500016 -C o -i "$KEEL_RUNDIR/nv.dat"
ok $? "tpm2_nvdefine and tpm2_nvwrite of an index"
[ "$(tpm 7 0 tpm2_nvread 0x1500016 -C o -s 10)" = hello-vtpm ]; ok $? "tpm2_nvread reads it back"

# -- confinement ---------------------------------------------------------------------------
ip=$(instance_of 7 0)
[ -n "$ip" ] && grep -q "^Uid:.*65534" /proc/$ip/status && grep -q "^Seccomp:.*2" /proc/$ip/status &&
    grep -q "^NoNewPrivs:.*1" /proc/$ip/status
ok $? "the instance runs as uid 65534 with no_new_privs and a seccomp filter"
[ "$(ls /proc/$ip/fd | wc -l)" -le 4 ]; ok $? "it holds only stdio and its socket ($(ls /proc/$ip/fd | tr '\n' ' '))"

# -- an instance killed: restarted from its sealed state -----------------------------------
kill -9 "$ip"
wait_until 10 grep -q "vtpm 7/0: instance $ip of vTPM $U1 died" "$VLOG"
ok $? "the manager logs the instance's death with domain/device"
[ "$(tpm 7 0 tpm2_nvread 0x1500016 -C o -s 10)" = hello-vtpm ]
ok $? "a new instance serves the same NV contents (TPM2_Startup re-sent for us)"
[ "$(instance_of 7 0)" != "$ip" ]; ok $? "it is a new process"

# -- the manager killed with -9 and started again ------------------------------------------
# what must survive besides NV data and the endorsement key: a persistent key, a key blob
# created under the owner hierarchy (loadable again only if the seed is the same), an NV counter
R=$KEEL_RUNDIR
tpm 7 0 tpm2_flushcontext -t && tpm 7 0 tpm2_createprimary -C o -G ecc -c "$R/o.ctx" >/dev/null &&
    tpm 7 0 tpm2_evictcontrol -C o -c "$R/o.ctx" 0x81000005 >/dev/null && tpm 7 0 tpm2_flushcontext -t &&
    tpm 7 0 tpm2_create -C 0x81000005 -G ecc -u "$R/k.pub" -r "$R/k.priv" >/dev/null &&
    tpm 7 0 tpm2_nvdefine 0x1500017 -C o -s 8 -a "ownerread|ownerwrite|nt=counter" >/dev/null &&
    tpm 7 0 tpm2_nvincrement 0x1500017 -C o && tpm 7 0 tpm2_nvincrement 0x1500017 -C o
r=$?; ok $r "a persistent key (tpm2_evictcontrol), a key under the owner primary, an NV counter at 2"
[ $r -eq 0 ] || tail -4 "$R/tpm2.err" | sed 's/^/# /'
PN=$(tpm 7 0 tpm2_readpublic -c 0x81000005 | sed -n 's/^name: //p')
counter() { tpm 7 0 tpm2_nvread 0x1500017 -C o -s 8 | od -An -tx1 | tr -d ' \n'; }
kill -9 "$(vtpmd_pid)"
wait_until 10 not kill -0 "$ip" 2>/dev/null
sleep 0.3
host start >/dev/null 2>&1; ok $? "keel-host starts the manager again"
wait_until 20 test -S "$KEEL_RUNDIR/vtpm/7.0.sock"
tpm 7 0 tpm2_startup -c
[ "$(tpm 7 0 tpm2_nvread 0x1500016 -C o -s 10)" = hello-vtpm ]; ok $? "after kill -9 of the manager NV survives"
[ "$(ekname 7 0)" = "$EK1" ]; ok $? "and the endorsement key is the same"
[ -n "$PN" ] && [ "$(tpm 7 0 tpm2_readpublic -c 0x81000005 | sed -n 's/^name: //p')" = "$PN" ]
ok $? "and the persistent key ($PN)"
tpm 7 0 tpm2_flushcontext -t && tpm 7 0 tpm2_load -C 0x81000005 -u "$R/k.pub" -r "$R/k.priv" -c "$R/k.ctx" >/dev/null
r=$?; ok $r "a key created before the kill loads again under the persistent primary"
[ $r -eq 0 ] || tail -4 "$R/tpm2.err" | sed 's/^/# /'
[ "$(counter)" = 0000000000000002 ]; ok $? "the NV counter is still 2 ($(counter))"

# -- close, and the same uuid on another domain --------------------------------------------
remove 7 0; ok $? "online=0 / state 5 closes the device (state 6)"
grep -q "vtpm 7/0: state of $U1 sealed at close" "$VLOG"; ok $? "its state is sealed at close"
[ ! -e "$KEEL_RUNDIR/vtpm/7.0.sock" ]; ok $? "its socket is gone"
add 8 0 $U1
wait_until 20 state_is $BE/8/0 2
tpm 8 0 tpm2_startup -c
[ "$(tpm 8 0 tpm2_nvread 0x1500016 -C o -s 10)" = hello-vtpm ] && [ "$(ekname 8 0)" = "$EK1" ]
ok $? "domain 8 with the same uuid gets the same TPM (NV contents and endorsement key)"
add 9 0 $U1
wait_until 20 state_is $BE/9/0 6; ok $? "a second running device with the same uuid is refused (state 6)"
xenstore-rm $BE/9/0; xenstore-rm /local/domain/9/device/vtpm/0

# -- the control socket: export, resume, import, release -----------------------------------
"$CTL" export 8 0 "$KEEL_RUNDIR/blob" && [ -s "$KEEL_RUNDIR/blob" ]; ok $? "export of vtpm 8/0 gives its state"
grep -q "vtpm 8/0: exported" "$VLOG"; ok $? "the instance is frozen after export"
"$CTL" resume 8 0; ok $? "resume unfreezes it"
r=$(tpm 8 0 tpm2_getrandom 8 --hex); [ ${#r} -eq 16 ]; ok $? "it answers again after resume"
"$CTL" resume 8 0 2>"$KEEL_RUNDIR/ctl.err"; [ $? -ne 0 ] && grep -q "no exported" "$KEEL_RUNDIR/ctl.err"
ok $? "resume of an instance not frozen is refused: $(cat "$KEEL_RUNDIR/ctl.err")"
tpm 8 0 tpm2_pcrread sha256:16 >"$KEEL_RUNDIR/pcr.8"
"$CTL" export 8 0 "$KEEL_RUNDIR/blob"
"$CTL" import 10 0 $U2 "$KEEL_RUNDIR/blob" 2>"$KEEL_RUNDIR/ctl.err"; [ $? -ne 0 ]
ok $? "import under another uuid is refused: $(cat "$KEEL_RUNDIR/ctl.err")"
"$CTL" import 10 0 $U1 "$KEEL_RUNDIR/blob"; ok $? "import for domain 10 is accepted"
"$CTL" release 8 0; ok $? "release of the frozen source"
grep -q "vtpm 8/0: released" "$VLOG"; ok $? "the source instance stopped without saving"
add 10 0 $U1 True
wait_until 20 state_is $BE/10/0 2
grep -q "vtpm 10/0: instance [0-9]* serving vTPM $U1 (resumed state)" "$VLOG"; ok $? "domain 10 starts from the imported state"
tpm 10 0 tpm2_pcrread sha256:16 >"$KEEL_RUNDIR/pcr.10" && cmp -s "$KEEL_RUNDIR/pcr.8" "$KEEL_RUNDIR/pcr.10"
ok $? "its PCR 16 is the source's without a TPM2_Startup (volatile state travelled)"
[ "$(tpm 10 0 tpm2_nvread 0x1500016 -C o -s 10)" = hello-vtpm ]; ok $? "and its NV contents too"
remove 10 0; remove 8 0 >/dev/null 2>&1

# -- tampered and truncated state files ----------------------------------------------------
cp "$SF" "$KEEL_RUNDIR/good.state"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[200]^=1; open(p,'wb').write(b)" "$SF"
cp "$SF" "$KEEL_RUNDIR/bad.state"
add 11 0 $U1
wait_until 20 state_is $BE/11/0 6; ok $? "a tampered state file closes the device (state 6)"
grep -q "vtpm 11/0: vTPM $U1: state file .* refused: authentication failed" "$VLOG"
ok $? "with a clear log line ($(grep 'vtpm 11/0.*refused' "$VLOG" | tail -1 | cut -c1-160))"
cmp -s "$SF" "$KEEL_RUNDIR/bad.state"; ok $? "the refused file is left as it was"
xenstore-rm $BE/11/0; xenstore-rm /local/domain/11/device/vtpm/0
head -c 300 "$KEEL_RUNDIR/good.state" >"$SF"
add 12 0 $U1
wait_until 20 state_is $BE/12/0 6; grep -q "vtpm 12/0: .*refused: truncated" "$VLOG"
ok $? "a truncated state file is refused too"
xenstore-rm $BE/12/0; xenstore-rm /local/domain/12/device/vtpm/0
cp "$KEEL_RUNDIR/good.state" "$SF"

# -- a backend whose frontend names another domain -----------------------------------------
xenstore-write $BE/15/0/frontend /local/domain/14/device/vtpm/0 $BE/15/0/frontend-id 15 \
    $BE/15/0/uuid 7d1c4e55-0f3b-4d2a-8e6b-2f4a1c9b7e02 $BE/15/0/state 1
wait_until 20 state_is $BE/15/0 6
grep -q "vtpm 15/0: backend frontend=/local/domain/14/device/vtpm/0, expected" "$VLOG"
ok $? "a backend whose frontend path names another domain is not served"
xenstore-rm $BE/15/0

# -- the hostile guest ---------------------------------------------------------------------
cat >"$KEEL_RUNDIR/evil.cfg" <<EOF
name = "tpmevil"
kernel = "tpmevil"
memory = 32
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
EOF
$XL create -q -p "$KEEL_RUNDIR/evil.cfg" >/dev/null 2>"$KEEL_RUNDIR/evil.err" ||
    sed 's/^/# /' "$KEEL_RUNDIR/evil.err"
d=$($XL domid tpmevil); ok $? "the tpmevil guest is created (domain $d)"
add "$d" 0 $U2
$XL unpause tpmevil
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }
wait_until 60 sh -c "$XL dmesg | grep -q '(d$d) tpmevil: done'"
out "$d" | grep "tpmevil:" | sed 's/^/# /'
out "$d" | grep -q "tpmevil: startup rc=0x0"; ok $? "tpmevil: TPM2_Startup through the ring succeeds"
out "$d" | grep -q "tpmevil: getrandom ok 16"; ok $? "tpmevil: TPM2_GetRandom gives 16 bytes"
out "$d" | grep -q "tpmevil: pcr_extend rc=0x0"; ok $? "tpmevil: TPM2_PCR_Extend of PCR 16 succeeds"
for a in size-lies size-short length-beyond-page length-huge length-tiny extra-pages-200 \
    extra-page-not-granted locality-7 garbage unknown-command; do
    out "$d" | grep -q "tpmevil: attempt=$a .* ok$"
    ok $? "tpmevil: $a gets its TPM error response ($(out "$d" | grep "attempt=$a " | cut -d' ' -f3-4))"
done
out "$d" | grep -q "tpmevil: alive getrandom ok"; ok $? "after the attacks the vTPM still answers the guest"
out "$d" | grep -q "tpmevil: done pass=11 fail=0"; ok $? "tpmevil: every check passed"
kill -0 "$(vtpmd_pid)"; ok $? "the manager is still running"
grep -q "vtpm $d/0: command rejected: " "$VLOG"; ok $? "rejections are logged with domain/device"
exp=$(python3 -c "import hashlib; print(hashlib.sha256(bytes(32)+bytes(range(0xa0,0xc0))).hexdigest().upper())")
tpm "$d" 0 tpm2_pcrread sha256:16 | grep -qi "0x$exp"
ok $? "dom0 reads the PCR 16 value the guest extended (0x$exp)"

# -- the same tpm2-tools script against Debian's swtpm -------------------------------------
if command -v swtpm >/dev/null 2>&1; then
    add 20 0 7d1c4e55-0f3b-4d2a-8e6b-2f4a1c9b7e03
    wait_until 20 state_is $BE/20/0 2
    mkdir -p "$KEEL_RUNDIR/sw"
    swtpm socket --tpm2 --server type=unixio,path="$KEEL_RUNDIR/sw/s" \
        --ctrl type=unixio,path="$KEEL_RUNDIR/sw/s.ctrl" --tpmstate dir="$KEEL_RUNDIR/sw" \
        --flags startup-clear --daemon --pid file="$KEEL_RUNDIR/sw/pid"
    script() { # TCTI: deterministic results only
        timeout 60 tpm2_pcrextend -T "$1" 16:sha256=$(printf '%064d' 7) &&
        timeout 60 tpm2_pcrread -T "$1" sha256:16 &&
        timeout 60 tpm2_nvdefine -T "$1" 0x1500020 -C o -s 16 -a "ownerread|ownerwrite" &&
        timeout 60 tpm2_nvwrite -T "$1" 0x1500020 -C o -i "$KEEL_RUNDIR/nv.dat" &&
        timeout 60 tpm2_nvread -T "$1" 0x1500020 -C o -s 10 && echo &&
        timeout 60 tpm2_getrandom -T "$1" 24 | wc -c &&
        timeout 60 tpm2_getcap -T "$1" pcrs
    }
    tpm 20 0 tpm2_startup -c
    script "swtpm:path=$KEEL_RUNDIR/vtpm/20.0.sock" >"$KEEL_RUNDIR/keel.out" 2>>"$KEEL_RUNDIR/tpm2.err"
    script "swtpm:path=$KEEL_RUNDIR/sw/s" >"$KEEL_RUNDIR/swtpm.out" 2>>"$KEEL_RUNDIR/tpm2.err"
    kill "$(cat "$KEEL_RUNDIR/sw/pid")" 2>/dev/null
    [ -s "$KEEL_RUNDIR/keel.out" ] && cmp -s "$KEEL_RUNDIR/keel.out" "$KEEL_RUNDIR/swtpm.out"
    ok $? "the same tpm2-tools script gives the same results against swtpm (pcr, nv, lengths, banks)"
    remove 20 0 >/dev/null
else
    skip "the same results against swtpm" "swtpm not installed"
fi
# -- an instance that dies with a command in flight (fault injection: the manager kills it) --
host stop >/dev/null 2>&1
KEEL_VTPMD_TEST_KILL_CC=0x17b host start >/dev/null 2>&1
add 21 0 7d1c4e55-0f3b-4d2a-8e6b-2f4a1c9b7e04
wait_until 20 state_is $BE/21/0 2
tpm 21 0 tpm2_startup -c
printf 'kept' >"$KEEL_RUNDIR/nv2.dat"
tpm 21 0 tpm2_nvdefine 0x1500030 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null &&
    tpm 21 0 tpm2_nvwrite 0x1500030 -C o -i "$KEEL_RUNDIR/nv2.dat"
ip=$(instance_of 21 0)
tpm 21 0 tpm2_getrandom 8 --hex >/dev/null; r=$?
[ $r -ne 0 ] && grep -q "0x101\|TPM_RC_FAILURE\|Failure" "$KEEL_RUNDIR/tpm2.err"
ok $? "a command whose instance dies in flight gets a TPM error response (TPM_RC_FAILURE), not a hang"
grep -q "vtpm 21/0: instance $ip of vTPM .* died .*the command in flight gets TPM_RC_FAILURE" "$VLOG"
ok $? "the crash is logged with domain/device and the answer given"
r=$(tpm 21 0 tpm2_getrandom 8 --hex); [ ${#r} -eq 16 ]; ok $? "the restarted instance answers the next command"
[ "$(tpm 21 0 tpm2_nvread 0x1500030 -C o -s 4)" = kept ]; ok $? "and has the NV written before the crash"
kill -0 "$(vtpmd_pid)"; ok $? "the manager survived the whole test"
done_tap
