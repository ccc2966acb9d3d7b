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
build_failures=0
start=$(date +%s)
for variant in plain asan; do
    bdir="$src/build/$variant"
    rm -rf "$bdir"
    opts=""
    [ "$variant" = asan ] && opts="--enable-sanitizers"
    echo "== build ($variant)"
    if ! sh scripts/build.sh "$bdir" $opts; then
        echo "build ($variant) failed"
        status=1
        build_failures=$((build_failures + 1))
        continue
    fi
    echo "== tests ($variant)"
    t0=$(date +%s)
    (cd "$bdir" && make -k check >check.out 2>&1) || status=1
    echo "tests ($variant) took $(($(date +%s) - t0)) s"
    grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP):' "$bdir/check.out" | grep -v '^PASS' | head -50
done
echo "== summary (whole run: $(($(date +%s) - start)) s)"
summary=$(sh scripts/test-summary.sh "$src/build/plain" "$src/build/asan") || status=1
echo "$summary" | sed '$d'
# a build that failed ran none of its tests: it counts as failed in the last line
echo "$summary" | tail -1 | awk -v b="$build_failures" \
    '{ print $1 " passed, " $3 + b " failed, " $5 " skipped" }'
[ "$build_failures" -eq 0 ] || status=1
exit $status
