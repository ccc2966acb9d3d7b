#!/bin/sh
# test-consoled-privsep.sh - keel-consoled's privilege separation, on a private host (core and
# store by scripts/keel-host; keel-consoled started here with a test-only preload,
# tests/kcd-sigsys.c, which arms SIGUSR1/SIGUSR2 in the serving process only). Read from /proc:
# the privileged part runs as root; the serving process as another user, without capabilities,
# under a seccomp filter (mode 2), with no_new_privs, in its own mount and network namespaces
# with an empty root. A conecho guest's console is served (log, attach, echo). A compromised
# serving process asking for what the privileged part does not hand out (another frame of a
# served console, a channel the store has no backend for, Domain-0's console) is refused and
# logged. A forbidden system call (execve) kills only
# the serving process: the attached client gets end-of-file, the privileged part logs the
# seccomp kill and starts a new, equally confined process, which serves the same console again
# (the attach replays the history, input is echoed) and the log goes on; a chanecho guest's
# socket and pty channels are taken over by the new process (same socket path, same pty, still
# Connected) and echo again. SIGTERM stops both.
. "${KEEL_SRCDIR:-../..}/tests/xl-lib.sh"
HOOK="$B/daemons/console/tests/.libs/libkcdsigsys.so"
KC="$B/daemons/console/keel-console"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (the daemon switches users)"; exit 0; }
[ -f "$HOOK" ] || { echo "1..0 # SKIP $HOOK not built (make check builds it)"; exit 0; }
have_xs && command -v python3 >/dev/null 2>&1 ||
    { echo "1..0 # SKIP needs xenstore-utils and python3 (the channel checks)"; exit 0; }
cd "$S" || exit 1
L="$KEEL_RUNDIR/console/keel-consoled.log"
CUID=$(id -u keel-console 2>/dev/null || id -u nobody)

field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' /proc/"$1"/status 2>/dev/null; }
child_of() {    # the serving process of privileged part $1, other than $2, once it is confined
    for i in $(seq 200); do
        c=$(cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v "^$2\$" | grep . | head -1)
        [ -n "$c" ] && [ "$(field "$c" Seccomp)" = 2 ] && { echo "$c"; return 0; }
        sleep 0.05
    done
    return 1
}
confined() {    # 6 checks on serving process $1, $2 names it
    uids=$(field "$1" Uid)
    echo "$uids" | awk -v u="$CUID" '{ exit !($1 == u && $2 == u && $3 == u && $4 == u) }'
    ok $? "$2: runs as the console user (Uid $uids)"
    [ "$(field "$1" CapEff)" = 0000000000000000 ] && [ "$(field "$1" CapPrm)" = 0000000000000000 ]
    ok $? "$2: no effective or permitted capabilities"
    [ "$(field "$1" Seccomp)" = 2 ]; ok $? "$2: under a seccomp filter (Seccomp 2)"
    [ "$(field "$1" NoNewPrivs)" = 1 ]; ok $? "$2: no_new_privs"
    [ "$(readlink /proc/"$1"/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ] &&
        [ "$(readlink /proc/"$1"/ns/net)" != "$(readlink /proc/$$/ns/net)" ]
    ok $? "$2: own mount and network namespaces"
    [ -z "$(ls -A /proc/"$1"/root/ 2>&1)" ]; ok $? "$2: an empty root"
}
# echo_sock PATH TEXT / echo_pty TTY TEXT: send TEXT, print what comes back (as long as TEXT)
echo_sock() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
want = sys.argv[2].encode()
s.sendall(want)
got = b""
while len(got) < len(want):
    b = s.recv(4096)
    if not b:
        break
    got += b
sys.stdout.write(got.decode())
PY
}
echo_pty() {
    python3 - "$1" "$2" <<'PY'
import os, select, sys, time, tty
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
want = sys.argv[2].encode()
os.write(fd, want)
got, end = b"", time.time() + 10
while len(got) < len(want) and time.time() < end:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        got += os.read(fd, 4096)
sys.stdout.write(got.decode())
PY
}
# attach DOMID TEXT OUT: keel-console sends TEXT, waits for the guest's echo, detaches at ^]
attach() {
    rm -f "$KEEL_RUNDIR/in"; mkfifo "$KEEL_RUNDIR/in"
    timeout 10 "$KC" "$1" <"$KEEL_RUNDIR/in" >"$3" 2>&1 &
    exec 7>"$KEEL_RUNDIR/in"
    printf '%s\r' "$2" >&7
    wait_until 5 grep -q "echo: $2" "$3"; _rc=$?
    printf '\035' >&7; exec 7>&-; wait $!
    return $_rc
}

KEEL_CONSOLED=none host start >/dev/null 2>&1; ok $? "a private host starts (core, store)"
mkdir -p "$KEEL_RUNDIR/console"
LD_PRELOAD="$HOOK" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    setsid "$B/daemons/console/keel-consoled" -r "$KEEL_RUNDIR" -l info </dev/null >>"$L" 2>&1 &
P=$!
echo "$P" >"$KEEL_RUNDIR/console/keel-consoled.pid"     # keel-host stop ends it at exit
wait_until 10 test -S "$KEEL_RUNDIR/console/socket"; ok $? "keel-consoled listens on <rundir>/console/socket"
[ "$(field "$P" Uid | awk '{ print $2 }')" = 0 ]; ok $? "the privileged part runs as root"
C=$(child_of "$P" ""); ok $? "a serving process runs (pid $C)"
confined "$C" "serving process"

$XL create -q examples/counter.cfg name=ps kernel=conecho 2>/dev/null; ok $? "create a conecho guest"
d=$($XL domid ps 2>/dev/null)
wait_until 10 grep -q "conecho: domain $d ready" "$KEEL_RUNDIR/console/dom$d.log"
ok $? "its ring output is logged in console/dom$d.log"
attach "$d" before-kill "$KEEL_RUNDIR/a1.out"; ok $? "keel-console: the guest echoes input"
SOCK=$KEEL_RUNDIR/echo.sock
printf 'name = "pc"\nkernel = "chanecho"\nmemory = 32\nextra = "chan=org.keel.echo,org.keel.pty"\nchannel = [ "name=org.keel.echo,connection=socket,path=%s", "name=org.keel.pty,connection=pty" ]\n' \
    "$SOCK" >"$KEEL_RUNDIR/pc.cfg"
$XL create -q "$KEEL_RUNDIR/pc.cfg"; ok $? "create a chanecho guest with a socket and a pty channel"
cdom=$($XL domid pc 2>/dev/null)
bstate() { xenstore-read "/local/domain/0/backend/console/$cdom/$1/state" 2>/dev/null; }
wait_until 20 sh -c "[ \"\$(xenstore-read /local/domain/$cdom/device/console/2/state)\" = 4 ]"
TTY=$(xenstore-read "/local/domain/$cdom/device/console/2/tty" 2>/dev/null)
[ "$(echo_sock "$SOCK" 'sock before')" = "sock before" ] && [ "$(echo_pty "$TTY" 'pty before')" = "pty before" ]
ok $? "both channels echo (socket $SOCK, pty $TTY)"

kill -USR1 "$C"
wait_until 5 grep -q "kcd-sigsys: console of domain 0 " "$L"
grep -q "domain $d: console open .* refused: domain $d's console is served at gfn" "$L"
ok $? "another frame of a served console is refused and logged"
grep -q "domain 0: console open .* refused: domain 0 is not a guest's domid" "$L"
ok $? "Domain-0's memory is refused and logged"
grep -q "domain $d: channel open (console 9, .* refused: /local/domain/0/backend/console/$d/9 is not Initialising" "$L"
ok $? "a channel the store has no backend for is refused (the privileged part reads the store)"
kill -0 "$C"; ok $? "a refused request does not end the serving process"

rm -f "$KEEL_RUNDIR/in2"; mkfifo "$KEEL_RUNDIR/in2"
timeout 20 "$KC" "$d" <"$KEEL_RUNDIR/in2" >"$KEEL_RUNDIR/a2.out" 2>&1 &
A=$!
exec 8>"$KEEL_RUNDIR/in2"
wait_until 5 grep -q "echo: before-kill" "$KEEL_RUNDIR/a2.out"; ok $? "a client attaches (history replayed)"
kill -USR2 "$C"
wait_until 10 not kill -0 "$C"; ok $? "a forbidden system call (execve) killed the serving process"
wait_until 10 not kill -0 "$A"; ok $? "the attached client got end-of-file"
exec 8>&-; wait "$A" 2>/dev/null
grep -q "serving process $C was killed by signal 31 .*: a system call outside its seccomp filter" "$L"
ok $? "the privileged part logged the seccomp kill"
kill -0 "$P"; ok $? "the privileged part (pid $P) lives on"
C2=$(child_of "$P" "$C"); ok $? "it started a new serving process (pid $C2)"
confined "$C2" "new serving process"
attach "$d" after-restart "$KEEL_RUNDIR/a3.out"; ok $? "the guest's console is served again: input echoed"
grep -q "echo: before-kill" "$KEEL_RUNDIR/a3.out"; ok $? "the attach replays the history from before the restart"
grep -q "echo: after-restart" "$KEEL_RUNDIR/console/dom$d.log"; ok $? "the log goes on after the restart"
[ "$(bstate 1)" = 4 ] && [ "$(bstate 2)" = 4 ] && [ -S "$SOCK" ] &&
    [ "$(xenstore-read "/local/domain/$cdom/device/console/2/tty")" = "$TTY" ]
ok $? "the channels stay Connected, at the same socket path and pty"
[ "$(echo_sock "$SOCK" 'sock after')" = "sock after" ]; ok $? "the socket channel echoes again"
[ "$(echo_pty "$TTY" 'pty after')" = "pty after" ]; ok $? "the pty channel echoes again"
$XL destroy pc >/dev/null 2>&1
wait_until 5 not test -e "$SOCK"; ok $? "destroying the channel guest removes its socket"
$XL destroy ps >/dev/null 2>&1; ok $? "destroy the guest"
kill -TERM "$P"
wait_until 10 not kill -0 "$P"; ok $? "SIGTERM stops keel-consoled"
not kill -0 "$C2" 2>/dev/null && [ ! -e "$KEEL_RUNDIR/console/socket" ]
ok $? "the serving process is gone and the socket removed"
not grep -q "Sanitizer" "$L"; ok $? "no sanitizer report in the daemon's log"
[ $? -eq 0 ] || grep -A5 Sanitizer "$L" | sed 's/^/# /'
rm -f "$KEEL_RUNDIR/console/keel-consoled.pid"
done_tap
