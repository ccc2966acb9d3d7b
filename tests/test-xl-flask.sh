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
$XL loadpolicy "$B/policy/keel-policy.30"; ok $? "xl loadpolicy loads Keel's compiled policy"
$XL loadpolicy /etc/hostname >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "xl loadpolicy of a non-policy fails"
$XL loadpolicy /nonexistent >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "xl loadpolicy of a missing file fails"
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
