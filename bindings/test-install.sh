#!/bin/sh
# test-install.sh - `make install DESTDIR=...` puts libraries, headers, programs, pkg-config
# files and the Python package in place; programs built only with `pkg-config --cflags --libs`
# from that tree (kc-example over libkeelctrl/libkeelguest, kl-example over libkeellight) drive
# real domains on the installed core and store daemon, and the installed `keel` Python package,
# installed where the interpreter looks for the prefix and imported from there without
# PYTHONPATH, drives one too. Prints TAP.
set -u
n=0; fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
b=${KEEL_BUILDDIR:?}; s=${KEEL_SRCDIR:?}
dest=$(mktemp -d /tmp/keel-install-XXXXXX)
hvpid=; stpid=
trap 'kill $hvpid $stpid 2>/dev/null; rm -rf "$dest" "$dest.log"' EXIT
make -C "$b" install DESTDIR="$dest" >"$dest.log" 2>&1; ok $? "make install DESTDIR=... succeeds"
prefix=$(sed -n 's/^prefix = //p' "$b/Makefile")
root="$dest$prefix"
for f in sbin/keel-hv sbin/keel-stored libexec/keel/keel-stub lib/keel/guests/hello \
         lib/keel/guests/counter include/keel/ctrl.h include/keel/guest.h include/keel/kl_light.h \
         include/keel/kl_types.h include/keel/kl_config.h include/keel/kl_cfg.h \
         include/keel/kl_diag.h include/keel/kl_builtin.h lib/pkgconfig/libkeelctrl.pc \
         lib/pkgconfig/libkeelguest.pc lib/pkgconfig/libkeellight.pc; do
    [ -e "$root/$f" ]; ok $? "installed $f"
done
export PKG_CONFIG_PATH="$root/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs libkeelguest libkeelctrl); ok $? "pkg-config knows libkeelctrl and libkeelguest"
san=$(sed -n 's/^SAN_LDFLAGS = //p' "$b/Makefile")   # a sanitizer build's libraries need it
${CC:-cc} -o "$dest/kc-example" "$s/bindings/examples/kc-example.c" $flags $san 2>"$dest/cc.log"
ok $? "the C example builds with pkg-config flags alone"
run="$dest/run"; mkdir -p "$run"
LD_LIBRARY_PATH="$root/lib" "$root/sbin/keel-hv" -r "$run" -s "$root/libexec/keel/keel-stub" \
    -P "$root/share/keel/keel-policy.30" >"$run.log" 2>&1 &
hvpid=$!
for i in $(seq 100); do [ -S "$run/hv.sock" ] && break; sleep 0.05; done
out=$(LD_LIBRARY_PATH="$root/lib" "$dest/kc-example" "$root/lib/keel/guests/hello" "$run" 2>&1)
ok $? "the installed core runs a domain driven by the example"
echo "$out" | grep -q "Hello from Keel"; ok $? "the example shows the guest's console"

# liblight: kl-example with `pkg-config --cflags --libs libkeellight` alone, on the installed
# core and store daemon (-rpath-link: the linker looks for libkeellight's own libkeelguest in
# the DESTDIR, which no ld.so.conf names; an install into the real prefix does not need it)
mkdir -p "$run/xenstored"
LD_LIBRARY_PATH="$root/lib" "$root/sbin/keel-stored" -r "$run" -n -F >"$run/stored.log" 2>&1 &
stpid=$!
for i in $(seq 100); do [ -S "$run/xenstored/socket" ] && break; sleep 0.05; done
[ -S "$run/xenstored/socket" ]; ok $? "the installed keel-stored serves the runtime directory"
lflags=$(pkg-config --cflags --libs libkeellight); ok $? "pkg-config knows libkeellight"
${CC:-cc} -o "$dest/kl-example" "$s/bindings/examples/kl-example.c" $lflags -Wl,-rpath-link,"$root/lib" $san 2>"$dest/cc2.log"
ok $? "kl-example builds with \`pkg-config --cflags --libs libkeellight\` alone"
sed 's/^/# /' "$dest/cc2.log"
printf 'name = "installed"\nkernel = "%s"\nmemory = 16\ncmdline = "interval=20"\n' \
    "$root/lib/keel/guests/counter" >"$dest/kl.cfg"
out=$(LD_LIBRARY_PATH="$root/lib" "$dest/kl-example" "$dest/kl.cfg" "$run" 2>&1)
ok $? "kl-example drives a domain (create, list, pause, unpause, destroy) on the installed host"
echo "$out" | grep -q '^counter [0-9]'; ok $? "kl-example shows the counter domain's console"
echo "$out" | sed 's/^/# /'

# Python: the package goes where the configured interpreter looks for this prefix (its sysconfig
# install scheme, asked by install-dir.py as configure does), and that interpreter imports it
# from there with no PYTHONPATH: in a private mount namespace the DESTDIR's directory is mounted
# on the real one, so `import keel` goes through the interpreter's own sys.path.
py=${PYTHON:-/usr/bin/python3}
scheme=$("$py" -E "$s/bindings/python/install-dir.py" "$prefix")
pydir=$(echo "$scheme" | sed -n 1p); searched=$(echo "$scheme" | sed -n 2p)
mod=$(find "$dest$pydir/keel" -name "_keel*.so" 2>/dev/null | head -1)
[ -n "$pydir" ] && [ -n "$mod" ] && [ -f "$dest$pydir/keel/__init__.py" ]
ok $? "the keel package is installed where $py looks for prefix $prefix ($pydir)"
pre=""
for lib in libasan libubsan; do    # a sanitizer build's module needs its runtime first
    p=$(LD_LIBRARY_PATH="$root/lib" ldd "${mod:-/dev/null}" 2>/dev/null |
        awk -v l="$lib" '$1 ~ "^" l "\\.so" { print $3 }')
    [ -n "$p" ] && pre="$pre${pre:+ }$p"
done
cat >"$dest/drive.py" <<'PY'
import sys, time
import keel
run, kernel, site = sys.argv[1:]
assert keel.__file__.startswith(site + "/keel/"), keel.__file__
with keel.Context(run) as c:
    d = c.create({"c_info": {"name": "from-python"},
                  "b_info": {"kernel": kernel, "target_memkb": 16384, "cmdline": "interval=20"}})
    assert [x.name for x in c.list() if x.domid == d] == ["from-python"]
    c.pause(d); assert c.info(d).paused
    c.unpause(d)
    for _ in range(250):
        if b"counter 1\n" in c.console_read(d)[0]:
            break
        time.sleep(0.02)
    assert b"counter 1\n" in c.console_read(d)[0]
    c.destroy(d)
    assert d not in [x.domid for x in c.list()]
print("python drove domain", d, "from", keel.__file__)
PY
if [ "$searched" = searched ] && [ -d "$pydir" ] && command -v unshare >/dev/null; then
    out=$(cd /tmp && env -u PYTHONPATH ${pre:+LD_PRELOAD="$pre"} ASAN_OPTIONS=detect_leaks=0 \
          LD_LIBRARY_PATH="$root/lib" unshare -m --propagation private sh -c \
          'mount --bind "$1" "$2" && exec "$3" "$4" "$5" "$6" "$2"' sh \
          "$dest$pydir" "$pydir" "$py" "$dest/drive.py" "$run" "$root/lib/keel/guests/counter" 2>&1)
    ok $? "$py imports the installed keel from $pydir without PYTHONPATH and drives a domain"
else
    out=$(cd /tmp && env ${pre:+LD_PRELOAD="$pre"} ASAN_OPTIONS=detect_leaks=0 \
          LD_LIBRARY_PATH="$root/lib" PYTHONPATH="$dest$pydir" PYTHONNOUSERSITE=1 \
          "$py" "$dest/drive.py" "$run" "$root/lib/keel/guests/counter" "$dest$pydir" 2>&1)
    ok $? "the installed keel, imported from $pydir (which $py does not search: PYTHONPATH), drives a domain"
fi
echo "$out" | sed 's/^/# /'
# A temporary prefix with a scheme of its own: a virtual environment's interpreter names its
# site-packages for the environment's directory, which it searches.
venv="$dest/venv"
if "$py" -m venv --without-pip "$venv" >/dev/null 2>&1; then
    v=$("$venv/bin/python3" -E "$s/bindings/python/install-dir.py" "$venv")
    want=$("$venv/bin/python3" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
    [ "$(echo "$v" | sed -n 1p)" = "$want" ] && [ "$(echo "$v" | sed -n 2p)" = searched ]
    ok $? "for a virtual environment as prefix, its interpreter's scheme is used ($want, searched)"
else
    n=$((n + 1)); echo "ok $n - install directory for a virtual environment # SKIP $py has no venv"
fi
kill "$stpid" "$hvpid"; wait "$stpid" "$hvpid" 2>/dev/null
echo "1..$n"
[ "$fails" = 0 ]
