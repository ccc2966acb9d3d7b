#!/bin/sh
# restart.sh - restart without loss: nodes and permissions written through the stock
# clients (also those of @releaseDomain / @introduceDomain), and a domain's own quota
# (SET_QUOTA), survive kill -9 of keel-stored (journal replay), a compaction, a second
# kill -9, and a torn record at the journal's end (as a crash in mid-append would leave).
. "${KEEL_SRCDIR:?}/daemons/store/tests/ks-lib.sh"
ks_need_stock_clients
C=$KS_B/tests/ks-client
J=$KS_DIR/xenstored/journal

ok "keel-stored starts" ks_start
is "500 nodes written" "$($C fill /r/bulk 500)" "created 500"
xenstore-write /r/a alpha /r/b "with space"
xenstore-chmod /r/a n0 r5 w7
xenstore-rm /r/bulk/499
xenstore-write /local/domain/5 ""
xenstore-chmod /local/domain/5 n5
$C restrict 5 write data/guest g >/dev/null
is "domain 9 introduced (no hypervisor core: no ring)" "$($C introduce 9 100 1)" "OK"
xenstore-write /local/domain/9 ""
xenstore-chmod /local/domain/9 n9
is "set-quota gives domain 9 three nodes" "$($C set-quota 9 nodes 3)" "OK"
xenstore-chmod @releaseDomain n0 r5
xenstore-chmod @introduceDomain n9 r5
before=$(xenstore-ls -p / | md5sum)
ks_kill9
pid=$(cat "$KS_DIR/xenstored/keel-stored.pid")
ok "the daemon is gone after kill -9" eval "! ks_running $pid"
ok "keel-stored starts again" ks_start
is "the whole tree, values and permissions, is back" "$(xenstore-ls -p / | md5sum)" "$before"
is "a removed node stays removed" "$(xenstore-exists /r/bulk/499 2>/dev/null; echo $?)" "1"
is "bulk node 498 is back" "$(xenstore-read /r/bulk/498)" "v498"
is "permissions are back" "$(xenstore-ls -p /r | grep '^a ' | sed 's/.*(//')" "n0,r5,w7)"
is "a guest's node keeps its owner" "$($C perms /local/domain/5/data/guest)" "n5"
is "domain 9's own node quota is back" "$($C get-quota 9 nodes)" "3"
is "@releaseDomain's permissions are back" "$($C perms @releaseDomain)" "n0 r5"
is "and @introduceDomain's (owned by domain 9)" "$($C perms @introduceDomain)" "n9 r5"
is "and enforced: 2 more nodes, then ENOSPC" \
   "$($C restrict 9 write a 1 write b 1 write c 1 | tail -n +2 | tr '\n' ' ')" \
   "OK OK ERR ENOSPC "
is "the global node quota is the command line's" "$($C get-quota nodes)" "1000"
is "journal compaction on request" "$($C control compact)" "OK"
xenstore-write /r/after-compaction yes
ks_kill9
ok "keel-stored starts after compaction and a second kill -9" ks_start
is "nodes from the snapshot are back" "$(xenstore-read /r/a)" "alpha"
is "nodes written after the snapshot are back" "$(xenstore-read /r/after-compaction)" "yes"
is "the snapshot kept domain 9's node quota" "$($C get-quota 9 nodes)" "3"
is "and the special paths' permissions" "$($C perms @releaseDomain) $($C perms @introduceDomain)" "n0 r5 n9 r5"
before=$(xenstore-ls -p / | md5sum)
ks_kill9
printf '\377\377\000\000garbage' >>"$J"
ok "keel-stored starts with a torn journal tail" ks_start
is "no node lost to the torn tail" "$(xenstore-ls -p / | md5sum)" "$before"
ok "the torn tail was reported in the log" grep -q "torn or corrupt record" "$KS_DIR/xenstored/keel-stored.log"
ks_stop
ok "a clean stop removes the socket" test ! -e "$XENSTORED_PATH"
echo "1..$KS_N"
