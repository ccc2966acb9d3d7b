#!/bin/sh
# test-host-kit.sh - the operator's kit on a private host: keel-host starts keeld too (when
# $KEEL_KEELD names it); keel-domains (Xen's xendomains) creates the domains of its auto-start
# directory, saves three running dirtier guests at "shutdown" (and shuts down a guest not in
# that directory), the host restarts (a new core: every domain is gone), and at "boot" all three
# come back from their images, which are deleted, with their memory intact (each dirtier keeps
# verifying every page of its working set: its tick goes on past the one seen before the save
# and its error count stays 0) and nothing is created twice; bash completion of xl (commands,
# options, domain names, files); keel-consoled reopens its logs on SIGHUP (through the
# installed logrotate snippet when logrotate is there); xl.conf's lockfile serialises creation.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
export KEEL_KEELD="$B/daemons/keeld/keeld" KEEL_XL="$XL"
export KEEL_XL_CONF="$KEEL_RUNDIR/xl.conf"
printf 'lockfile="%s/create.lock"\n' "$KEEL_RUNDIR" >"$KEEL_XL_CONF"
AUTO="$KEEL_RUNDIR/auto" SAVE="$KEEL_RUNDIR/save"
mkdir -p "$AUTO"
export KEEL_DOMAINS_CONF="$KEEL_RUNDIR/keel-domains.conf"
cat >"$KEEL_DOMAINS_CONF" <<X
XENDOMAINS_AUTO=$AUTO
XENDOMAINS_SAVE=$SAVE
XENDOMAINS_STOP_MAXWAIT=60
X
KD="$B/etc/keel-domains"
for d in d1 d2 d3; do
    printf 'name = "%s"\nkernel = "dirtier"\nmemory = 16\nextra = "size=2 rate=300 verify=1"\n' $d >"$AUTO/$d.cfg"
done

host start >"$KEEL_RUNDIR/start.out" 2>&1; ok $? "keel-host start"
host status | grep -q "^keeld: running" && [ -S "$KEEL_RUNDIR/keeld/socket" ]; ok $? "keel-host started keeld (its socket listens)"
sh "$KD" status >/dev/null; [ $? -eq 3 ]; ok $? "keel-domains status: 3 before start"
sh "$KD" start >"$KEEL_RUNDIR/kd1.out" 2>&1; ok $? "keel-domains start"
r=0; for d in d1 d2 d3; do $XL domid $d >/dev/null 2>&1 || r=1; done
ok $r "it created the three domains of the auto-start directory"
sh "$KD" status >/dev/null; ok $? "keel-domains status: 0 (started, every auto-start domain runs)"
sh "$KD" start 2>&1 | grep -q "already started"; ok $? "a second start does nothing (the lock exists)"
$XL create -q "$S/examples/counter.cfg" name=other 2>/dev/null; ok $? "a fourth guest, not in the auto-start directory"

# each dirtier's console streamed to a file (xl console ends when the domain goes)
watch_cons() { for d in d1 d2 d3; do $XL console $d >"$KEEL_RUNDIR/$d.$1" 2>/dev/null </dev/null & done; }
lastline() { grep "^dirtier: tick" "$KEEL_RUNDIR/$1.$2" | tail -1; }
tick() { lastline "$1" "$2" | sed -n 's/^dirtier: tick \([0-9]*\) .*/\1/p'; }
errors0() { ! grep "^dirtier: tick" "$KEEL_RUNDIR/$1.$2" | grep -qv "errors 0$"; }
ticks_ge() { _tk=$(tick "$1" "$2"); [ -n "$_tk" ] && [ "$_tk" -ge "$3" ]; }
watch_cons before
r=0
for d in d1 d2 d3; do
    wait_until 15 sh -c "[ \$(grep -c '^dirtier: tick.*errors 0$' $KEEL_RUNDIR/$d.before) -ge 2 ]" || r=1
done
ok $r "the three dirtiers run and verify their memory"

# ---- bash completion, while the domains run ----
if command -v bash >/dev/null 2>&1; then
    comp() { # WORDS... : the completions of the last word
        XL_COMPLETION_XL="$XL" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _xl; printf "%s\n" "${COMPREPLY[@]}"' \
            comp "$S/etc/bash-completion/xl" "$@" 2>/dev/null | sort | tr '\n' ' '
    }
    [ "$(comp xl des)" = "destroy " ]; ok $? "xl des<TAB> completes destroy"
    [ "$(comp xl destroy d)" = "d1 d2 d3 " ]; ok $? "xl destroy d<TAB> completes the domain names ($(comp xl destroy d))"
    [ "$(comp xl -v vcpu-pin o)" = "other " ]; ok $? "after a global option too (xl -v vcpu-pin o<TAB>)"
    comp xl list --l | grep -q -- "--long"; ok $? "xl list --l<TAB> completes --long"
    [ "$(comp xl create "$S/examples/counter.c")" = "$S/examples/counter.cfg " ]; ok $? "xl create <TAB> completes config files"
    [ "$(comp xl save d1 "$S/examples/hello.c")" = "$S/examples/hello.cfg " ] &&
        [ "$(comp xl save d)" = "d1 d2 d3 " ]; ok $? "xl save: a domain, then a file"
    [ "$(comp xl help vcpu-p)" = "vcpu-pin " ]; ok $? "xl help <TAB> completes commands"
    comp xl - | grep -q -- "-N" && comp xl - | grep -q -- "-v"; ok $? "xl -<TAB> completes the global options ($(comp xl -))"
else
    skip "bash completion" "no bash"
fi

# ---- keel-consoled reopens its logs on SIGHUP ----
CONS="$B/daemons/console/keel-console"
$XL create -q "$S/examples/counter.cfg" name=ce kernel=conecho 2>/dev/null; ok $? "a conecho guest (console ring)"
ce=$($XL domid ce 2>/dev/null)
log="$KEEL_RUNDIR/console/dom$ce.log"
say() { printf '%s\n\035' "$1" | timeout 5 "$CONS" -r "$KEEL_RUNDIR" "$ce" >/dev/null 2>&1; }
say before-rotation
wait_until 15 grep -q "echo: before-rotation" "$log"; ok $? "its ring output is logged in dom$ce.log"
if command -v logrotate >/dev/null 2>&1; then
    sed "s|/run/keel|$KEEL_RUNDIR|g" "$S/etc/logrotate.d/keel" >"$KEEL_RUNDIR/logrotate.conf"
    logrotate -f -s "$KEEL_RUNDIR/logrotate.state" "$KEEL_RUNDIR/logrotate.conf" 2>"$KEEL_RUNDIR/logrotate.err"
    ok $? "logrotate -f with the installed snippet (postrotate sends SIGHUP)"
else
    mv "$log" "$log.1" && kill -HUP "$(cat "$KEEL_RUNDIR/console/keel-consoled.pid")"
    skip "logrotate with the snippet" "logrotate not installed (moved the log and sent SIGHUP by hand)"
fi
say after-rotation
wait_until 15 grep -q "echo: after-rotation" "$log"; ok $? "after the rotation the output goes to a new dom$ce.log"
grep -q "echo: before-rotation" "$log.1" && ! grep -q "echo: after-rotation" "$log.1" && ! grep -q "before-rotation" "$log"
ok $? "the rotated file keeps the old output only"
host status | grep -q "^keel-consoled: running"; ok $? "keel-consoled still runs"
$XL destroy ce 2>/dev/null

# ---- xl.conf's lockfile ----
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(60)' \
    "$KEEL_RUNDIR/create.lock" >"$KEEL_RUNDIR/holder.out" 2>&1 &
holder=$!
wait_until 15 grep -q locked "$KEEL_RUNDIR/holder.out"
$XL create -q "$S/examples/counter.cfg" name=lk 2>/dev/null &
xlpid=$!
wait_until 15 sh -c "grep -- '->.*POSIX.*WRITE $xlpid ' /proc/locks"; ok $? "xl create waits for xl.conf's lockfile held by another process"
$XL domid lk >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "no domain is created while it waits"
kill "$holder"; wait "$holder" 2>/dev/null
wait "$xlpid"; ok $? "once the lock is released the creation goes on"
$XL domid lk >/dev/null 2>&1; ok $? "and the domain exists"
$XL destroy lk 2>/dev/null

# ---- host shutdown: keel-domains stop ----
for d in d1 d2 d3; do eval "t_$d=\$(tick $d before)"; done
echo "# ticks before the save: d1 $t_d1, d2 $t_d2, d3 $t_d3"
sh "$KD" stop >"$KEEL_RUNDIR/kd2.out" 2>&1; ok $? "keel-domains stop"
sed 's/^/# /' "$KEEL_RUNDIR/kd2.out"
r=0; for d in d1 d2 d3; do [ -s "$SAVE/$d" ] && [ "$(head -c 16 "$SAVE/$d")" = "Xen saved domain" ] || r=1; done
ok $r "the three auto-start domains are saved as xl images in XENDOMAINS_SAVE"
[ ! -e "$SAVE/other" ] && grep -q "shutting down the remaining domains" "$KEEL_RUNDIR/kd2.out"
ok $? "the guest outside the auto-start directory is not saved but shut down (XENDOMAINS_SHUTDOWN_ALL)"
wait_until 10 sh -c "[ \$($XL list | wc -l) -eq 2 ]"; ok $? "no guest is left"

# ---- reboot ----
host stop >/dev/null 2>&1 && host start >/dev/null 2>&1; ok $? "the host restarts (a new core)"
sh "$KD" start >"$KEEL_RUNDIR/kd3.out" 2>&1; ok $? "keel-domains start after the restart"
sed 's/^/# /' "$KEEL_RUNDIR/kd3.out"
r=0; for d in d1 d2 d3; do grep -q "restoring $SAVE/$d" "$KEEL_RUNDIR/kd3.out" && $XL domid $d >/dev/null 2>&1 || r=1; done
ok $r "all three are restored"
! grep -q "creating" "$KEEL_RUNDIR/kd3.out" && [ "$($XL list | wc -l)" -eq 5 ]
ok $? "none is created a second time from the auto-start directory (and 'other' stays gone)"
[ -z "$(ls -A "$SAVE")" ]; ok $? "the images are deleted once restored"
watch_cons after
r=0
for d in d1 d2 d3; do
    eval "t=\$t_$d"
    until_ok=0
    for i in $(seq 150); do ticks_ge $d after $((t + 2)) && { until_ok=1; break; }; sleep 0.1; done
    [ $until_ok = 1 ] || { echo "# $d: tick $(tick $d after) (saved at $t or later)"; r=1; }
    errors0 $d after || { echo "# $d: $(lastline $d after)"; r=1; }
done
ok $r "each goes on counting past its pre-save tick and verifies its memory with 0 errors"
sh "$KD" status >/dev/null; ok $? "keel-domains status: 0"
sh "$KD" stop >/dev/null 2>&1
done_tap
