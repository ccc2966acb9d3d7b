#!/bin/sh
# test-xl-channel.sh - PV channels (channel=[...], Xen's docs/misc/channel.txt and console.txt)
# on a private host: bad entries refused with exit 1 and no domain left (name missing or
# repeated, relative or too long socket path, a socket directory that does not exist);
# a chanecho guest with a socket channel and a pty channel: the store layout as Xen's (frontend
# device/console/<n> with name, type, output, limit, tty, ring-ref, port, Connected; backend
# backend/console/<domid>/<n> with connection, path, Connected; /libxl bookkeeping); xl
# channel-list's header and rows (the pty's path); bytes echoed through the socket (and again by
# a second client after the first left) and through the pty; destroy removes the socket file,
# the backend, frontend and bookkeeping nodes and closes the pty. After xl save + xl restore
# both channels are served again (the guest runtime publishes its carried ring for the new
# domid when the shared page's instance changes) and echo through the socket and the new pty;
# after xl migrate (same host, -C with another socket path) the socket channel echoes again; a
# guest that writes an out-of-range index into one channel's ring has that channel closed by
# keel-consoled (logged with the indices, backend Closed with the reason, socket removed) while
# the daemon, the other channel and the console ring go on.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
export KEEL_DEVICE_TIMEOUT=5

if ! have_xs; then
    skip "channel tests" "xenstore-utils not installed"; done_tap; exit
fi
if ! command -v python3 >/dev/null 2>&1; then
    skip "channel tests" "python3 not installed"; done_tap; exit
fi
cfg() { printf 'name = "%s"\nkernel = "chanecho"\nmemory = 32\non_crash = "preserve"\nextra = "%s"\nchannel = [ %s ]\n' "$1" "$2" "$3" >"$KEEL_RUNDIR/$1.cfg"; }
fe() { xenstore-read "/local/domain/$1/device/console/$2/$3" 2>/dev/null; }
be() { xenstore-read "/local/domain/0/backend/console/$1/$2/$3" 2>/dev/null; }
# refused NAME MESSAGE-REGEX DESCRIPTION: create fails with 1, says why, leaves no domain
refused() {
    o=$($XL create -q "$KEEL_RUNDIR/$1.cfg" 2>&1); rc=$?
    [ $rc -eq 1 ] && echo "$o" | grep -q "$2" && [ -z "$(store_domains)" ] &&
        not $XL domid "$1" 2>/dev/null
    ok $? "$3"
    [ $? -eq 0 ] || echo "# $o"
}
# echo_sock PATH TEXT: connect, send TEXT, print what comes back (until as long as TEXT)
echo_sock() {
    python3 - "$1" "$2" <<'EOF'
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
EOF
}
echo_pty() {
    python3 - "$1" "$2" <<'EOF'
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
EOF
}

host start >/dev/null 2>&1; ok $? "a private host starts (core, store, console daemon)"

# ---- entries refused before anything is built ----
cfg bad1 "" '"connection=pty"'
refused bad1 "missing required name" "a channel without name= is refused (exit 1, no domain)"
cfg bad2 "" '"name=a,connection=pty", "name=a,connection=socket,path=/tmp/x.sock"'
refused bad2 "channel 1 (name=a): channel 0 has the same name" "two channels with one name are refused, naming the entries"
cfg bad3 "" '"name=a,connection=socket,path=rel/x.sock"'
refused bad3 "path rel/x.sock is not absolute" "a relative socket path is refused"
long=/tmp/$(printf '%0120d' 0).sock
cfg bad4 "" "\"name=a,connection=socket,path=$long\""
refused bad4 "a Unix socket path holds at most 107" "a socket path longer than sun_path is refused"
cfg bad5 "" '"name=a,connection=socket"'
refused bad5 "socket connection needs a path" "connection=socket without path= is refused"
cfg bad6 "" "\"name=a,connection=socket,path=$KEEL_RUNDIR/no/such/dir.sock\""
refused bad6 "keel-consoled refused it: socket .*No such file" "a socket the daemon cannot create fails the create, with its reason, nothing left"
[ -z "$(xenstore-list /local/domain/0/backend/console 2>/dev/null)" ]
ok $? "no channel backend is left behind by the refused creates"

# ---- a guest with a socket channel and a pty channel ----
SOCK=$KEEL_RUNDIR/echo.sock
cfg ch "chan=org.keel.echo,org.keel.pty" \
    "\"name=org.keel.echo,connection=socket,path=$SOCK\", \"name=org.keel.pty,connection=pty\""
$XL create -q "$KEEL_RUNDIR/ch.cfg"; ok $? "create chanecho with a socket channel and a pty channel"
d=$($XL domid ch)
[ -S "$SOCK" ]; ok $? "the socket exists when xl create returns"
wait_until 20 sh -c "[ \"\$(xenstore-read /local/domain/$d/device/console/2/state)\" = 4 ]"
[ "$(fe "$d" 1 state)" = 4 ] && [ "$(be "$d" 1 state)" = 4 ] && [ "$(be "$d" 2 state)" = 4 ]
ok $? "both channels Connected (frontend and backend state 4)"
[ "$(fe "$d" 1 name)" = org.keel.echo ] && [ "$(fe "$d" 2 name)" = org.keel.pty ] &&
    [ "$(fe "$d" 1 type)" = xenconsoled ] && [ "$(fe "$d" 1 limit)" = 1048576 ] &&
    [ "$(fe "$d" 1 output)" = chardev:keel-channel0 ] && [ "$(fe "$d" 2 output)" = pty ] &&
    [ "$(fe "$d" 1 backend)" = "/local/domain/0/backend/console/$d/1" ] &&
    [ "$(fe "$d" 1 backend-id)" = 0 ]
ok $? "frontend device/console/<n> (n = devid + 1): name, type, limit, output, backend as Xen's"
fe "$d" 1 ring-ref | grep -qx '[0-9][0-9]*' && fe "$d" 1 port | grep -qx '[0-9][0-9]*'
ok $? "the guest published ring-ref (a grant reference) and port"
[ "$(be "$d" 1 connection)" = socket ] && [ "$(be "$d" 1 path)" = "$SOCK" ] &&
    [ "$(be "$d" 2 connection)" = pty ] && [ -z "$(be "$d" 2 path)" ] &&
    [ "$(be "$d" 1 frontend)" = "/local/domain/$d/device/console/1" ] &&
    [ "$(be "$d" 1 frontend-id)" = "$d" ] && [ "$(be "$d" 1 name)" = org.keel.echo ]
ok $? "backend backend/console/<domid>/<n>: connection, path (socket only), frontend, name"
[ "$(xenstore-read /libxl/$d/device/console/1/backend)" = "/local/domain/0/backend/console/$d/1" ]
ok $? "bookkeeping under /libxl/<domid>/device/console"
TTY=$(fe "$d" 2 tty)
[ -c "$TTY" ] && [ -z "$(fe "$d" 1 tty)" ]; ok $? "the pty's slave path is in the frontend's tty key ($TTY); none for the socket"
xenstore-ls -p "/local/domain/$d/device/console/2" 2>/dev/null | grep '^tty ' | grep -q "n0"
ok $? "tty is owned by Domain-0 (the guest may only read it)"

o=$($XL channel-list ch)
echo "$o" | head -1 | grep -q '^Idx BE state evt-ch ring-ref connection *$'; ok $? "channel-list: Xen's header"
echo "$o" | grep -q "^0   0  4     [0-9]* *[0-9]* *socket *$" &&
    echo "$o" | grep -q "^1   0  4     [0-9]* *[0-9]* *pty *$TTY *$"
ok $? "channel-list: a row per channel, the pty's path on its row"
[ "$($XL channel-list "$d" | wc -l)" = 3 ]; ok $? "channel-list by domid"
$XL channel-list >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "channel-list without a domain is a usage error (2)"
$XL channel-list nosuch 2>&1 | grep -q "nosuch is an invalid domain identifier"; ok $? "channel-list: an unknown domain is named"

[ "$(echo_sock "$SOCK" 'hello over the socket')" = "hello over the socket" ]
ok $? "bytes sent into the socket come back (the guest echoes them on the channel)"
big=$(head -c 6000 /dev/zero | tr '\0' 'x')
[ "$(echo_sock "$SOCK" "$big")" = "$big" ]
ok $? "6000 bytes (more than either ring holds) come back whole"
[ "$(echo_sock "$SOCK" 'second client')" = "second client" ]
ok $? "a new client after the first left is served"
[ "$(echo_pty "$TTY" 'hello over the pty')" = "hello over the pty" ]
ok $? "bytes written to the pty come back"

# ---- save and restore: the channels are served again on the restored domain ----
$XL save ch "$KEEL_RUNDIR/ch.img" >/dev/null 2>&1; ok $? "xl save of the channel guest"
wait_until 5 not test -e "$SOCK"; ok $? "the saved domain's socket is gone"
$XL restore "$KEEL_RUNDIR/ch.img" >/dev/null 2>&1; ok $? "xl restore"
d=$($XL domid ch)
wait_until 20 sh -c "[ \"\$(xenstore-read /local/domain/0/backend/console/$d/1/state)\" = 4 ] &&
    [ \"\$(xenstore-read /local/domain/0/backend/console/$d/2/state)\" = 4 ]"
ok $? "both channels Connected again (the guest published its ring for the new domid)"
[ "$(echo_sock "$SOCK" 'after restore')" = "after restore" ]
ok $? "bytes sent into the socket come back after the restore"
TTY=$(fe "$d" 2 tty)
[ "$(echo_pty "$TTY" 'pty after restore')" = "pty after restore" ]
ok $? "and through the new pty ($TTY)"

# ---- live migration (to this same host: -C gives the target its own socket path, as the
# source's listener still holds the first one while the domain arrives) ----
SOCK2=$KEEL_RUNDIR/echo2.sock
cfg ch "chan=org.keel.echo,org.keel.pty" \
    "\"name=org.keel.echo,connection=socket,path=$SOCK2\", \"name=org.keel.pty,connection=pty\""
$XL migrate -s '' -C "$KEEL_RUNDIR/ch.cfg" ch "$XL migrate-receive" >/dev/null 2>&1
ok $? "xl migrate of the channel guest (-C: socket $SOCK2)"
d=$($XL domid ch)
wait_until 20 sh -c "[ \"\$(xenstore-read /local/domain/0/backend/console/$d/1/state)\" = 4 ]"
[ "$(echo_sock "$SOCK2" 'after migration')" = "after migration" ] && [ ! -e "$SOCK" ]
ok $? "after the migration the guest echoes on the target's socket; the source's socket is gone"

# ---- a hostile ring: the guest writes an out-of-range index into the socket channel's ring ----
CD_LOG=$KEEL_RUNDIR/console/keel-consoled.log
cd_pid=$(cat "$KEEL_RUNDIR/console/keel-consoled.pid")
echo_sock "$SOCK2" 'break-ring' >/dev/null 2>&1
wait_until 10 sh -c "[ \"\$(xenstore-read /local/domain/0/backend/console/$d/1/state)\" = 6 ]"
ok $? "a ring with bogus indices: keel-consoled closes that channel (backend state 6)"
grep -q "domain $d: channel org.keel.echo: ring indices out of range (in [0-9]*/[0-9]* out [0-9]*/[0-9]*): channel closed" "$CD_LOG" &&
    be "$d" 1 error | grep -q "ring indices out of range"
ok $? "it logs a clear error with the indices, and puts the reason in the backend's error key"
[ ! -e "$SOCK2" ]; ok $? "the broken channel's socket is closed and removed"
TTY=$(fe "$d" 2 tty)
kill -0 "$cd_pid" && [ "$(be "$d" 2 state)" = 4 ] &&
    [ "$(echo_pty "$TTY" 'pty lives on')" = "pty lives on" ]
ok $? "the daemon lives on and the domain's other channel still echoes"
wait_until 5 grep -q "ring broken on purpose" "$KEEL_RUNDIR/console/dom$d.log"
ok $? "the domain's console ring is still served (the guest's report is in its log)"

$XL destroy ch; ok $? "destroy"
[ ! -e "$SOCK2" ]; ok $? "destroy removed the socket file"
[ -z "$(xenstore-list /local/domain/0/backend/console/$d 2>/dev/null)" ] &&
    not xenstore-read "/libxl/$d/device/console/1/backend" && not xenstore-read "/local/domain/$d/device/console/1/name"
ok $? "destroy removed the backend, frontend and bookkeeping nodes"
wait_until 5 not test -e "$TTY"
ok $? "the daemon closed the pty"
done_tap
