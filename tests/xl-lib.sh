# xl-lib.sh - shared by the test-xl-*.sh tests: TAP helpers and a private Keel host (keel-hv and
# keel-stored started by scripts/keel-host in a fresh runtime directory, stopped at exit).
B=${KEEL_BUILDDIR:-..}
S=${KEEL_SRCDIR:-$B/..}
XL="$B/cli/xl"
n=0
failed=0
ok() { # COND-STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
done_tap() { echo "1..$n"; [ "$failed" -eq 0 ]; }

KEEL_RUNDIR=$(mktemp -d /tmp/keel-xltest-XXXXXX) || exit 1
export KEEL_RUNDIR
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled"
export XENSTORED_PATH="$KEEL_RUNDIR/xenstored/socket"
export KEEL_GUESTDIR="$B/guests"
export KEEL_SCRIPTDIR="$S/scripts/hotplug"   # hotplug scripts (block) from the source tree
host() { sh "$S/scripts/keel-host" "$@"; }
cleanup() {
    host stop >/dev/null 2>&1
    sleep 0.5      # monitors notice the core is gone and exit
    rm -rf "$KEEL_RUNDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# wait_until SECONDS CMD...: until CMD succeeds: SECONDS x 20 tries 0.05 s apart, and never more
# than 3 x SECONDS of wall-clock time (tries of a command that itself takes a second, `timeout 1
# xl console` say, stretched a 30 s wait to 10 minutes in the sanitizer build)
wait_until() {
    _wu_tries=$(($1 * 20)) _wu_end=$(($(date +%s) + 3 * $1)); shift
    while [ "$_wu_tries" -gt 0 ] && [ "$(date +%s)" -lt "$_wu_end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
        _wu_tries=$((_wu_tries - 1))
    done
    return 1
}
not() { ! "$@"; }
# the domains' store nodes other than Domain-0's
store_domains() { xenstore-list /local/domain 2>/dev/null | grep -vx 0; }
have_xs() { command -v xenstore-list >/dev/null 2>&1; }
# xl processes (monitors) of this runtime directory
monitors() {
    for d in /proc/[0-9]*; do
        [ "$(cat "$d/comm" 2>/dev/null)" = xl ] || continue
        tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qx "KEEL_RUNDIR=$KEEL_RUNDIR" && echo "${d#/proc/}"
    done
}
no_monitors() { [ -z "$(monitors)" ]; }
