#!/bin/sh
# options.sh - keel-stored's command line: help, refused options, foreground mode with an
# explicit socket and pid file, memory-only mode, quotas from the command line, and a
# clean SIGTERM shutdown.
. "${KEEL_SRCDIR:?}/daemons/store/tests/ks-lib.sh"
D=$KS_B/keel-stored
C=$KS_B/tests/ks-client

ok "--help prints the usage" sh -c "'$D' --help | grep -q '^Usage: keel-stored'"
is "an unknown option exits 2" "$("$D" --bogus 2>/dev/null; echo $?)" "2"
is "a bad --log-level exits 2" "$("$D" -l loud 2>/dev/null; echo $?)" "2"
is "a bad --sync exits 2" "$("$D" --sync sometimes 2>/dev/null; echo $?)" "2"
is "a bad --quota exits 2" "$("$D" -Q nodes=many 2>/dev/null; echo $?)" "2"
is "a stray argument exits 2" "$("$D" extra 2>/dev/null; echo $?)" "2"

sock=$KS_DIR/alt.sock
KEEL_RUNDIR=$KS_DIR "$D" -F -n -s "$sock" -p "$KS_DIR/alt.pid" -Q nodes=7 -Q watches=3 \
    2>"$KS_DIR/fg.log" &
fg=$!
for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
ok "-F stays in the foreground and listens on the -s socket" test -S "$sock"
is "-p writes the pid file" "$(cat "$KS_DIR/alt.pid" 2>/dev/null)" "$fg"
export XENSTORED_PATH=$sock
out=$($C control quota)
is "-Q sets quotas" "$(echo "$out" | grep -E '^(nodes|watches) ' | tr '\n' ,)" "nodes 7,watches 3,"
is "the store works" "$($C write /o/x 1)" "OK"
ok "-n keeps no journal" test ! -e "$KS_DIR/xenstored/journal"
kill -TERM $fg
wait $fg
is "SIGTERM exits 0" "$?" "0"
ok "the socket is removed on exit" test ! -e "$sock"
ok "the pid file is removed on exit" test ! -e "$KS_DIR/alt.pid"
echo "1..$KS_N"
