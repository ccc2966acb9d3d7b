#!/bin/sh
# The whole test suite: installs what is needed (Debian 12, as root), builds Keel twice
# (a normal build and an ASan+UBSan build), runs every test of both, and ends with
# the line "N passed, N failed".
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
sh scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
(autoreconf -fi >/dev/null 2>&1) || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }
status=0
for variant in plain asan; do
    bdir="$src/build/$variant"
    rm -rf "$bdir"
    opts=""
    [ "$variant" = asan ] && opts="--enable-sanitizers"
    echo "== build ($variant)"
    if ! sh scripts/build.sh "$bdir" $opts; then
        echo "build ($variant) failed"; status=1; continue
    fi
    echo "== tests ($variant)"
    (cd "$bdir" && make -k check >check.out 2>&1) || status=1
    grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP):' "$bdir/check.out" | grep -v '^PASS' | head -50
done
echo "== summary"
sh scripts/test-summary.sh "$src/build/plain" "$src/build/asan" || status=1
exit $status
