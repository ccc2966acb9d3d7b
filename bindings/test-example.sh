#!/bin/sh
# test-example.sh - builds examples/kl-example.c against the build tree's liblight (headers from
# the source and build trees, libraries from .libs) and runs it on a real host (keel-hv +
# keel-stored started by scripts/keel-host in a private runtime directory): it creates a counter
# domain from a config, lists, pauses, unpauses, shows its console and destroys it. Prints TAP.
set -u
n=0; fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
b=${KEEL_BUILDDIR:?}; s=${KEEL_SRCDIR:?}
work=$(mktemp -d /tmp/keel-klexample-XXXXXX) || exit 1
export KEEL_RUNDIR="$work/run"
export KEEL_HV="$b/hypervisor/keel-hv" KEEL_STORED="$b/daemons/store/keel-stored"
cleanup() { sh "$s/scripts/keel-host" stop >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
libs="$b/liblight/.libs:$b/libguest/.libs:$b/libctrl/.libs"
san=$(sed -n 's/^SAN_LDFLAGS = //p' "$b/Makefile")
${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -o "$work/kl-example" "$s/bindings/examples/kl-example.c" \
    -I"$s/include" -I"$s/liblight" -I"$b/liblight" -L"$b/liblight/.libs" -L"$b/libctrl/.libs" \
    -lkeellight -lkeelctrl $san 2>"$work/cc.log"
ok $? "kl-example builds against the build tree's liblight with -Wall -Wextra -Werror"
[ -s "$work/cc.log" ] && sed 's/^/# /' "$work/cc.log"
sh "$s/scripts/keel-host" start >"$work/host.log" 2>&1
ok $? "a host starts in a private runtime directory"
cat >"$work/ex.cfg" <<CFG
name = "kl-example"
kernel = "$b/guests/counter"
memory = 16
cmdline = "interval=20"
CFG
out=$(LD_LIBRARY_PATH="$libs" "$work/kl-example" "$work/ex.cfg" 2>&1)
ok $? "kl-example drives the domain through create, list, pause, unpause and destroy"
echo "$out" | sed 's/^/# /'
echo "$out" | grep -Eq '^kl-example +[0-9]+ +16 +1 '; ok $? "its list shows the domain with 16 MiB and 1 vCPU"
echo "$out" | grep -q '^paused$' && echo "$out" | grep -q '^unpaused$'
ok $? "it saw the domain paused, then running again"
echo "$out" | grep -q '^counter [0-9]'; ok $? "the domain ran: its console shows the counter"
left=$("$b/cli/xl" list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0"' | wc -l)
[ "$left" = 0 ]; ok $? "no domain is left after the example"
printf 'name = "x"\nmemory = = 3\n' >"$work/bad.cfg"
out=$(LD_LIBRARY_PATH="$libs" "$work/kl-example" "$work/bad.cfg" 2>&1)
rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "bad.cfg:2:10:"
ok $? "a bad config fails with file:line:column and creates nothing"
echo "1..$n"
[ "$fails" = 0 ]
