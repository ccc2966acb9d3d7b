#!/bin/sh
# test-xl-flask.sh - xl's FLASK commands as Xen's xl prints them (getenforce, setenforce,
# loadpolicy) and xl list -Z with each domain's label from its seclabel, on a real host.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1

host start >/dev/null 2>&1; ok $? "a private host starts"
[ "$($XL getenforce)" = "Enforcing" ]; ok $? "xl getenforce prints Enforcing by default"
$XL setenforce 0; ok $? "xl setenforce 0"
[ "$($XL getenforce)" = "Permissive" ]; ok $? "xl getenforce prints Permissive"
$XL setenforce Enforcing; ok $? "xl setenforce Enforcing"
[ "$($XL getenforce)" = "Enforcing" ]; ok $? "back to Enforcing"
$XL setenforce maybe >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "xl setenforce with a bad mode is a usage error"
$XL setenforce permissive && [ "$($XL getenforce)" = "Permissive" ]
ok $? "xl setenforce takes the mode name in lower case (permissive)"
$XL setenforce ENFORCING && [ "$($XL getenforce)" = "Enforcing" ]
ok $? "xl setenforce takes the mode name in upper case (ENFORCING)"
out=$($XL loadpolicy "$B/policy/keel-policy.30" 2>"$KEEL_RUNDIR/lp.err"); rc=$?
[ $rc -eq 0 ] && [ "$out" = "Successfully loaded policy." ] && [ ! -s "$KEEL_RUNDIR/lp.err" ]
ok $? "xl loadpolicy loads Keel's compiled policy and prints Xen's 'Successfully loaded policy.'"
out=$($XL loadpolicy /etc/hostname 2>"$KEEL_RUNDIR/lp.err"); rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] && grep -q '^Unable to load new Flask policy: ' "$KEEL_RUNDIR/lp.err"
ok $? "xl loadpolicy of a non-policy fails with 'Unable to load new Flask policy: ...', nothing on stdout"
out=$($XL loadpolicy /nonexistent 2>"$KEEL_RUNDIR/lp.err"); rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] &&
    grep -q "^Error occurred opening policy file '/nonexistent': No such file" "$KEEL_RUNDIR/lp.err"
ok $? "xl loadpolicy of a missing file fails with 'Error occurred opening policy file ...'"
: >"$KEEL_RUNDIR/empty.pol"
$XL loadpolicy "$KEEL_RUNDIR/empty.pol" 2>&1 | grep -q '^Unable to read new Flask policy file: .*empty'
ok $? "xl loadpolicy of an empty file fails with 'Unable to read new Flask policy file: ...'"
[ "$($XL getenforce)" = "Enforcing" ]; ok $? "the failed loads left the loaded policy enforcing"
$XL create -q examples/counter.cfg name=plain 2>/dev/null; ok $? "create an ordinary domain"
$XL create -q examples/counter.cfg name=iso 'seclabel="system_u:system_r:isolated_domU_t"' 2>/dev/null
ok $? "create a domain with seclabel isolated_domU_t"
out=$($XL list -Z)
echo "$out" | head -1 | grep -q "Security Label$"; ok $? "xl list -Z adds the Security Label column"
echo "$out" | grep -Eq '^Domain-0 .* system_u:system_r:dom0_t$'; ok $? "Domain-0 is dom0_t"
echo "$out" | grep -Eq '^plain .* system_u:system_r:domU_t$'; ok $? "a domain without seclabel is domU_t"
echo "$out" | grep -Eq '^iso .* system_u:system_r:isolated_domU_t$'; ok $? "seclabel= gives the domain its label"
$XL create -q examples/counter.cfg name=bad 'seclabel="system_u:system_r:nosuch_t"' >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "an unknown seclabel creates nothing"
not $XL list bad >/dev/null 2>&1; ok $? "no domain named bad exists"
$XL destroy plain; $XL destroy iso
done_tap
