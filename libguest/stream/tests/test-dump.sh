#!/bin/sh
# test-dump.sh - keel-stream-dump prints every record of a valid stream (with offsets and
# decoded fields) and exits 0; on a corrupted copy it exits 1 with the reader's error.
set -u
dump="$KEEL_BUILDDIR/libguest/keel-stream-dump"
gen="$KEEL_BUILDDIR/libguest/stream/tests/stream-gen"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

"$gen" xl "$tmp/s.xl" >/dev/null 2>&1; ok $? "stream-gen writes an xl save image"
"$dump" -v "$tmp/s.xl" >"$tmp/out" 2>"$tmp/err"; ok $? "dump accepts it"
grep -q '^00000000 xl preamble' "$tmp/out"; ok $? "dump prints the xl preamble at offset 0"
grep -q 'libxl header: version 2' "$tmp/out"; ok $? "dump prints the libxl header"
grep -q 'libxc domain header: type 2 (x86 HVM), page shift 12' "$tmp/out"; ok $? "dump decodes the domain header"
grep -q 'param 1 STORE_PFN' "$tmp/out"; ok $? "dump decodes HVM_PARAMS"
grep -q 'vcpu1: rip 0x' "$tmp/out"; ok $? "dump decodes per-vCPU registers from HVM_CONTEXT"
grep -q 'libxl #[0-9]* END' "$tmp/out" && grep -q '^stream OK' "$tmp/out"; ok $? "dump reaches the final libxl END"
"$dump" -f libxc "$tmp/s.xl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'bad marker' "$tmp/err"; ok $? "forcing the libxc format on an xl image fails with the reader's error"
size=$(wc -c <"$tmp/s.xl")
head -c $((size - 3)) "$tmp/s.xl" >"$tmp/cut"
"$dump" "$tmp/cut" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'truncated' "$tmp/err" && grep -q 'offset' "$tmp/err"; ok $? "a truncated image exits 1 naming the offset"
"$dump" -m 10 "$tmp/s.xl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'beyond the maximum pfn 0xa' "$tmp/err"; ok $? "-m limits the pfn range"
"$dump" "$tmp/nonexistent" >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "a missing file is a usage error (exit 2)"
echo "1..$n"
