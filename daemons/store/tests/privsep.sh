#!/bin/sh
# privsep.sh - keel-stored's privilege separation, read from /proc: the privileged part runs as
# root; the request process (its child) runs as another user, with no capabilities, under a
# seccomp filter (mode 2), with no_new_privs, chrooted to its state directory. Then the test
# build of the daemon (tests/keel-stored-hook: SIGUSR2 makes the request process call execve,
# a hook compiled only with -DKS_TEST_HOOKS) shows that a forbidden system call kills only the
# request process, that the privileged part logs it and starts a new, equally confined one, and
# that the tree is intact (journal) and stock xenstore-read works again.
. "$(dirname "$0")/ks-lib.sh"
ks_need_stock_clients
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (the daemon switches users)"; exit 0; }
echo "1..21"

child_of() {    # the request process of privileged part $1 (waits for one other than $2)
    for i in $(seq 100); do
        c=$(cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v "^$2\$" | grep . | head -1)
        [ -n "$c" ] && grep -q '^Seccomp:[[:space:]]*2' /proc/"$c"/status 2>/dev/null && { echo "$c"; return 0; }
        sleep 0.05
    done
    return 1
}
field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' /proc/"$1"/status; }
confined() {    # checks on request process $1 (5 TAP lines), $2 names the binary
    uids=$(field "$1" Uid)
    ok "$2: request process runs as the store user (Uid $uids)" \
        sh -c "echo '$uids' | awk '{ exit !(\$1 == $KS_UID && \$2 == $KS_UID && \$3 == $KS_UID && \$4 == $KS_UID) }'"
    is "$2: request process has no effective capabilities" "$(field "$1" CapEff)" 0000000000000000
    is "$2: request process has no permitted capabilities" "$(field "$1" CapPrm)" 0000000000000000
    is "$2: request process runs under a seccomp filter" "$(field "$1" Seccomp)" 2
    is "$2: request process has no_new_privs" "$(field "$1" NoNewPrivs)" 1
}

KS_UID=$(id -u nobody)
STATE=$KS_DIR/state
# 1. the production binary: privileged part root, request process confined
ks_start -S "$STATE" -u nobody
P=$(cat "$KS_DIR/xenstored/keel-stored.pid")
is "keel-stored: the privileged part runs as root" "$(field "$P" Uid | awk '{ print $2 }')" 0
C=$(child_of "$P" "")
ok "keel-stored: a request process runs" test -n "$C"
confined "$C" keel-stored
is "keel-stored: the request process is chrooted to its state directory" \
    "$(readlink /proc/"$C"/root)" "$STATE"
xenstore-write /privsep/a one /privsep/b two
is "keel-stored: stock xenstore-read through the confined process" "$(xenstore-read /privsep/a)" one
ks_stop

# 2. the test build: a forbidden system call in the request process
KEEL_RUNDIR=$KS_DIR "$KS_B/tests/keel-stored-hook" -S "$STATE" -u nobody -l info
P=$(cat "$KS_DIR/xenstored/keel-stored.pid")
C=$(child_of "$P" "")
is "hook build: the tree came back from the journal" "$(xenstore-read /privsep/b)" two
for i in $(seq 50); do xenstore-write /privsep/n/$i v$i; done
kill -USR2 "$C"
C2=$(child_of "$P" "$C")
ok "a forbidden system call killed the request process" sh -c "! kill -0 $C 2>/dev/null"
ok "the privileged part (pid $P) lives on" kill -0 "$P"
ok "the privileged part started a new request process" test -n "$C2"
ok "the privileged part logged the seccomp kill" \
    grep -q "request process $C was killed by signal 31 .*: a system call outside its seccomp filter" \
    "$KS_DIR/xenstored/keel-stored.log"
confined "$C2" restarted
is "the tree is intact after the restart" "$(xenstore-read /privsep/a) $(xenstore-read /privsep/n/50) $(xenstore-list /privsep/n | wc -l)" "one v50 50"
xenstore-write /privsep/c three
is "stock xenstore-write and -read work again" "$(xenstore-read /privsep/c)" three
