#!/bin/sh
# test-ocf-remus.sh - the OCF resource agent ocf:keel:remus (etc/ocf/keel-remus, docs/remus.md)
# on a real host pair: hosts A and B in network namespaces with their own disk copies
# (tests/remus-dev-lib.sh), the udpcount guest (disk + vif). Checked: the meta-data validates
# against the OCF ra-api DTD; validate-all says 6 without a config, 5 for a config file missing
# on this node, 6 for one that does not parse; monitor of a stopped resource says 7;
# `ocf-tester` passes on A with B as the backup and leaves no domain on either host; then start
# on A (protected to B; B holds the replica and B's probe says 7), A killed, `failover` on B:
# the domain runs on B from its checkpoint, answers on the LAN, monitor there says 0, a second
# start adopts it; A comes back and a monitor on B resumes the protection to A; stop leaves no
# domain on either host.
. "${KEEL_SRCDIR:-..}/tests/netns-reexec.sh"
netns_reexec keel-ocft "OCF agent keel-remus" "$0" "$@"
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
if "$B/config.status" --config 2>/dev/null | grep -q enable-sanitizers; then
    echo "1..0 # SKIP in the sanitizer build: the agent is a shell script over xl, whose Remus paths test-xl-remus-dev.sh checks under the sanitizers; the plain build runs it"
    exit 0
fi
if [ ! -x "$B/daemons/netback/keel-netback" ] || [ ! -x "$B/daemons/blkback/keel-blkback" ] ||
    ! command -v unshare >/dev/null || ! command -v ocf-tester >/dev/null ||
    ! command -v xmllint >/dev/null; then
    skip "OCF agent keel-remus" "keel-netback, keel-blkback, unshare, ocf-tester (resource-agents) or xmllint missing"
    done_tap; exit
fi
. "$S/tests/remus-dev-lib.sh"
trap 'rd_stop_all; cleanup' EXIT
AGENT="$S/etc/ocf/keel-remus"
DTD=/usr/share/resource-agents/ra-api-1.dtd
PATH="$B/cli:$PATH"           # xl for the agent and for `xl migrate-receive -r` on the backup
export PATH OCF_ROOT=/usr/lib/ocf

# ra HOST ACTION [NAME=VALUE...]: the agent on HOST as Pacemaker runs it there (node name HOST,
# backup "A B": the other one, reached by `$W/on HOST COMMAND`, the stand-in for ssh)
ra() {
    h=$1 a=$2; shift 2
    on "$h" env OCF_RESOURCE_INSTANCE=c1 OCF_RESKEY_CRM_meta_on_node="$h" \
        OCF_RESKEY_config="$W/c1.cfg" OCF_RESKEY_backup="A B" OCF_RESKEY_ssh="$W/on" \
        OCF_RESKEY_interval=50 OCF_RESKEY_options=--debug OCF_RESKEY_shutdown_timeout=0 \
        OCF_RESKEY_rundir="$(cat "$W/$h.rundir")" OCF_RESKEY_CRM_meta_interval=10000 "$@" \
        "$AGENT" "$a"
}
# domains HOST: the names of HOST's domains other than Domain-0
domains() { on "$1" xl list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0" { print $1 }' | tr '\n' ' '; }

(cd "$(dirname "$DTD")" && "$AGENT" meta-data | xmllint --noout --valid - 2>"$W/xmllint.err")
ok $? "meta-data is valid XML against the OCF ra-api DTD"
sed 's/^/# /' "$W/xmllint.err"

rd_net; ok $? "a LAN bridge and host namespaces $NS_A and $NS_B"
rd_host_start A && rd_host_start B; ok $? "hosts A and B start"
if on A xl info 2>/dev/null | grep -q "^logdirty_engine *: *none"; then
    skip "OCF agent keel-remus" "no log-dirty engine on this kernel (xl remus refuses)"; done_tap; exit
fi
rd_guest_cfg

ra A validate-all OCF_RESKEY_config= 2>"$W/err"; rc=$?
[ $rc -eq 6 ] && grep -q "config.*required" "$W/err"; ok $? "validate-all without config: 6 (OCF_ERR_CONFIGURED), saying so (rc $rc)"
ra A validate-all OCF_RESKEY_config="$W/none.cfg" 2>"$W/err"; rc=$?
[ $rc -eq 5 ] && grep -q "none.cfg: no such" "$W/err"; ok $? "validate-all with a config missing on this node: 5 (OCF_ERR_INSTALLED), naming it (rc $rc)"
echo 'memory = = 16' >"$W/bad.cfg"
ra A validate-all OCF_RESKEY_config="$W/bad.cfg" 2>"$W/err"; rc=$?
[ $rc -eq 6 ] && grep -q "bad.cfg does not parse" "$W/err"; ok $? "validate-all with a config that does not parse: 6 (rc $rc)"
ra A validate-all; ok $? "validate-all with the guest's config: 0"
ra A monitor; rc=$?
[ $rc -eq 7 ]; ok $? "monitor of the stopped resource: 7 (OCF_NOT_RUNNING) (rc $rc)"

on A env OCF_RESKEY_CRM_meta_on_node=A ocf-tester -n c1 -o config="$W/c1.cfg" -o backup="A B" \
    -o ssh="$W/on" -o interval=50 -o shutdown_timeout=0 -o rundir="$(cat "$W/A.rundir")" \
    "$AGENT" >"$W/tester.out" 2>&1
ok $? "ocf-tester passes on A with B as the backup"
sed 's/^/# /' "$W/tester.out"
# the replica is gone and its receiver ended without taking over
wait_until 5 sh -c "! ip netns pids $NS_B | xargs -r -I{} cat /proc/{}/cmdline 2>/dev/null | tr '\\0' ' ' | grep -q migrate-receive"
ok $? "no xl migrate-receive is left on B"
d="$(domains A)$(domains B)"
[ -z "$d" ]; ok $? "after ocf-tester no domain is left on A or B ($d)"

ra A start; ok $? "start on A"
log="$(cat "$W/A.rundir")/ocf/c1.remus.log"
wait_until 10 grep -q '^Remus: checkpoint 3:' "$log"; ok $? "B acknowledges checkpoints of c1 (xl remus --debug in $log)"
ra A monitor; ok $? "monitor on A: 0 (running)"
on B xl list c1--incoming >/dev/null 2>&1; ok $? "B holds the replica c1--incoming"
ra B monitor OCF_RESKEY_CRM_meta_interval=0; rc=$?
[ $rc -eq 7 ]; ok $? "a probe on B: 7 (the replica does not run there) (rc $rc)"
rd_kill A
# the backup notices within the heartbeat timeout; on a loaded host the restore that follows took
# more than the agent's default 10 s once, so the test allows 60 (a cluster sets its own)
out=$(ra B failover OCF_RESKEY_takeover_timeout=60 2>&1); rc=$?
ok $rc "A killed: failover on B succeeds"
[ $rc -eq 0 ] || echo "$out" | sed 's/^/# failover: /'
[ "$(domains B)" = "c1 " ]; ok $? "c1 runs on B under its name ($(domains B))"
python3 "$W/get.py" "$GIP" 7001 >/dev/null; ok $? "and answers on the LAN"
ra B monitor; ok $? "monitor on B: 0 (running)"
ra B start 2>"$W/err"; ok $? "start on B (what Pacemaker runs after the failover) adopts it"
grep -q "unprotected" "$W/err"; ok $? "saying it runs unprotected (A is gone)"
[ "$(domains B)" = "c1 " ]; ok $? "still one c1 on B ($(domains B))"
rd_host_start A; ok $? "host A is back (a fresh Keel host)"
ra B monitor; ok $? "monitor on B: 0, and it restarts the protection (reprotect)"
wait_until 10 sh -c "'$W/on' A xl list c1--incoming"; ok $? "A holds the replica c1--incoming again"
ra B stop; ok $? "stop on B"
d="$(domains A)$(domains B)"
[ -z "$d" ]; ok $? "stop leaves no domain on B and no replica on A ($d)"
ra B monitor; rc=$?
[ $rc -eq 7 ]; ok $? "monitor after stop: 7 (rc $rc)"
done_tap
