# ks-lib.sh - shared helpers of the store's shell tests: TAP output, a private keel-stored
# in a temporary runtime directory, cleanup. Sourced, not run.
KS_B=${KEEL_BUILDDIR:?run through make check}/daemons/store
KS_N=0
ok() {      # ok "what" command... : one TAP line from the command's exit status
    what=$1; shift
    KS_N=$((KS_N + 1))
    if "$@"; then echo "ok $KS_N - $what"; else echo "not ok $KS_N - $what"; fi
}
is() {      # is "what" got want
    KS_N=$((KS_N + 1))
    if [ "$2" = "$3" ]; then echo "ok $KS_N - $1"; else echo "not ok $KS_N - $1 (got '$2', want '$3')"; fi
}
ks_need_stock_clients() {
    for c in xenstore-write xenstore-read xenstore-ls xenstore-rm xenstore-exists xenstore-list \
             xenstore-chmod xenstore-watch; do
        command -v $c >/dev/null || { echo "1..0 # SKIP $c not installed (Debian xenstore-utils)"; exit 0; }
    done
}
ks_start() {    # start keel-stored in $KS_DIR (daemonizes once it listens)
    KEEL_RUNDIR=$KS_DIR "$KS_B/keel-stored" "$@"
}
ks_stop() {
    [ -f "$KS_DIR/xenstored/keel-stored.pid" ] || return 0
    pid=$(cat "$KS_DIR/xenstored/keel-stored.pid")
    kill "$pid" 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
ks_running() {  # the pid is alive and not a zombie
    kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
ks_kill9() {
    pid=$(cat "$KS_DIR/xenstored/keel-stored.pid")
    kill -9 "$pid"
    for i in 1 2 3 4 5 6 7 8 9 10; do ks_running "$pid" || break; sleep 0.1; done
}
ks_cleanup() {
    ks_stop
    rm -rf "$KS_DIR"
}
KS_DIR=$(mktemp -d /tmp/ks-test.XXXXXX)
trap ks_cleanup EXIT
export XENSTORED_PATH="$KS_DIR/xenstored/socket"
unset XENSTORED_RUNDIR
