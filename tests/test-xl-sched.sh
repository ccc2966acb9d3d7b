#!/bin/sh
# test-xl-sched.sh - credit weights through xl.cfg have real effect: two spinning domains pinned
# to one CPU with cpu_weight 256 and 512 split it within 10 % of 1:2 (read from `xl list`).
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
SECS=${KEEL_XL_SCHED_SECS:-5}

host start >/dev/null 2>&1; ok $? "keel-host start"
printf 'name = "spin"\nkernel = "spin"\nmemory = 16\ncpus = "0"\n' >"$KEEL_RUNDIR/spin.cfg"
$XL create -q "$KEEL_RUNDIR/spin.cfg" name=w256 cpu_weight=256 2>/dev/null &&
    $XL create -q "$KEEL_RUNDIR/spin.cfg" name=w512 cpu_weight=512 2>/dev/null
ok $? "two spinning domains created with cpu_weight 256 and 512, cpus=0"
$XL sched-credit -d w512 | grep -Eq ' 512 +0$'; ok $? "xl sched-credit shows the weight from the config"
$XL vcpu-list w256 | grep -q ' 0 / all$'; ok $? "cpus= pinned the vCPU to CPU 0"
t0a=$($XL list w256 | awk 'NR==2{print $6}'); t0b=$($XL list w512 | awk 'NR==2{print $6}')
sleep "$SECS"
t1a=$($XL list w256 | awk 'NR==2{print $6}'); t1b=$($XL list w512 | awk 'NR==2{print $6}')
ratio=$(awk -v a0="$t0a" -v a1="$t1a" -v b0="$t0b" -v b1="$t1b" \
    'BEGIN { a = a1 - a0; b = b1 - b0; if (a <= 0) print 0; else printf "%.2f", b / a }')
echo "# w256 ran $t0a -> $t1a s, w512 ran $t0b -> $t1b s: ratio $ratio"
awk -v r="$ratio" 'BEGIN { exit !(r >= 1.8 && r <= 2.2) }'
ok $? "the CPU is split 1:$ratio (within 10 % of 1:2)"
$XL destroy w256 && $XL destroy w512; ok $? "destroy both"
done_tap
