#!/bin/sh
# test-xl-cpupool.sh - cpupools and schedulers on a private host: Pool-0 holds the host's CPUs,
# cpupool-create/-list/-rename/-cpu-add/-cpu-remove/-migrate/-destroy with their errors, a
# domain in a one-CPU pool never runs on another CPU (its threads' affinity and last CPU from
# /proc), pool= in a config, sched-credit/-credit2 parameter round trips, sched-rtds: the rtds
# pool a scheduling partition of its own (cgroup v1 cpusets), its vCPU threads SCHED_DEADLINE
# and a spinning vCPU's share within 10 % of budget/period; where Linux does not admit it, the
# CFS-bandwidth fallback's share at most budget/period + 10 %; the partition gone with the pool
# and at keel-host stop (the root cpuset balancing load again).
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
T=$KEEL_RUNDIR
ncpu=$(nproc)

host start >/dev/null 2>&1; ok $? "keel-host start"
$XL cpupool-list >"$T/l"; ok $? "cpupool-list exits 0"
head -1 "$T/l" | grep -qx 'Name               CPUs   Sched     Active   Domain count'; ok $? "Xen's header"
grep -Eq "^Pool-0 +$ncpu +credit +y +1\$" "$T/l"; ok $? "Pool-0 holds the host's $ncpu CPUs, Domain-0 in it"
if [ "$ncpu" -lt 2 ]; then skip "pools of one CPU" "needs 2 CPUs"; done_tap; exit; fi
last=$((ncpu - 1))

$XL cpupool-create name=\"p1\" 'cpus="1"' >/dev/null 2>"$T/e"; [ $? -eq 1 ] && grep -q 'cpu 1 illegal or not free' "$T/e"
ok $? "a CPU of Pool-0 is not free: cpupool-create refuses (exit 1)"
$XL cpupool-cpu-remove Pool-0 $last; ok $? "cpupool-cpu-remove Pool-0 $last"
$XL cpupool-create 'name="7"' 'cpus="1"' >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "an all-digit name is refused"
$XL cpupool-create 'name="a/b"' >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "a name with / is refused"
$XL cpupool-create 'name="Pool-0"' >/dev/null 2>"$T/e"; [ $? -eq 1 ] && grep -q 'already exists' "$T/e"
ok $? "a name in use is refused"
$XL cpupool-create 'name="p1"' "cpus=\"$last\"" >"$T/o"; ok $? "cpupool-create p1 with CPU $last"
grep -qx 'cpupool name:   p1' "$T/o" && grep -qx 'number of cpus: 1' "$T/o"; ok $? "create prints Xen's summary"
$XL cpupool-list -c p1 | grep -Eq "^p1 +$last\$"; ok $? "cpupool-list -c p1: CPU $last"
$XL cpupool-cpu-add p1 0 2>"$T/e"; grep -q 'in another cpupool' "$T/e"; ok $? "adding a CPU in use says so"
$XL cpupool-list nosuch >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "cpupool-list of an unknown pool: exit 1"

printf 'name = "sp"\nkernel = "spin"\nmemory = 16\nvcpus = 2\npool = "p1"\n' >"$T/sp.cfg"
$XL create -q "$T/sp.cfg"; ok $? "a spinning two-vCPU domain created with pool=\"p1\""
$XL cpupool-list p1 | grep -Eq '^p1 +1 +credit +y +1$'; ok $? "p1 counts the domain"
pid=$(pgrep -P "$(cat "$KEEL_RUNDIR/keel-hv.pid")" -f keel-stub -n)   # this host's domain
# every thread may run on CPU $last only; a thread that ran during the next 0.3 s ran there (a
# thread idle since before the placement still shows the CPU it ran on then)
for t in /proc/$pid/task/*; do echo "$t $(cut -d' ' -f1 $t/schedstat)"; done >"$T/run0"
sleep 0.3
bad=0 ran=0
while read -r t r0; do
    grep -q "^Cpus_allowed_list:[[:space:]]*$last\$" $t/status || bad=1
    [ "$(cut -d' ' -f1 $t/schedstat 2>/dev/null)" != "$r0" ] || continue
    ran=$((ran + 1))
    awk -v c=$last '{ sub(/.*\) /, ""); split($0, f, " "); exit f[37] != c }' $t/stat || bad=1
done <"$T/run0"
[ $ran -ge 1 ] || bad=1
[ $bad = 0 ]; ok $? "every thread of the domain may run only on CPU $last and last ran there"
$XL vcpu-pin sp 0 0 >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "pinning outside the pool is refused"
$XL cpupool-destroy p1 2>"$T/e"; [ $? -eq 1 ]; ok $? "destroying a pool with a domain fails (exit 1)"
$XL cpupool-cpu-remove p1 $last 2>"$T/e"; grep -q 'last CPU of a cpupool with domains' "$T/e"
ok $? "removing the last CPU of a pool with domains is refused"
$XL cpupool-rename p1 rt1; ok $? "cpupool-rename p1 rt1"
$XL cpupool-rename rt1 Pool-0 2>/dev/null; [ $? -eq 1 ]; ok $? "renaming onto a used name fails"

# ---- credit / credit2 ----
$XL sched-credit -d sp -w 512 -c 50 && $XL sched-credit -d sp | grep -Eq '^sp +[0-9]+ +512 +50$'
ok $? "sched-credit -d -w -c round trip"
$XL sched-credit -s -p rt1 -t 5 -r 2000 -m 100 && $XL sched-credit -s -p rt1 | grep -qx 'Cpupool rt1: tslice=5ms ratelimit=2000us migration-delay=100us'
ok $? "sched-credit -s -p -t -r -m round trip"
$XL sched-credit --schedparam --cpupool=rt1 --tslice_ms=1001 2>/dev/null; [ $? -eq 1 ]; ok $? "a time slice over 1000 ms is refused"
$XL sched-credit -t 5 2>&1 | grep -q 'Must specify schedparam'; ok $? "-t without -s: Xen's message"
$XL sched-credit | grep -q '^Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us$'; ok $? "listing: each credit pool's line"
$XL cpupool-create 'name="c2"' 'sched="credit2"' >/dev/null; ok $? "an empty credit2 pool"
$XL sched-credit2 -s -p c2 -r 700 && $XL sched-credit2 -s -p c2 | grep -qx 'Cpupool c2: ratelimit=700us'
ok $? "sched-credit2 -s -r round trip"
$XL sched-credit2 -d sp 2>&1 | grep -q 'returned credit not credit2'; ok $? "sched-credit2 on a credit domain: Xen's message"
$XL cpupool-migrate sp c2 2>"$T/e"; grep -q 'has no CPU' "$T/e"; ok $? "moving into a pool without CPUs is refused"
$XL cpupool-destroy c2; ok $? "cpupool-destroy of an empty pool"

# ---- rtds ----
$XL cpupool-create 'name="rt"' 'sched="rtds"' >/dev/null && $XL cpupool-migrate sp Pool-0 &&
    $XL cpupool-cpu-remove rt1 $last && $XL cpupool-cpu-add rt $last && $XL cpupool-migrate sp rt
ok $? "an rtds pool with CPU $last, the domain moved into it"
$XL sched-rtds -d sp -v all -p 10000 -b 3000 -e 0; ok $? "sched-rtds -v all -p 10000 -b 3000 -e 0"
[ "$($XL sched-rtds -d sp -v all | grep -Ec '^sp +[0-9]+ +[01] +10000 +3000 +no$')" = 2 ]; ok $? "per-vCPU round trip"
$XL sched-rtds -d sp -v 0 -p 100 -b 200 2>/dev/null; [ $? -eq 1 ]; ok $? "a budget over the period is refused"
# budget B = 10 ms per period P = 50 ms, no extra time: each vCPU thread (vCPU 0 spins, vCPU 1
# is never brought up) may use B/P = 200/1000 of the CPU; measured from schedstat over 2 s
$XL sched-rtds -d sp -v all -p 50000 -b 10000 -e 0
engine=$($XL dmesg | grep 'rtds:' | tail -1)
cs=/sys/fs/cgroup/cpuset
part=$(ls -d $cs/keel/h*/p[0-9]* 2>/dev/null | head -1)
for t in /proc/$pid/task/*; do echo "$t $(cut -d' ' -f1 $t/schedstat)"; done >"$T/rt0"
w0=$(date +%s%N); sleep 2
shares=$(while read -r t r0; do echo $(( ($(cut -d' ' -f1 $t/schedstat) - r0) * 1000 / ($(date +%s%N) - w0) )); done <"$T/rt0")
max=$(echo "$shares" | sort -n | tail -1); sum=$(echo "$shares" | paste -sd+ | bc)
case $engine in
*refused*)
    skip "SCHED_DEADLINE: vCPU threads' policy and budget share" "not admitted here: ${engine#*rtds: }"
    # the CFS fallback caps the domain at the sum of the shares (400/1000); no lower bound, as
    # other load on the CPU may take some of it
    [ "$sum" -le 440 ]; ok $? "CFS fallback: the two vCPUs of 10000/50000 us used $sum/1000 of a CPU, at most 400 +10 %";;
*)  [ -n "$part" ] && [ "$(cat $cs/cpuset.sched_load_balance)" = 0 ] && [ "$(cat $part/cpuset.cpus)" = $last ]
    ok $? "the rtds pool is a scheduling partition ($part: CPU $last; the root cpuset does not balance load)"
    bad=0; for t in /proc/$pid/task/*; do grep -Eq '^policy +: +6$' $t/sched || bad=1; done
    [ $bad = 0 ]; ok $? "every vCPU thread is SCHED_DEADLINE (policy 6 in /proc/<pid>/task/<tid>/sched)"
    [ "$max" -ge 180 ] && [ "$max" -le 220 ]; ok $? "SCHED_DEADLINE: the spinning vCPU of 10000/50000 us used $max/1000 of its CPU (200 +-10 %)"
    [ "$sum" -le $((max + 220)) ]; ok $? "the other vCPU within its budget too (both: $sum/1000)";;
esac
$XL sched-rtds | grep -q '^Cpupool rt: sched=RTDS$'; ok $? "sched-rtds lists the rtds pool"
$XL destroy sp; $XL cpupool-destroy rt; ok $? "destroy the domain, then its pool"
others() { ls -d $cs/keel/h*/p[0-9]* 2>/dev/null | grep -v "^$part\$"; }   # other hosts' partitions
if [ -n "$part" ]; then
    [ ! -d "$part" ] && { [ -n "$(others)" ] || [ "$(cat $cs/cpuset.sched_load_balance)" = 1 ]; }
    ok $? "the pool gone, its partition is removed and the root cpuset balances load again"
else skip "the partition removed with the pool" "the pool was not a partition"; fi
$XL cpupool-cpu-add Pool-0 $last && $XL cpupool-list | grep -Eq "^Pool-0 +$ncpu "; ok $? "the CPU back in Pool-0"
$XL cpupool-cpu-remove Pool-0 $last
$XL cpupool-create 'name="rt2"' 'sched="rtds"' "cpus=\"$last\"" >/dev/null; p2=$(ls -d "${part%/*}"/p[0-9]* 2>/dev/null | head -1)
host stop >/dev/null 2>&1
if [ -n "$part" ]; then
    [ -n "$p2" ] && [ ! -d "$p2" ] && { [ -n "$(others)" ] || [ "$(cat $cs/cpuset.sched_load_balance)" = 1 ]; }
    ok $? "keel-host stop with an rtds pool left: its partition removed, the root cpuset balances load"
else skip "keel-host stop removes the partition" "the pool was not a partition"; fi
done_tap
