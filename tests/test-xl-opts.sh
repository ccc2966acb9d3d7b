#!/bin/sh
# test-xl-opts.sh - options of Xen's xl that Keel's xl takes too: global -T, create <ConfigFile>
# [options], list -c -n, info -n -x, vcpu-pin -i, console -e, save -D and save/restore with a
# ConfigFile, migrate -D -F --live, restore -V/-A; with their error paths, on a private host.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
T=$KEEL_RUNDIR

# no devices here: the core, the store and the console daemon are enough
export KEEL_BLKBACK=none KEEL_NETBACK=none KEEL_VTPMD=none
host start >/dev/null 2>&1; ok $? "keel-host start"
# ---- create <ConfigFile> [options] [vars] (Xen's order) ----
$XL create examples/counter.cfg -q -p name=c1 2>"$T/e"; ok $? "create CFG -q -p name=c1 (file before the options)"
[ ! -s "$T/e" ] && $XL list c1 | awk 'NR == 2 { exit $5 !~ /p/ }'; ok $? "-q and -p after the file took effect"
$XL -N create examples/counter.cfg -q name=dry | grep -q '"name": "dry"'; ok $? "-N create CFG -q key=value prints the config"
$XL create -q examples/counter.cfg name=c2; ok $? "the old order still works"
$XL create examples/counter.cfg -Z >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "an unknown option after the file is a usage error (2)"

# ---- global -T ----
KEEL_RUNDIR=/nonexistent $XL -T list 2>&1 | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ [a-z-]+\[[0-9]+\]: error: '
ok $? "-T: liblight's error line carries the time and the pid"

# ---- list -c -n ----
$XL list -c -n >"$T/l"; ok $? "list -c -n exits 0"
head -1 "$T/l" | grep -q 'Time(s)         Cpupool NODE Affinity$'; ok $? "list -c -n: Xen's header columns"
awk '$1 == "c1" { exit !($(NF-1) == "Pool-0" && $NF == "all") }' "$T/l"; ok $? "c1 is in Pool-0 with node affinity all"
$XL list --cpupool --context c1 | head -1 | grep -q 'Security Label         Cpupool'; ok $? "--cpupool --context (long forms)"

# ---- info -n -x ----
$XL info -n >"$T/i"; ok $? "info -n exits 0"
grep -qx 'cpu:    core    socket     node' "$T/i" && grep -Eq '^ +0: +[0-9]+ +[0-9]+ +[0-9]+$' "$T/i" &&
    grep -qx 'node:    memsize    memfree    distances' "$T/i" && grep -Eq '^ +0: +[0-9]+ +[0-9]+ +10' "$T/i"
ok $? "info -n: cpu_topology and numa_info tables"
[ "$(grep -c '^ *[0-9]*: ' "$T/i")" -ge "$(($(awk -F': ' '$1 ~ /^nr_cpus/ {print $2}' "$T/i") + 1))" ]
ok $? "info -n: a topology row per CPU and a row per node"
$XL info -x | grep -Eq '^xenstore_features +: 0x[0-9a-f]{8}$'; ok $? "info -x prints xenstore_features"
$XL info | grep -q xenstore_features; [ $? -ne 0 ]; ok $? "info without -x does not"

# ---- vcpu-pin -i, console -e ----
$XL vcpu-pin -i c2 0 0 && $XL vcpu-list c2 | grep -q ' 0 / all$'; ok $? "vcpu-pin -i pins"
$XL vcpu-pin --ignore-global-affinity-masks c2 0 all; ok $? "vcpu-pin --ignore-global-affinity-masks"
$XL console -e '^ab' c2 2>"$T/e" </dev/null; [ $? -eq 1 ] && grep -q 'Invalid escape character' "$T/e"
ok $? "console -e with a bad escape: exit 1"
timeout 2 $XL console -e '^a' c2 </dev/null >/dev/null 2>&1; [ $? -ne 1 ]; ok $? "console -e ^a is accepted"

# ---- save -D, save / restore with a ConfigFile ----
id1=$($XL domid c2)
$XL save -D c2 "$T/c2.img" 2>/dev/null; ok $? "save -D"
$XL create -q examples/counter.cfg name=c3   # takes the next id
$XL restore "$T/c2.img" 2>/dev/null && [ "$($XL domid c2)" = "$id1" ]; ok $? "restore of a save -D image keeps the domain id ($id1)"
$XL save c2 "$T/c2b.img" 2>/dev/null && $XL restore "$T/c2b.img" 2>/dev/null && [ "$($XL domid c2)" != "$id1" ]
ok $? "without -D the restored domain takes a new id"
printf 'name = "c2cfg"\nkernel = "counter"\nmemory = 16\n' >"$T/c2.cfg"
$XL save c2 "$T/c2c.img" "$T/c2.cfg" 2>/dev/null && $XL restore -p "$T/c2c.img" 2>/dev/null && $XL domid c2cfg >/dev/null
ok $? "save Domain File ConfigFile: the image carries the given config (restored as c2cfg)"
$XL save c2cfg "$T/c2d.img" 2>/dev/null
printf 'name = "c2new"\nkernel = "counter"\nmemory = 16\n' >"$T/new.cfg"
$XL restore "$T/new.cfg" "$T/c2d.img" 2>"$T/e" && $XL domid c2new >/dev/null && grep -q 'Using config file' "$T/e"
ok $? "restore ConfigFile CheckpointFile: the domain takes the given config (c2new)"
$XL save c2new "$T/c2e.img" 2>/dev/null
$XL restore "$T/nosuch.cfg" "$T/c2e.img" 2>"$T/e"; [ $? -eq 1 ] && grep -q nosuch.cfg "$T/e" && ! $XL domid c2new >/dev/null 2>&1
ok $? "restore with a missing ConfigFile: exit 1, nothing restored"
$XL restore -V -A "$T/c2e.img" 2>"$T/e" && grep -q 'no VNC display' "$T/e"; ok $? "restore -V -A: accepted with a warning"
$XL restore a b c 2>/dev/null >/dev/null; [ $? -eq 2 ]; ok $? "restore with three arguments is a usage error"
$XL save c2new 2>/dev/null >/dev/null; [ $? -eq 2 ]; ok $? "save without a file is a usage error"

# ---- migrate -D -F --live (on this host: the receiver is the same host) ----
if $XL info | grep -q '^logdirty_engine *: none'; then
    skip "migrate --live -F" "no log-dirty engine on this kernel"; skip "migrate -D" "no log-dirty engine"
else
    $XL migrate -s '' --live -F c1 "$XL migrate-receive" 2>"$T/e"; ok $? "migrate --live -F to this host"
    id=$($XL domid c1)
    $XL migrate -s '' -D c1 "$XL migrate-receive" 2>"$T/e"; [ $? -eq 1 ] && [ "$($XL domid c1)" = "$id" ]
    ok $? "migrate -D to this host fails (the id is in use there) and c1 runs on"
fi
# ---- xenstore-quota-get/-set (the store's GET_QUOTA/SET_QUOTA) ----
$XL xenstore-quota-get -g >"$T/q" && head -1 "$T/q" | grep -qx 'Quota name           Quota value' &&
    grep -Eq '^nodes {16} +[0-9]+$' "$T/q"; ok $? "xenstore-quota-get -g: Xen's header and rows"
$XL xenstore-quota-set c3 nodes=50 watches=0x20 && $XL xenstore-quota-get c3 >"$T/q" &&
    grep -Eq '^nodes +50$' "$T/q" && grep -Eq '^watches +32$' "$T/q"
ok $? "xenstore-quota-set of a domain (decimal and hex), read back"
$XL xenstore-quota-get -g | grep -Eq '^nodes +50$'; [ $? -ne 0 ]; ok $? "the global value is not changed by a domain's"
$XL xenstore-quota-set -g nodes 2>"$T/e"; [ $? -eq 1 ] && grep -q 'lacks "="' "$T/e"; ok $? "a specification without = is refused (exit 1)"
$XL xenstore-quota-set -g nodes=-1 2>"$T/e"; [ $? -eq 1 ] && grep -q 'illegal value "-1"' "$T/e"; ok $? "an illegal value is refused"
$XL xenstore-quota-set -g bogus=1 2>"$T/e"; [ $? -eq 1 ] && grep -q 'Quota could not be set' "$T/e"; ok $? "an unknown quota name is refused by the store"
$XL xenstore-quota-get 2>"$T/e"; [ $? -eq 1 ] && grep -q 'Domain or "-g" must be specified' "$T/e"; ok $? "xenstore-quota-get needs a domain or -g"
# ---- config-update: the configuration of the next build (a restart), not the running one ----
$XL create -q examples/counter.cfg name=cu memory=16 'on_reboot="restart"'; ok $? "a domain that restarts on reboot"
$XL config-update cu examples/counter.cfg name=cu memory=24 'on_reboot="restart"' 2>"$T/e"
[ $? -eq 0 ] && grep -q '^WARNING: xl now has better capability' "$T/e" && grep -q '^setting dom[0-9]* configuration$' "$T/e"
ok $? "config-update: Xen's warning and 'setting domN configuration'"
$XL list cu | awk 'NR == 2 {exit !($3 == 16)}'; ok $? "the running domain keeps its 16 MiB"
$XL trigger cu reset && wait_until 10 sh -c "$XL list cu 2>/dev/null | awk 'NR == 2 {exit !(\$3 == 24)}'"
ok $? "rebooted, it is built from the updated configuration (24 MiB)"
$XL config-update cu 2>"$T/e"; [ $? -eq 1 ] && grep -q 'Config file not specified' "$T/e"; ok $? "config-update without a file: exit 1"
$XL config-update 2>"$T/e"; [ $? -eq 1 ] && grep -q 'requires a domain argument' "$T/e"; ok $? "config-update without a domain: exit 1"
$XL -N config-update cu examples/counter.cfg memory=8 2>/dev/null | grep -q '"c_info"'; ok $? "-N config-update prints the configuration and stores nothing"
$XL destroy cu
for d in c1 c2new c3; do $XL destroy $d; done; ok $? "destroy"
done_tap
