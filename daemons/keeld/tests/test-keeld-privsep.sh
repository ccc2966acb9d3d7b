#!/bin/sh
# test-keeld-privsep.sh - keeld's privilege separation: starts a private Keel host and keeld
# with a test-only preload (tests/kd-sigsys.c: SIGUSR2 makes the client-facing process call
# execve) and runs test_keeld_privsep.py (TAP); stops everything at the end.
B=${KEEL_BUILDDIR:-../..}
B=$(cd "$B" && pwd)
S=${KEEL_SRCDIR:-$B/..}
S=$(cd "$S" && pwd)
PY=${PYTHON:-/usr/bin/python3}
HOOK="$B/daemons/keeld/tests/.libs/libkdsigsys.so"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (the daemon switches users)"; exit 0; }
[ -f "$HOOK" ] || { echo "1..0 # SKIP $HOOK not built (make check builds it)"; exit 0; }
KEEL_RUNDIR=$(mktemp -d /tmp/keel-keeldps-XXXXXX) || exit 1
export KEEL_RUNDIR
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_GUESTDIR="$B/guests"
export KEEL_KEELD=none KEEL_BLKBACK=none KEEL_NETBACK=none KEEL_VTPMD=none
export KEELD="$B/daemons/keeld/keeld"
cleanup() {
    [ -s "$KEEL_RUNDIR/keeld/keeld.pid" ] && kill "$(cat "$KEEL_RUNDIR/keeld/keeld.pid")" 2>/dev/null
    sleep 0.3
    sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    rm -rf "$KEEL_RUNDIR"
}
trap cleanup EXIT
trap "exit 1" INT TERM
sh "$S/scripts/keel-host" start >/dev/null 2>&1 || { echo "Bail out! the host did not start"; exit 1; }
# the preload comes before a sanitizer runtime the binary links: ASan is told not to mind
LD_PRELOAD="$HOOK" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$KEELD" -l info || { echo "Bail out! keeld did not start"; exit 1; }
"$PY" "$S/daemons/keeld/tests/test_keeld_privsep.py"
