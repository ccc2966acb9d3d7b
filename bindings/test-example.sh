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

# The bare kernel name of examples/counter.cfg: xl, kl-example and the Python module all find it
# through liblight's kl_kernel_resolve (here the build tree's guests/, beside the libkeellight
# they load; no KEEL_GUESTDIR, run from a directory holding no kernel).
unset KEEL_GUESTDIR
kjson() { "$b/cli/xl" list -l "$1" | PYTHONPATH= "${PYTHON:-python3}" -c 'import json, sys
c = json.load(sys.stdin)[0]["config"]; print(c["b_info"]["kernel"], c["b_info"]["max_memkb"], c["b_info"]["max_vcpus"])'; }
(cd /tmp && "$b/cli/xl" create -q "$s/examples/counter.cfg" name=from-xl) >/dev/null 2>&1
ok $? "xl creates examples/counter.cfg (kernel = \"counter\") from /tmp"
want=$(kjson from-xl 2>/dev/null)
[ "$want" = "$(realpath "$b/guests/counter") 16384 1" ]
ok $? "xl's domain runs the build tree's counter guest ($want)"
"$b/cli/xl" destroy from-xl >/dev/null 2>&1
out=$(cd /tmp && LD_LIBRARY_PATH="$libs" "$work/kl-example" "$s/examples/counter.cfg" 2>&1)
ok $? "kl-example creates examples/counter.cfg, the kernel given by its bare name"
echo "$out" | sed 's/^/# /'
echo "$out" | grep -Eq '^counter +[0-9]+ +16 +1 ' && echo "$out" | grep -q '^counter [0-9]'
ok $? "kl-example's domain is xl's: counter, 16 MiB, 1 vCPU, printing the counter"
pyrun() {   # the module just built, staged as a package
    pkg="$work/py/keel"; mkdir -p "$pkg"
    ln -sf "$s/bindings/python/keel/__init__.py" "$pkg/__init__.py"
    ln -sf "$b/bindings/python/.libs/"_keel*.so "$pkg/"
    pre=""
    for lib in libasan libubsan; do    # a sanitizer build's module needs its runtime first
        p=$(LD_LIBRARY_PATH="$libs" ldd "$pkg"/_keel*.so 2>/dev/null |
            awk -v l="$lib" '$1 ~ "^" l "\\.so" { print $3 }')
        [ -n "$p" ] && pre="$pre${pre:+ }$p"
    done
    (cd /tmp && env ${pre:+LD_PRELOAD="$pre"} ASAN_OPTIONS=detect_leaks=0 LD_LIBRARY_PATH="$libs" \
        PYTHONPATH="$work/py" "${PYTHON:-python3}" "$@")
}
out=$(pyrun - "$s/examples/counter.cfg" 2>&1 <<'PY'
import sys, keel
with keel.Context() as c:
    d = c.create(keel.DomainConfig.from_file(sys.argv[1], overrides=["name=from-python"]))
    b = c.get_config(d).to_dict()["b_info"]
    print(b["kernel"], b["max_memkb"], b["max_vcpus"])
    c.destroy(d)
PY
)
[ "$out" = "$want" ]; ok $? "a Python create of examples/counter.cfg builds the same kernel as xl ($out)"
mkdir -p "$work/gd" && cp "$b/guests/counter" "$work/gd/counter"
out=$(KEEL_GUESTDIR="$work/gd" pyrun - "$s/examples/counter.cfg" 2>&1 <<'PY'
import sys, keel
with keel.Context() as c:
    d = c.create(keel.DomainConfig.from_file(sys.argv[1], overrides=["name=guestdir"]))
    print(c.get_config(d).to_dict()["b_info"]["kernel"])
    c.destroy(d)
PY
)
[ "$out" = "$work/gd/counter" ]; ok $? "\$KEEL_GUESTDIR comes first ($out)"
printf 'name = "lost"\nkernel = "no-such-guest"\nmemory = 16\n' >"$work/lost.cfg"
out=$(cd /tmp && LD_LIBRARY_PATH="$libs" "$work/kl-example" "$work/lost.cfg" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ "$rc" != 0 ] && echo "$out" | grep -q "kernel 'no-such-guest' not found in \$KEEL_GUESTDIR (unset), $b/guests, .*/keel/guests or the current directory"
ok $? "a kernel found nowhere fails, naming every directory searched"
left=$("$b/cli/xl" list 2>/dev/null | awk 'NR > 1 && $1 != "Domain-0"' | wc -l)
[ "$left" = 0 ]; ok $? "no domain is left"
echo "1..$n"
[ "$fails" = 0 ]
