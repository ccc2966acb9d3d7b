#!/bin/sh
# test-install.sh - `make install DESTDIR=...` puts libraries, headers, programs and pkg-config
# files in place, and a program built only with `pkg-config --cflags --libs` from that tree
# drives a real domain on a real core. Prints TAP.
set -u
n=0; fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
b=${KEEL_BUILDDIR:?}; s=${KEEL_SRCDIR:?}
dest=$(mktemp -d /tmp/keel-install-XXXXXX)
trap 'kill "$hvpid" 2>/dev/null; rm -rf "$dest"' EXIT
make -C "$b" install DESTDIR="$dest" >"$dest.log" 2>&1; ok $? "make install DESTDIR=... succeeds"
prefix=$(sed -n 's/^prefix = //p' "$b/Makefile")
root="$dest$prefix"
for f in sbin/keel-hv libexec/keel/keel-stub lib/keel/guests/hello include/keel/ctrl.h \
         include/keel/guest.h lib/pkgconfig/libkeelctrl.pc lib/pkgconfig/libkeelguest.pc; do
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
kill "$hvpid"; wait "$hvpid" 2>/dev/null
echo "1..$n"
[ "$fails" = 0 ]
