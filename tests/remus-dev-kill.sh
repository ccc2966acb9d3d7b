#!/bin/sh
# remus-dev-kill.sh [KILLS] [xl remus options] - outside CI (minutes): the scenario of
# test-xl-remus-dev.sh repeated: the udpcount guest protected by `xl remus -i 50` and the primary
# killed at a random point KILLS times (default 100), alternately A->B and B->A. Per kill:
# the backup answers, no acknowledged increment is lost, the guest reads its value back from
# its disk, the backup's image holds the log (dom0). With `-n -F` it counts the kills that lost
# acknowledged increments instead (the output commit is what prevents them) and fails if none
# did. Run from a build directory: sudo sh ../tests/remus-dev-kill.sh 100  (or 20 -n -F)
. "${KEEL_SRCDIR:-..}/tests/netns-reexec.sh"
netns_reexec keel-rdk "Remus kill loop" "$0" "$@"
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
. "$S/tests/remus-dev-lib.sh"
trap 'rd_stop_all; cleanup' EXIT
kills=${1:-100}
[ $# -gt 0 ] && shift
nobuf=0
case " $* " in *" -n "*) nobuf=1 ;; esac
rnd() { python3 -c "import random; print('%.2f' % random.uniform($1, $2))"; }

rd_net && rd_host_start A || { echo "cannot set up the hosts"; exit 1; }
rd_guest_cfg
on A "$XL" create -q "$W/c1.cfg" && wait_until 10 python3 "$W/get.py" "$GIP" 7001 ||
    { echo "the guest does not answer on A"; exit 1; }
p=A q=B bad=0 lossy=0 firsts=""
for i in $(seq 1 "$kills"); do
    d=$(rnd 0.3 1.5)
    rd_round "$p" "$q" "$d" "$@"
    lost=$(echo "$RD_VERDICT" | sed -n 's/.* lost \([0-9]*\) .*/\1/p')
    nm=$(echo "$RD_VERDICT" | sed -n 's/.* nonmono \([0-9]*\) .*/\1/p')
    fa=$(echo "$RD_VERDICT" | sed -n 's/.*first-after \([0-9.]*\).*/\1/p')
    firsts="$firsts ${fa:-none}"
    g=${RD_GET%% *} dk=${RD_GET##* }
    verdict=ok
    [ $RD_REMUS -eq 0 ] && [ $RD_FIRST -eq 0 ] && [ -n "$RD_GET" ] && [ "$g" = "$dk" ] &&
        [ $RD_DISK -eq 0 ] || verdict=FAIL
    [ "${lost:-0}" -gt 0 ] || [ "${nm:-0}" -gt 0 ] && { lossy=$((lossy + 1)); [ $nobuf -eq 1 ] || verdict=FAIL; }
    [ $verdict = ok ] || bad=$((bad + 1))
    echo "kill $i ($p->$q after $d s): $verdict: $RD_VERDICT; get $RD_GET; $(cat "$W/disklog.out")"
    [ $RD_FIRST -eq 0 ] || sed 's/^/    /' "$W/diag"
    t=$p p=$q q=$t
done
echo "$kills kills, $bad failed, $lossy of them lost acknowledged increments"
echo "$firsts" | python3 -c 'import sys, statistics as s
v = sorted(float(x) for x in sys.stdin.read().split() if x != "none")
if v: print("first answer after the kill: median %.3f s, min %.3f, max %.3f (n=%d)" % (s.median(v), v[0], v[-1], len(v)))'
if [ $nobuf -eq 1 ]; then [ $lossy -gt 0 ]; else [ $bad -eq 0 ]; fi
