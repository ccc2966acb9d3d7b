#!/bin/sh
# test-xl-conf.sh - xl.conf (cli/xl_conf.c), through `xl -N` (no host needed): the vif and
# grant-frame defaults fill what a domain's config leaves unset (create and network-attach)
# and never override it; the deprecated key names; a note with file and line for a key that
# Xen's documentation says acts and that Keel does not act on (on create; on every command
# with -v; none for values that would not act on Xen either); errors stop xl with exit 1 and
# the file and line; unknown keys are ignored; the installed etc/xl.conf, and the same file
# with every key set, parse.
B=${KEEL_BUILDDIR:-..}
S=${KEEL_SRCDIR:-$B/..}
XL="$B/cli/xl"
export KEEL_GUESTDIR="$B/guests"
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
tmp=$(mktemp -d /tmp/keel-xlconf-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
C="$tmp/xl.conf"
export KEEL_XL_CONF="$C"
cfg="$S/examples/counter.cfg"
json() { "$XL" -N create -q "$cfg" "$@" 2>"$tmp/err"; }

json 'vif=["mac=00:16:3e:00:00:01"]' >"$tmp/out"; rc=$?
[ $rc -eq 0 ] && ! grep -q '"script"\|"bridge"' "$tmp/out"; ok $? "without an xl.conf a vif has no script or bridge set"

cat >"$C" <<'X'
# a comment
vif.default.script="vif-route"
vif.default.bridge="brconf"
vif.default.gatewaydev="eth7"
max_grant_frames=48
max_maptrack_frames=0x200
some.unknown.key="ignored"
X
json 'vif=["mac=00:16:3e:00:00:01", "mac=00:16:3e:00:00:02,script=vif-bridge,bridge=br9"]' >"$tmp/out"
ok $? "xl create -N reads an xl.conf with an unknown key"
[ ! -s "$tmp/err" ]; ok $? "an unknown key is ignored silently (as Xen's xl)"
python3 - "$tmp/out" <<'P'
import json, sys
c = json.load(open(sys.argv[1]))["config"]
n = c["nics"]
assert n[0]["script"] == "vif-route" and n[0]["bridge"] == "brconf" and n[0]["gatewaydev"] == "eth7", n[0]
assert n[1]["script"] == "vif-bridge" and n[1]["bridge"] == "br9" and n[1]["gatewaydev"] == "eth7", n[1]
assert c["b_info"]["max_grant_frames"] == 48 and c["b_info"]["max_maptrack_frames"] == 512, c["b_info"]
P
ok $? "vif.default.script/bridge/gatewaydev fill a vif that names none, not one that names its own; max_grant_frames, max_maptrack_frames (hex) default"
json max_grant_frames=20 >"$tmp/out"
grep -q '"max_grant_frames": 20' "$tmp/out"; ok $? "a domain's own max_grant_frames wins over xl.conf's"
"$XL" -N network-attach d0 mac=00:16:3e:00:00:05 >"$tmp/out" 2>&1
grep -q '"script": "vif-route"' "$tmp/out" && grep -q '"bridge": "brconf"' "$tmp/out"
ok $? "network-attach -N takes the vif defaults too"

printf 'vifscript="vif-old"\ndefaultbridge="brold"\n' >"$C"
json 'vif=["mac=00:16:3e:00:00:01"]' >"$tmp/out"
grep -q '"script": "vif-old"' "$tmp/out" && grep -q '"bridge": "brold"' "$tmp/out"; ok $? "the deprecated vifscript and defaultbridge act"
printf 'vifscript="vif-old"\nvif.default.script="vif-new"\n' >"$C"
json 'vif=["mac=00:16:3e:00:00:01"]' >"$tmp/out"
grep -q '"script": "vif-new"' "$tmp/out"; ok $? "vif.default.script wins over vifscript"

cat >"$C" <<'X'
autoballoon="on"
run_hotplug_scripts=0
claim_mode=1
domid_policy="random"
output_format="sxp"
max_grant_version=2
blkdev_start="xvdb"
X
json >/dev/null
r=0
for k in "1: note: autoballoon" "2: note: run_hotplug_scripts" \
    "4: note: domid_policy" "5: note: output_format" "6: note: max_grant_version" "7: note: blkdev_start"; do
    grep -q "xl.conf:$k is accepted but has no effect in Keel: " "$tmp/err" || { echo "# no '$k'"; r=1; }
done
ok $r "create prints a note with file and line for each key with no effect here"
[ "$(grep -c note: "$tmp/err")" -eq 6 ]; ok $? "one note per key, printed once (claim_mode acts: none)"
"$XL" help >/dev/null 2>"$tmp/err"; [ ! -s "$tmp/err" ]; ok $? "other commands print no note"
"$XL" -v help >/dev/null 2>"$tmp/err"; grep -q "note: autoballoon" "$tmp/err"; ok $? "with xl -v every command prints them"
printf 'autoballoon="off"\nrun_hotplug_scripts=1\nclaim_mode=0\ndomid_policy="xen"\noutput_format="json"\nvif.default.backend="0"\n' >"$C"
json >/dev/null; [ ! -s "$tmp/err" ]; ok $? "no note for values that change nothing on Xen either"

bad() { # TEXT EXPECTED-MESSAGE DESCRIPTION
    printf '%s\n' "$1" >"$C"
    "$XL" list >/dev/null 2>"$tmp/err"; rc=$?
    [ $rc -eq 1 ] && grep -q "$2" "$tmp/err" && grep -q "Failed to parse config file: $C" "$tmp/err"
    ok $? "$3"
}
bad 'autoballoon="maybe"' "xl.conf:1: autoballoon: invalid value \"maybe\"" "an invalid autoballoon stops xl (exit 1, file and line)"
bad 'x=1
lockfile=["a", "b"]' "xl.conf:2: lockfile: a string is expected" "a list where a path is expected stops xl"
bad 'max_grant_frames=0' "max_grant_frames" "max_grant_frames out of range stops xl"
bad 'output_format="xml"' "output_format: invalid value" "an unknown output_format stops xl"
bad 'vif.default.script=' "xl.conf:1" "a syntax error stops xl with the position"

KEEL_XL_CONF="$S/etc/xl.conf" "$XL" -N create -q "$cfg" >/dev/null 2>"$tmp/err"
[ $? -eq 0 ] && [ ! -s "$tmp/err" ]; ok $? "the installed etc/xl.conf (all keys commented) parses"
sed -n 's/^#\([a-z_.]*=\)/\1/p' "$S/etc/xl.conf" >"$C"
[ "$(wc -l <"$C")" -ge 18 ] && json >/dev/null; ok $? "etc/xl.conf with every key set ($(wc -l <"$C") keys) parses"
echo "1..$n"
[ "$failed" -eq 0 ]
