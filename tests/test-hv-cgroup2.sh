#!/bin/sh
# test-hv-cgroup2.sh - the core on the unified cgroup v2 hierarchy (Debian 12's default layout):
# each domain's process sits in its own leaf <root>/keel/h<instance>/d<domid> with memory and task
# limits, xl sched-credit writes cpu.weight and cpu.max there (or fails plainly when the kernel
# gives the subtree no cpu controller), and destroy removes the leaf. On a hybrid host the
# cgroup2 mount at /sys/fs/cgroup/unified is used through KEEL_CGROUP2_ROOT.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1

is_cg2() { [ "$(stat -f -c %T "$1" 2>/dev/null)" = cgroup2fs ]; }
if is_cg2 /sys/fs/cgroup; then root=/sys/fs/cgroup
elif is_cg2 /sys/fs/cgroup/unified; then root=/sys/fs/cgroup/unified; export KEEL_CGROUP2_ROOT=$root
else skip "cgroup v2 layout" "no cgroup2 mount on this host"; done_tap; exit; fi
echo "# cgroup2 root $root"

host start >/dev/null 2>&1; ok $? "keel-host start with the cgroup v2 layout"
$XL create -q examples/counter.cfg name=cg 2>/dev/null; ok $? "create a domain"
id=$($XL domid cg 2>/dev/null)
leaf=$(ls -d "$root"/keel/h*/"d$id" 2>/dev/null | head -1)
[ -n "$leaf" ] && [ -d "$leaf" ]; ok $? "the domain has its own leaf cgroup ($leaf)"
pid=$(head -1 "$leaf/cgroup.procs" 2>/dev/null)
[ -n "$pid" ] && grep -q "^0::.*/keel/h.*/d$id\$" "/proc/$pid/cgroup"; ok $? "the domain's process is in it"
if [ -f "$leaf/memory.max" ]; then
    [ "$(cat "$leaf/memory.max")" = $(((16 + 64) * 1048576)) ]; ok $? "memory.max is the domain's memory plus 64 MiB"
else skip "memory.max" "the memory controller is not available here"; fi
if [ -f "$leaf/pids.max" ]; then
    [ "$(cat "$leaf/pids.max")" = 5 ]; ok $? "pids.max is the vCPUs plus 4"
else skip "pids.max" "the pids controller is not available here"; fi
if [ -f "$leaf/cpu.weight" ]; then
    $XL sched-credit -d cg -w 512 -c 25; ok $? "xl sched-credit -w 512 -c 25"
    [ "$(cat "$leaf/cpu.weight")" = 200 ]; ok $? "weight 512 is cpu.weight 200 (256 is the default 100)"
    [ "$(cat "$leaf/cpu.max")" = "25000 100000" ]; ok $? "cap 25 is cpu.max 25000 100000"
    $XL sched-credit -d cg -c 0 && [ "$(cat "$leaf/cpu.max")" = "max 100000" ]; ok $? "cap 0 lifts the quota"
else
    out=$($XL sched-credit -d cg -w 512 2>&1); rc=$?
    [ $rc -eq 1 ] && echo "$out" | grep -q "Operation not supported"
    ok $? "without a cpu controller sched-credit fails with exit 1 and says why"
fi
$XL destroy cg; ok $? "destroy"
wait_until 5 not test -d "$leaf"; ok $? "the leaf cgroup is removed"
inst=$(dirname "$leaf")
host stop >/dev/null 2>&1
[ ! -d "$inst" ]; ok $? "the stopped core removed its own cgroup directory ($inst)"
rmdir "$root/keel" 2>/dev/null
done_tap
