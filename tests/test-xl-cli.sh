#!/bin/sh
# test-xl-cli.sh - every xl command through a real host (keel-host start/status/stop), the
# cluster resource agent's flow, malformed configs, dry runs and command prefixes.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1

host start >/dev/null 2>&1; ok $? "keel-host start starts keel-hv and keel-stored"
host status >/dev/null; ok $? "keel-host status exits 0 while both run"
[ -S "$KEEL_RUNDIR/hv.sock" ] && [ -S "$KEEL_RUNDIR/xenstored/socket" ]
ok $? "both sockets are in the runtime directory"

out=$($XL info); ok $? "xl info succeeds"
tm=$(echo "$out" | awk -F': ' '/^total_memory /{print $2}')
fm=$(echo "$out" | awk -F': ' '/^free_memory /{print $2}')
[ "${tm:-0}" -gt 0 ] && [ "${fm:-0}" -gt 0 ] && [ "$fm" -le "$tm" ]
ok $? "xl info: total_memory ($tm) and free_memory ($fm) in MiB"
echo "$out" | grep -q '^xen_version            : ' ; ok $? "xl info: field names padded as xl prints them"

out=$($XL list)
[ "$(echo "$out" | head -1)" = "$(printf 'Name                                        ID   Mem VCPUs\tState\tTime(s)')" ]
ok $? "xl list: xl's exact header"
echo "$out" | sed -n 2p | grep -Eq '^Domain-0 +0 +[0-9]+ +[0-9]+ +[-r][-b][-p][-s][-rscwS][-d] +[0-9]+\.[0-9]$'
ok $? "xl list: a Domain-0 row first, with state letters"

out=$($XL create -c examples/hello.cfg 2>/dev/null)
echo "$out" | grep -q "Hello from Keel"; ok $? "xl create -c: the console shows the guest's output"
echo "$out" | grep -q "command line: greeting=world"; ok $? "the guest got the config's extra="
wait_until 5 not $XL list hello; ok $? "on_poweroff=destroy: the monitor destroys hello after it powers off"

# the cluster resource agent's flow
$XL create examples/counter.cfg name=ra1 2>/dev/null; ok $? "xl create CFG name=X exits 0"
$XL list ra1 >/dev/null 2>&1; ok $? "monitor: xl list X exits 0 while X runs"
cols=$($XL list ra1 | awk 'NR==2{print $3, $4}')
[ "$cols" = "16 1" ]; ok $? "xl list X columns 3-4 are memory and vCPUs ($cols)"
$XL list nosuch >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "xl list NAME exits 1 iff NAME does not exist"
$XL shutdown ra1 >/dev/null 2>&1; ok $? "xl shutdown X exits 0"
wait_until 5 not $XL list ra1; ok $? "after xl shutdown the domain is gone (on_poweroff=destroy)"
$XL destroy ra1 >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "xl destroy of a gone domain exits 1"

$XL create -q examples/counter.cfg name=c1 2>/dev/null
id=$($XL domid c1); ok $? "xl domid NAME"
[ "$($XL domname "$id")" = c1 ]; ok $? "xl domname ID"
timeout 3 $XL console c1 >"$KEEL_RUNDIR/con.out" 2>/dev/null
grep -q "counter: domain $id counting" "$KEEL_RUNDIR/con.out"; ok $? "xl console streams the console output"
$XL pause c1; $XL list c1 | awk 'NR==2{print $5}' | grep -q '^..p'; ok $? "xl pause: state p"
$XL unpause c1; $XL list c1 | awk 'NR==2{print $5}' | grep -q '^..-'; ok $? "xl unpause: no p"
$XL rename c1 c2; ok $? "xl rename exits 0"
[ "$($XL domid c2)" = "$id" ] && ! $XL list c1 >/dev/null 2>&1; ok $? "xl rename: the new name finds the domain, the old one does not"
$XL rename c2 Domain-0 2>/dev/null; [ $? -eq 1 ]; ok $? "xl rename to a used name fails"
$XL mem-set c2 8; ok $? "xl mem-set (unsuffixed MiB) exits 0"
if have_xs; then [ "$(xenstore-read /local/domain/$id/memory/target)" = 8192 ]; ok $? "mem-set writes memory/target in KiB"
else skip "mem-set writes memory/target" "no xenstore-read"; fi
$XL mem-set c2 64 2>/dev/null; [ $? -eq 1 ]; ok $? "xl mem-set above the maximum fails"
$XL mem-max c2 4 2>/dev/null; [ $? -eq 1 ]; ok $? "xl mem-max below the target fails"
$XL mem-max c2 12m; ok $? "xl mem-max 12m exits 0"
if have_xs; then [ "$(xenstore-read /local/domain/$id/memory/static-max)" = 12288 ]; ok $? "mem-max writes memory/static-max"
else skip "mem-max writes memory/static-max" "no xenstore-read"; fi
$XL vcpu-list c2 | grep -Eq "^c2 +$id +0 "; ok $? "xl vcpu-list lists the domain's vCPU"
# Xen's columns: %-32s %5u %5u, CPU %5u, state %3c%c%c, time %9.1f, two spaces, affinity
$XL vcpu-list c2 | grep -Eq "^c2 {31}( {4}[0-9]| {3}[0-9]{2}) {5}0 {4}[0-9]   [r-][b-][p-] [ 0-9.]{9}  [^ ]+ / [^ ]+$"
ok $? "xl vcpu-list rows in Xen's column layout"
[ "$($XL vcpu-list | grep -c '^Domain-0 ')" -ge 1 ]; ok $? "xl vcpu-list lists Domain-0's vCPUs"
$XL info | grep -Eq "^hw_caps +: ([0-9a-f]{8}:){7}[0-9a-f]{8}$"; ok $? "xl info: hw_caps as Xen's eight words"
$XL sched-credit -d c2 -w 512 -c 50 && $XL sched-credit -d c2 | grep -Eq "^c2 +$id +512 +50$"
ok $? "xl sched-credit -d -w -c sets weight and cap"
$XL vcpu-pin c2 0 0 && $XL vcpu-list c2 | grep -q " 0 / all$"; ok $? "xl vcpu-pin pins the vCPU"
$XL vcpu-set c2 1; ok $? "xl vcpu-set within maxvcpus"
$XL vcpu-set c2 2 2>/dev/null; [ $? -eq 1 ]; ok $? "xl vcpu-set beyond maxvcpus fails"
$XL uptime c2 | grep -Eq "^c2 +$id [0-9]+:[0-9]{2}:[0-9]{2}$"; ok $? "xl uptime"
$XL dmesg | grep -q "Domain $id created"; ok $? "xl dmesg shows the core's messages"
$XL dmesg -c >/dev/null && ! $XL dmesg | grep -q "Domain $id created"; ok $? "xl dmesg -c clears the ring"
$XL reboot c2 >/dev/null 2>&1; ok $? "xl reboot exits 0"
wait_until 5 sh -c "[ \"\$($XL domid c2 2>/dev/null)\" != '' ] && [ \"\$($XL domid c2)\" != $id ]"
ok $? "on_reboot=restart: c2 comes back as a new domain"
$XL list -l | grep -q '"name": "c2"'; ok $? "xl list -l prints the domain's config as JSON"
$XL list -v c2 | awk 'NR==2{print $7}' | grep -Eq '^[0-9a-f]{8}-'; ok $? "xl list -v adds the UUID"

$XL create -c examples/smp.cfg >"$KEEL_RUNDIR/smp.out" 2>&1
grep -q "all 128 vCPUs reported in" "$KEEL_RUNDIR/smp.out"; ok $? "examples/smp.cfg boots 128 vCPUs"
$XL create -q examples/dirtier.cfg 2>/dev/null && wait_until 5 sh -c "timeout 1 $XL console dirtier | grep -q 'errors 0'"
ok $? "examples/dirtier.cfg runs and verifies its memory"

$XL shutdown -a -w >/dev/null 2>&1; ok $? "xl shutdown -a -w"
wait_until 5 sh -c "[ \$($XL list | wc -l) -eq 2 ]"; ok $? "after shutdown -a only Domain-0 is left"

before=$($XL list | wc -l)
out=$($XL -N create examples/hello.cfg name=dry memory=32 2>/dev/null)
echo "$out" | grep -q '"domid": null' && echo "$out" | grep -q '"target_memkb": 32768'
ok $? "xl -N create prints the config JSON with overrides applied"
$XL create -n examples/hello.cfg >/dev/null 2>&1 && [ "$($XL list | wc -l)" -eq "$before" ]
ok $? "a dry run creates nothing"
printf 'name = "bad"\nmemory = [1,\nkernel = "hello"\n' >"$KEEL_RUNDIR/bad.cfg"
err=$($XL create "$KEEL_RUNDIR/bad.cfg" 2>&1); rc=$?
[ $rc -eq 1 ]; ok $? "a malformed config: xl create exits 1"
echo "$err" | grep -q "^$KEEL_RUNDIR/bad.cfg:3:1: "; ok $? "the error names file:line:column"
printf 'name = "bad2"\nkernel = "hello"\nmemory = "lots"\n' >"$KEEL_RUNDIR/bad2.cfg"
err=$($XL create "$KEEL_RUNDIR/bad2.cfg" 2>&1)
echo "$err" | grep -q "bad2.cfg:3:[0-9]*: memory"; ok $? "a wrong value: file:line:column and the key"
[ "$($XL list | wc -l)" -eq "$before" ]; ok $? "malformed configs create nothing"
$XL create examples/hello.cfg kernel=no-such-kernel >/dev/null 2>&1; [ $? -eq 1 ]
ok $? "a missing kernel is an error"

$XL li >/dev/null; ok $? "an unambiguous prefix (li) runs the command"
$XL d >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "an ambiguous prefix (d) is refused"
$XL frobnicate >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "an unknown command exits 1"
$XL -N list >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "-N with a command without dry run is refused"
$XL help | grep -q "sched-credit"; ok $? "xl help lists the commands"
$XL destroy Domain-0 >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "Domain-0 cannot be destroyed"

host stop >/dev/null; host status >/dev/null; [ $? -eq 3 ]; ok $? "keel-host stop; status exits 3"
[ ! -e "$KEEL_RUNDIR/hv.sock" ] && [ ! -e "$KEEL_RUNDIR/xenstored/socket" ]; ok $? "the sockets are gone"
done_tap
