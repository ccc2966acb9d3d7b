#!/bin/sh
# test-xl-cpumask.sh - xl.conf's global affinity masks (vm.cpumask, vm.pv.cpumask) on a private
# host with a private xl.conf: xl create ANDs every vCPU's hard affinity (cpus=, or every CPU)
# with them, shown by xl vcpu-list and by the vCPU threads' real affinity (Cpus_allowed_list);
# an empty result fails the create with a message and leaves no domain; create -i ignores them;
# xl restore and xl migrate-receive apply them to the image's (or its ConfigFile's) affinity in
# the same way (an empty result: exit 1, the migration source runs on);
# xl vcpu-pin ANDs the affinity given (empty: exit 1, nothing changed), vcpu-pin -i does not;
# vm.hvm.cpumask is checked but applies to no (paravirtual) Keel guest; a malformed mask stops
# xl with the file, line and key. Needs 2 CPUs.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
T=$KEEL_RUNDIR
C="$T/xl.conf"
export KEEL_XL_CONF="$C"
cfg="$S/examples/counter.cfg"
if [ "$(nproc)" -lt 2 ]; then
    echo "1..0 # SKIP the masks need a host of 2 CPUs at least"
    exit 0
fi
all=$(($(nproc) - 1))
aff() { # DOMAIN VCPU: the hard affinity xl vcpu-list shows
    $XL vcpu-list "$1" | awk -v v="$2" '$3 == v { print $(NF - 2) }'
}
threads() { # the Cpus_allowed_list of each thread of the one domain process, one per line
    _p=$(pgrep -P "$(cat "$KEEL_RUNDIR/keel-hv.pid")" -f keel-stub) || return 1
    [ "$(echo "$_p" | wc -l)" -eq 1 ] || return 1     # called while one domain exists
    sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/"$_p"/task/*/status
}

echo 'vm.cpumask="1"' >"$C"
host start >/dev/null 2>&1; ok $? "keel-host start"
$XL create -q "$cfg" vcpus=2 >/dev/null 2>"$T/e"; ok $? "create a two-vCPU domain with vm.cpumask=\"1\""
[ "$(aff counter 0)" = 1 ] && [ "$(aff counter 1)" = 1 ]; ok $? "vcpu-list: both vCPUs' hard affinity is 1"
echo "# threads: $(threads | tr '\n' ' ')"
[ "$(threads | sort -u)" = 1 ] && [ "$(threads | wc -l)" -ge 2 ]
ok $? "the vCPU threads may run on CPU 1 only (Cpus_allowed_list)"

$XL vcpu-pin counter all 0-$all; ok $? "vcpu-pin all 0-$all (exit 0)"
[ "$(aff counter 0)" = 1 ] && [ "$(aff counter 1)" = 1 ]; ok $? "the mask still gives 1"
$XL vcpu-pin counter 0 0 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q 'vcpu hard affinity map is empty' "$T/e" && grep -q "vm.cpumask=\"1\" in $C" "$T/e"
ok $? "vcpu-pin to 0 with the mask 1 fails (exit 1) naming the mask and file"
[ "$(aff counter 0)" = 1 ]; ok $? "and changes nothing"
$XL vcpu-pin -i counter 1 0-$all; ok $? "vcpu-pin -i 1 0-$all"
[ "$(aff counter 1)" = all ] && [ "$(aff counter 0)" = 1 ]; ok $? "vCPU 1 may run anywhere (all), vCPU 0 unchanged"
threads | grep -qx "0-$all"; ok $? "a vCPU thread's real affinity is 0-$all"
$XL vcpu-pin --ignore-global-affinity-masks counter 1 0 && [ "$(aff counter 1)" = 0 ]
ok $? "vcpu-pin --ignore-global-affinity-masks to 0 gives 0"
$XL destroy counter

$XL create -q "$cfg" name=c2 "cpus=\"0-$all\"" >/dev/null; ok $? "create with cpus=\"0-$all\""
[ "$(aff c2 0)" = 1 ]; ok $? "the mask still gives 1"
$XL destroy c2
$XL create -q "$cfg" name=c3 'cpus="0"' >/dev/null 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "domain 'c3': vcpu hard affinity map is empty: vCPU 0's hard affinity 0" "$T/e"
ok $? "cpus=\"0\" with the mask 1: create fails (exit 1) with a message"
$XL domid c3 >/dev/null 2>&1; [ $? -ne 0 ] && [ "$($XL list | wc -l)" -eq 2 ]; ok $? "and leaves no domain"
$XL create -q -i "$cfg" name=c4 'cpus="0"' >/dev/null && [ "$(aff c4 0)" = 0 ]
ok $? "create -i ignores the masks (cpus=\"0\" gives 0)"
$XL save c4 "$T/c4.img" >/dev/null 2>&1; ok $? "save it (its image keeps cpus=\"0\")"
$XL restore "$T/c4.img" >/dev/null 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "domain 'c4': vcpu hard affinity map is empty" "$T/e"
ok $? "restore applies the mask too: cpus=\"0\" with the mask 1 fails (exit 1) with a message"
$XL domid c4 >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "and leaves no domain"
sed -e 's/^name = .*/name = "c4"/' "$cfg" >"$T/c5.cfg"
echo "cpus = \"0-$all\"" >>"$T/c5.cfg"
$XL restore "$T/c5.cfg" "$T/c4.img" >/dev/null 2>&1 && [ "$(aff c4 0)" = 1 ]
ok $? "restore with a ConfigFile of cpus=\"0-$all\": the mask gives 1"
$XL destroy c4

# migrate-receive (here on the same host, the receiver reading the same xl.conf) applies them too
$XL create -q -i "$cfg" name=m1 'cpus="0"' >/dev/null; ok $? "create -i m1 with cpus=\"0\" to migrate"
$XL migrate -s '' m1 "$XL migrate-receive" >/dev/null 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "domain 'm1': vcpu hard affinity map is empty" "$T/e"
ok $? "migrate-receive applies the mask: cpus=\"0\" with the mask 1 fails (exit 1), the receiver says why"
[ "$(aff m1 0)" = 0 ] && not $XL domid m1--incoming 2>/dev/null && not $XL domid m1--migratedaway 2>/dev/null
ok $? "the source runs on as m1, no incoming domain is left"
$XL migrate -s '' -C "$T/c5.cfg" m1 "$XL migrate-receive" >/dev/null 2>"$T/e" &&
    [ "$(aff c4 0)" = 1 ] && not $XL domid m1 2>/dev/null
ok $? "migrate -C with cpus=\"0-$all\": the target's mask gives 1"
$XL destroy c4

printf 'vm.cpumask="0-%s"\nvm.pv.cpumask="all,^0"\nvm.hvm.cpumask="0"\n' "$all" >"$C"
$XL -N create -q "$cfg" vcpus=2 >"$T/o" 2>"$T/e"
python3 - "$T/o" <<'P'
import json, sys
a = json.load(open(sys.argv[1]))["config"]["b_info"]["vcpu_hard_affinity"]
assert a == [[1], [1]], a
P
ok $? "vm.pv.cpumask=\"all,^0\" applies too (both masks ANDed; the dry run shows it)"
grep -q 'note: vm.hvm.cpumask is accepted but has no effect' "$T/e"; ok $? "vm.hvm.cpumask=\"0\" applies to no guest: a note says so"

printf '# masks\nvm.pv.cpumask="1-x"\n' >"$C"
$XL list >/dev/null 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "$C:2: vm.pv.cpumask: invalid value \"1-x\"" "$T/e" && grep -q "Failed to parse config file: $C" "$T/e"
ok $? "a malformed mask stops xl (exit 1) with the file, line and key"
echo 'vm.cpumask=["0"]' >"$C"
$XL list >/dev/null 2>"$T/e"; [ $? -eq 1 ] && grep -q "vm.cpumask: a string is expected" "$T/e"
ok $? "a list as a mask stops xl"
done_tap
