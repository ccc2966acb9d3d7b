#!/bin/sh
# stock-clients.sh - a scripted session of Debian's stock xenstore clients (xenstore-utils,
# libxenstore) against keel-stored in a private runtime directory: write, read, ls, list,
# exists, rm, watch, chmod (denied, then allowed, for a guest connection made with
# ks-client; also on @releaseDomain), and a transaction conflict -> EAGAIN -> retry OK.
. "${KEEL_SRCDIR:?}/daemons/store/tests/ks-lib.sh"
ks_need_stock_clients
C=$KS_B/tests/ks-client

ok "keel-stored starts and reports ready" ks_start -l info
ok "the socket is where XENSTORED_PATH points" test -S "$XENSTORED_PATH"
ok "xenstore-write writes several keys" xenstore-write /test/a 1 /test/b "two words"
is "xenstore-read reads them back" "$(xenstore-read /test/a /test/b | tr '\n' ,)" "1,two words,"
is "xenstore-list lists children" "$(xenstore-list /test | tr '\n' ,)" "a,b,"
ok "xenstore-ls shows values" sh -c 'xenstore-ls /test | grep -qx "a = \"1\""'
ok "xenstore-exists finds a key" xenstore-exists /test/a
ok "xenstore-exists fails for a missing key" sh -c '! xenstore-exists /test/nothere 2>/dev/null'
ok "xenstore-rm removes a key" xenstore-rm /test/b
ok "... and it is gone" sh -c '! xenstore-exists /test/b 2>/dev/null'
ok "xenstore-read of a missing key fails" sh -c '! xenstore-read /test/b 2>/dev/null'
is "standard node /local/domain/0/name" "$(xenstore-read /local/domain/0/name)" "Domain-0"
is "XENSTORED_RUNDIR finds the socket too" \
   "$(env -u XENSTORED_PATH XENSTORED_RUNDIR="$KS_DIR/xenstored" xenstore-read /test/a)" "1"

# A listing above 4096 bytes: libxenstore gets E2BIG and falls back to DIRECTORY_PART.
long=$(printf 'k%.0s' $(seq 150))
set --
for i in $(seq 60); do set -- "$@" "/test/long/$long$i" "$i"; done
xenstore-write "$@"
is "xenstore-list of a 9 KiB directory (DIRECTORY_PART)" "$(xenstore-list /test/long | wc -l)" "60"
xenstore-rm /test/long

# Watches: xenstore-watch -n 2 prints the registration event, then the change.
xenstore-write /test/w ""
xenstore-watch -n 2 /test/w >"$KS_DIR/watch.out" 2>&1 &
wpid=$!
for i in $(seq 50); do [ -s "$KS_DIR/watch.out" ] && break; sleep 0.1; done
is "the watch fires once on registration" "$(head -n1 "$KS_DIR/watch.out")" "/test/w"
xenstore-write /test/w/child x
for i in $(seq 50); do kill -0 $wpid 2>/dev/null || break; sleep 0.1; done
kill $wpid 2>/dev/null
is "the watch fires for a write below it" "$(sed -n 2p "$KS_DIR/watch.out")" "/test/w/child"

# Special watches: @introduceDomain / @releaseDomain seen by the stock xenstore-watch.
xenstore-watch -n 2 @introduceDomain >"$KS_DIR/intro.out" 2>&1 &
wpid=$!
for i in $(seq 50); do [ -s "$KS_DIR/intro.out" ] && break; sleep 0.1; done
is "introduce a domain (no ring hooks in the daemon yet)" "$($C introduce 9 1234 5)" "OK"
for i in $(seq 50); do kill -0 $wpid 2>/dev/null || break; sleep 0.1; done
kill $wpid 2>/dev/null
is "xenstore-watch sees @introduceDomain" "$(sed -n 2p "$KS_DIR/intro.out")" "@introduceDomain"
is "is-introduced" "$($C is-introduced 9)" "T"
xenstore-watch -n 2 @releaseDomain >"$KS_DIR/rel.out" 2>&1 &
wpid=$!
for i in $(seq 50); do [ -s "$KS_DIR/rel.out" ] && break; sleep 0.1; done
is "release" "$($C release 9)" "OK"
for i in $(seq 50); do kill -0 $wpid 2>/dev/null || break; sleep 0.1; done
kill $wpid 2>/dev/null
is "xenstore-watch sees @releaseDomain" "$(sed -n 2p "$KS_DIR/rel.out")" "@releaseDomain"

# Permissions: a guest connection (ks-client restrict 5 = act as domain 5).
xenstore-write /test/sec secret
ok "xenstore-chmod n0 (dom0 only)" xenstore-chmod /test/sec n0
ok "xenstore-chmod -r recursive" xenstore-chmod -r /test n0
is "a guest is denied" "$($C restrict 5 read /test/sec | tail -n1)" "ERR EACCES"
ok "xenstore-chmod n0 r5 grants domain 5 read" xenstore-chmod /test/sec n0 r5
is "xenstore-ls -p shows the permissions" "$(xenstore-ls -p /test | grep '^sec' | sed 's/.*(//')" "n0,r5)"
is "the guest may read now" "$($C restrict 5 read /test/sec | tail -n1)" "secret"
is "but not write" "$($C restrict 5 write /test/sec x | tail -n1)" "ERR EACCES"
is "another guest is still denied" "$($C restrict 6 read /test/sec | tail -n1)" "ERR EACCES"
ok "xenstore-chmod b5" xenstore-chmod /test/sec n0 b5
is "the guest may write now" "$($C restrict 5 write /test/sec fromguest | tail -n1)" "OK"
is "dom0 reads the guest's write" "$(xenstore-read /test/sec)" "fromguest"

# The special watch paths carry permissions too (n0 by default); stock xenstore-chmod sets them.
is "a guest may not read @releaseDomain's permissions" "$($C restrict 5 perms @releaseDomain | tail -n1)" "ERR EACCES"
ok "xenstore-chmod @releaseDomain n0 r5 grants domain 5 its events" xenstore-chmod @releaseDomain n0 r5
is "now it may" "$($C restrict 5 perms @releaseDomain | tail -n1)" "n0 r5"
is "but a guest cannot change them" "$($C restrict 5 chmod @releaseDomain n0 b5 | tail -n1)" "ERR EACCES"
is "set-perms on another @ name is EINVAL" "$($C chmod @other n0)" "ERR EINVAL"

# Transactions: a concurrent write makes the commit fail with EAGAIN; a retry succeeds.
xenstore-write /test/t 0
out=$($C txn-conflict /test/t)
is "transaction conflict -> EAGAIN" "$(echo "$out" | sed -n 1p)" "first commit: ERR EAGAIN"
is "retry succeeds" "$(echo "$out" | sed -n 2p)" "retry: OK after 1 attempt(s)"
is "the retried value is stored" "$(xenstore-read /test/t)" "retried"

# Quotas through the socket: a guest stopped by the node quota.
xenstore-write /local/domain/5 ""
xenstore-chmod /local/domain/5 n5
$C control quota nodes 20 >/dev/null
# quota 20 = the home, q, and 18 children
is "a guest hits the node quota with ENOSPC" "$($C restrict 5 fill /local/domain/5/q 100 | tail -n1)" "created 18 ERR ENOSPC"
is "dom0 is not limited" "$($C fill /test/many 100)" "created 100"
ok "xenstore-rm of a subtree" xenstore-rm /test/many
ok "the daemon is still alive" kill -0 "$(cat "$KS_DIR/xenstored/keel-stored.pid")"
ok "a second keel-stored on the same runtime directory refuses to start" eval '! ks_start 2>/dev/null'
ok "... saying why" grep -q 'another keel-stored runs on this runtime directory' "$KS_DIR/xenstored/keel-stored.log"
ok "and the first one keeps serving" xenstore-exists /test/a
echo "1..$KS_N"
