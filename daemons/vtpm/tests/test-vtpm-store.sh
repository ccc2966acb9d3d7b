#!/bin/sh
# test-vtpm-store.sh - keel-vtpmd's robustness on a real host (keel-host in a private runtime
# directory, a store with its journal): the manager's own confinement read from /proc (seccomp
# filter, no_new_privs, no capability, uid 0 kept), its instance launcher's (filter,
# no_new_privs, only CAP_SETUID/CAP_SETGID/CAP_KILL) and the instance it forked; and
# keel-stored killed with -9 under a running tpmcheck guest (keep=1: PCR 23 extended and checked
# every second): the guest's TPM answers while the store is down, the manager (the same process,
# still confined) reconnects, tpm2-tools reach the guest's vTPM, the guest's PCRs go on, a vTPM
# attached after the restart works (a second tpmcheck guest), and destroy cleans up.
. "${KEEL_SRCDIR:-../../..}/tests/xl-lib.sh"
cd "$S" || exit 1
have_xs || { echo "1..0 # SKIP xenstore-utils not installed"; exit 0; }
command -v tpm2_pcrread >/dev/null 2>&1 || { echo "1..0 # SKIP tpm2-tools not installed"; exit 0; }
[ -x "$B/guests/tpmcheck" ] || [ -f "$B/guests/tpmcheck" ] || { echo "1..0 # SKIP guests/tpmcheck not built"; exit 0; }
export KEEL_VTPMD="$B/daemons/vtpm/keel-vtpmd" KEEL_BLKBACK=none KEEL_NETBACK=none
export KEEL_STATEDIR="$KEEL_RUNDIR/state"
# a store with its journal: killed and started again, it keeps its nodes
export KEEL_STORED_PERSIST=1 KEEL_STORED_OPTS="--sync none"
VLOG="$KEEL_RUNDIR/vtpm/keel-vtpmd.log"
BE=/local/domain/0/backend/vtpm
U1=3c9d7e21-5b1a-4f0e-8d2c-6a7b8c9d0e11
U2=3c9d7e21-5b1a-4f0e-8d2c-6a7b8c9d0e12
NONE=0000000000000000
KEPT=00000000000000e0          # the launcher's CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7): vt_zyg.c
vtpmd_pid() { cat "$KEEL_RUNDIR/vtpm/keel-vtpmd.pid" 2>/dev/null; }
running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
out() { $XL dmesg | sed -n "s/^(d$1) //p"; }
ticks() { out "$1" | grep -c "^tpmcheck: tick .* ok$"; }
ticks_ge() { [ "$(ticks "$1")" -ge "$2" ]; }
confined() { # PID CAPS: what the manager (no capability) and its launcher must show in /proc
    [ "$(field "$1" Seccomp)" = 2 ] && [ "$(field "$1" NoNewPrivs)" = 1 ] &&
    [ "$(field "$1" CapEff)" = "$2" ] && [ "$(field "$1" CapPrm)" = "$2" ] &&
    [ "$(field "$1" CapBnd)" = "$2" ] && [ "$(field "$1" CapInh)" = $NONE ] &&
    [ "$(field "$1" CapAmb)" = $NONE ]
}
cfg() { # NAME UUID EXTRA
    printf 'name = "%s"\nkernel = "tpmcheck"\nmemory = 32\nvcpus = 1\nvtpm = [ "uuid=%s,backend=0" ]\nextra = "%s"\non_poweroff = "preserve"\n' \
        "$1" "$2" "$3" >"$KEEL_RUNDIR/$1.cfg"
}

host start >/dev/null 2>&1; ok $? "a private host starts with keel-vtpmd and a journalled store"
VP=$(vtpmd_pid)
confined "$VP" $NONE; ok $? "the manager runs under a seccomp filter with no_new_privs and no capability (CapEff/CapPrm/CapBnd/CapInh/CapAmb 0)"
[ "$(field "$VP" Seccomp)" = 2 ] || sed -n '/^\(Seccomp\|NoNewPrivs\|Cap\)/s/^/# /p' "/proc/$VP/status"
[ "$(field "$VP" Uid | cut -f1)" = 0 ]; ok $? "it keeps uid 0 (the core and the store serve Domain-0 by uid)"
grep -q "vtpm: serving .* confined (own mount namespace and root, no capabilities, no_new_privs, seccomp); instances forked by launcher [0-9]" "$VLOG"; ok $? "its log says so"
RD=$(realpath "$KEEL_RUNDIR")
[ "$(readlink /proc/$VP/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ] &&
    [ "$(ls /proc/$VP/root/ | tr '\n' ' ')" = "$(echo "$RD" | cut -d/ -f2) " ] &&
    [ "$(ls "/proc/$VP/root$RD" | tr '\n' ' ')" = "state vtpm xenstored " ]  # state: $KEEL_STATEDIR here
ok $? "its mount namespace shows only its runtime, store-socket and state directories (root: $(ls /proc/$VP/root/ | tr '\n' ' '), runtime: $(ls "/proc/$VP/root$RD" 2>&1 | tr '\n' ' '))"
[ -S "$RD/hv.sock" ] && [ ! -e "/proc/$VP/root$RD/hv.sock" ] && [ ! -e /proc/$VP/root/etc/passwd ]
ok $? "the core's control socket and the host's files are out of its reach"
touch "/proc/$VP/root/x" 2>/dev/null; [ $? -ne 0 ]; ok $? "its root is read-only"
ZP=$(sed -n 's/.*vtpm: instance launcher \([0-9]*\) started.*/\1/p' "$VLOG" | tail -1)
[ -n "$ZP" ] && [ "$(field "$ZP" PPid)" = "$VP" ] && confined "$ZP" $KEPT
ok $? "its instance launcher ($ZP) is its child, filtered, with no_new_privs and only SETUID, SETGID, KILL ($KEPT)"
[ "$(ls /proc/$ZP/fd 2>/dev/null | wc -l)" -le 4 ]; ok $? "the launcher holds only stdio and its socket ($(ls /proc/$ZP/fd 2>/dev/null | tr '\n' ' '))"

# ---- a guest whose TPM is in use, and the store killed under it ----
cfg k1 $U1 "keep=1"
$XL create -q "$KEEL_RUNDIR/k1.cfg" 2>"$KEEL_RUNDIR/k1.err"; ok $? "create tpmcheck keep=1 with a vtpm ($(head -c 200 "$KEEL_RUNDIR/k1.err"))"
d=$($XL domid k1)
wait_until 30 ticks_ge "$d" 2; ok $? "the guest extends and checks PCR 23 every second"
ip=$(grep "vtpm $d/0: instance [0-9]* serving" "$VLOG" | tail -1 | sed 's/.*instance \([0-9]*\) serving.*/\1/')
[ -n "$ip" ] && [ "$(field "$ip" PPid)" = "$ZP" ]; ok $? "the launcher forked its instance ($ip)"
[ "$(field "$ip" Uid | cut -f1)" = 65534 ] && [ "$(field "$ip" CapEff)" = $NONE ] &&
    [ "$(field "$ip" CapPrm)" = $NONE ] && [ "$(field "$ip" Seccomp)" = 2 ]
ok $? "the instance runs as 65534 without capabilities, under its own filter"
STP=$(cat "$KEEL_RUNDIR/xenstored/keel-stored.pid")
kill -9 "$STP"
wait_until 5 not running "$STP"; ok $? "keel-stored killed with -9"
wait_until 10 grep -q "vtpm: store connection lost" "$VLOG"; ok $? "the manager notices the loss and stays"
# (xl needs the store: the guest's progress shows in PCR 23, which it extends every second)
pcr23() { timeout 20 tpm2_pcrread -T "swtpm:path=$KEEL_RUNDIR/vtpm/$d.0.sock" sha256:23 2>/dev/null | sed -n 's/.*23 *: 0x//p'; }
p0=$(pcr23)
[ -n "$p0" ]; ok $? "tpm2_pcrread reaches the guest's vTPM while the store is down"
moved() { p=$(pcr23); [ -n "$p" ] && [ "$p" != "$p0" ]; }
wait_until 10 moved; ok $? "the guest's TPM answers while the store is down (it extended PCR 23 again)"
host start >/dev/null 2>&1; ok $? "keel-host starts the store again"
wait_until 20 grep -q "vtpm: store connection back after about" "$VLOG"
ok $? "the manager reconnects ($(grep 'store connection back' "$VLOG" | tail -1 | sed 's/.*vtpm: //'))"
[ "$(vtpmd_pid)" = "$VP" ] && running "$VP" && confined "$VP" $NONE; ok $? "it is the same manager process, still confined"
c1=$(ticks "$d")
wait_until 20 ticks_ge "$d" $((c1 + 2)) && ! out "$d" | grep -q "tpmcheck: FAIL"
ok $? "the guest's PCRs go on after the store restart (no tick lost its PCR state)"
out "$d" | grep "FAIL" | head -3 | sed 's/^/# /'
[ "$(xenstore-read $BE/$d/0/state 2>/dev/null)" = 4 ]; ok $? "its backend is still Connected in the store"
same23() { # the value dom0 reads is one the guest checked (retried: a tick may be half-printed)
    p=$(pcr23 | tr 'A-F' 'a-f')
    [ -n "$p" ] && out "$d" | sed -n 's/^tpmcheck: tick [0-9]* pcr23 \([0-9a-f]*\) ok$/\1/p' | tail -3 | grep -qx "$p"
}
wait_until 5 same23; ok $? "dom0 reads the PCR 23 value the guest checked"

# ---- a vTPM attached after the restart ----
cfg t2 $U2 "nv=after"
$XL create -q "$KEEL_RUNDIR/t2.cfg" 2>"$KEEL_RUNDIR/t2.err"; ok $? "create a second tpmcheck guest with a vtpm after the store restart"
d2=$($XL domid t2)
wait_until 30 sh -c "$XL dmesg | grep -q '(d$d2) tpmcheck: \(ok\|FAIL\)'"
out "$d2" | grep -q "^tpmcheck: ok$"; ok $? "its tpmcheck passes (startup, PCRs, random, NV) ($(out "$d2" | grep FAIL | head -1))"
grep -q "vtpm $d2/0: connected" "$VLOG"; ok $? "the manager saw it through its new store connection"
# its instance was forked while the manager had the first guest's page mapped: the launcher's
# child has none of it (nor the host key, nor the other vTPM's state: nothing of the manager's)
ip2=$(grep "vtpm $d2/0: instance [0-9]* serving" "$VLOG" | tail -1 | sed 's/.*instance \([0-9]*\) serving.*/\1/')
grep -q "memfd:keel-d$d-mem" "/proc/$VP/maps" && [ -n "$ip2" ] && ! grep -q "memfd:keel" "/proc/$ip2/maps"
ok $? "the second instance shares no guest mapping with the manager (forked from the launcher)"

$XL destroy t2; $XL destroy k1
wait_until 20 sh -c "[ -z \"\$(xenstore-list $BE 2>/dev/null)\" ]"; ok $? "destroy removes both vtpms; the manager forgets them"
grep -q "vtpm $d/0: state of $U1 sealed at close\|vtpm $d/0: backend directory removed" "$VLOG"; ok $? "the first guest's vTPM state is sealed at its end"
running "$VP"; ok $? "the manager survived the whole test"
[ "$failed" -eq 0 ] || sed 's/^/# /' "$VLOG" | tail -40
done_tap
