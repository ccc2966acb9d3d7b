#!/bin/sh
# test-verifier.sh - Xen's own stream verifier (verify-stream-v2) must accept the streams Keel
# writes: libxc v3 and v2 with checkpoints, libxl and xl save images; and it must reject a
# corrupted copy (so a pass means it really looked). Skips when the verifier is not present:
# set KEEL_XEN_VERIFIER to its path, or install Debian's xen-utils-4.17 (which has it under
# /usr/lib/xen-4.17/bin); its Python modules are found beside it (../lib/python).
set -u
gen="$KEEL_BUILDDIR/libguest/stream/tests/stream-gen"
ver="${KEEL_XEN_VERIFIER:-}"
if [ -z "$ver" ]; then
    for c in /usr/lib/xen-*/bin/verify-stream-v2 /usr/libexec/xen/bin/verify-stream-v2 \
             /opt/keel-xen/usr/lib/xen-*/bin/verify-stream-v2; do
        [ -f "$c" ] && ver=$c
    done
fi
if [ -z "$ver" ] || [ ! -f "$ver" ]; then
    echo "1..0 # SKIP Xen's verify-stream-v2 not installed (set KEEL_XEN_VERIFIER)"
    exit 0
fi
py=/usr/bin/python3
[ -x "$py" ] || py=python3
pylib=$(cd "$(dirname "$ver")/../lib/python" 2>/dev/null && pwd)
PYTHONPATH="${pylib:+$pylib:}${PYTHONPATH:-}"
export PYTHONPATH
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
verify() { "$py" "$ver" -q -f "$1" -i "$2" >"$tmp/out" 2>&1; r=$?; [ $r -eq 0 ] || sed 's/^/# /' "$tmp/out"; return $r; }

echo "# verifier: $ver"
"$gen" libxc "$tmp/a" 300 2 && verify libxc "$tmp/a"; ok $? "libxc v3 stream with 2 checkpoints passes verify-stream-v2"
"$gen" libxc-v2 "$tmp/b" 300 1 && verify libxc "$tmp/b"; ok $? "libxc v2 stream passes verify-stream-v2"
"$gen" libxl "$tmp/c" 300 0 && verify libxl "$tmp/c"; ok $? "libxl migration stream passes verify-stream-v2"
"$gen" xl "$tmp/d" 300 0 && verify xl "$tmp/d"; ok $? "xl save image passes verify-stream-v2"
"$gen" xl "$tmp/e" 1100 0 && verify xl "$tmp/e"; ok $? "xl save image with a 1024-page batch passes verify-stream-v2"
# Corrupt the reserved word of the first PAGE_DATA record: the verifier must object.
hex=$("$KEEL_BUILDDIR/libguest/keel-stream-dump" "$tmp/a" | awk '/PAGE_DATA/ { print $1; exit }')
off=$((0x$hex))
cp "$tmp/a" "$tmp/bad"
printf '\377' | dd of="$tmp/bad" bs=1 seek=$((off + 12)) conv=notrunc 2>/dev/null
if "$py" "$ver" -q -f libxc -i "$tmp/bad" >/dev/null 2>&1; then r=1; else r=0; fi
ok $r "verify-stream-v2 rejects the same stream with a corrupted PAGE_DATA header"
echo "1..$n"
