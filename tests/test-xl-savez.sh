#!/bin/sh
# test-xl-savez.sh - xl save -z (Keel's zlib-compressed images) and xl restore: the round trip
# continues the guest, the image is smaller than the plain one for a mostly-zero guest, carries
# Keel's mandatory flag, and a corrupt or truncated compressed image fails with a clear error
# leaving no domain behind; the plain image is unchanged by the option's existence.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
img="$KEEL_RUNDIR/z.img" plain="$KEEL_RUNDIR/p.img"
flags() { od -An -tx4 -j36 -N4 "$1" | tr -d ' '; }

host start >/dev/null 2>&1; ok $? "a private host starts"
$XL create -q examples/counter.cfg name=sz memory=64 'extra="interval=100"' 2>/dev/null; ok $? "create a counter (64 MiB, mostly zero)"
sleep 0.6
$XL save -c sz "$plain" 2>/dev/null; ok $? "xl save (plain) -c"
$XL save -z sz "$img" 2>"$KEEL_RUNDIR/save.err"; ok $? "xl save -z exits 0"
grep -q "zlib-compressed (Keel)" "$KEEL_RUNDIR/save.err"; ok $? "it says the image is compressed"
[ "$(flags "$plain")" = 00000003 ]; ok $? "the plain image has xl's flags JSON|STREAMv2 only"
[ "$(flags "$img")" = 80000003 ]; ok $? "the compressed image has Keel's mandatory flag 0x80000000"
ps=$(stat -c %s "$plain") zs=$(stat -c %s "$img")
[ "$zs" -lt "$ps" ]; ok $? "the compressed image is smaller ($zs < $ps bytes)"
not $XL list sz; ok $? "after xl save -z the domain is gone"
$XL restore "$img" 2>"$KEEL_RUNDIR/restore.err"; ok $? "xl restore of the compressed image exits 0"
grep -q "zlib-compressed" "$KEEL_RUNDIR/restore.err"; ok $? "restore says it inflates"
$XL list sz >/dev/null; ok $? "the domain is back under its name"
sleep 0.6
first=$(timeout 1 $XL console sz 2>/dev/null | sed -n 's/^counter \([0-9]*\)$/\1/p' | head -1)
[ -n "$first" ] && [ "$first" -gt 1 ]; ok $? "it continues counting (first number after restore: $first)"
$XL save -z -p sz "$img" 2>/dev/null; ok $? "xl save -z -p"
$XL destroy sz

# corruption: one byte in the middle of the deflated data, and a truncated image
hl=$((48 + $(od -An -tu4 -j44 -N4 "$img" | tr -d ' ')))
cp "$img" "$KEEL_RUNDIR/bad.img"
off=$((hl + (zs - hl) / 2))
printf '\377' | dd of="$KEEL_RUNDIR/bad.img" bs=1 seek=$off conv=notrunc 2>/dev/null
b=$(od -An -tu1 -j$off -N1 "$img" | tr -d ' ')
[ "$b" = 255 ] && printf '\000' | dd of="$KEEL_RUNDIR/bad.img" bs=1 seek=$off conv=notrunc 2>/dev/null
$XL restore "$KEEL_RUNDIR/bad.img" 2>"$KEEL_RUNDIR/bad.err"; [ $? -eq 1 ]; ok $? "a corrupt byte in the compressed data: exit 1"
grep -q "compressed image: .*at image byte" "$KEEL_RUNDIR/bad.err"; ok $? "with an error saying what and where ($(tail -1 "$KEEL_RUNDIR/bad.err" | cut -c1-100))"
not $XL list sz; ok $? "and no domain is left"
head -c $((hl + (zs - hl) / 3)) "$img" >"$KEEL_RUNDIR/cut.img"
$XL restore "$KEEL_RUNDIR/cut.img" 2>"$KEEL_RUNDIR/cut.err"; [ $? -eq 1 ]; ok $? "a truncated compressed image: exit 1"
grep -q "truncated compressed stream" "$KEEL_RUNDIR/cut.err"; ok $? "with an error saying it is truncated"
not $XL list sz; ok $? "and no domain is left"
cp "$img" "$KEEL_RUNDIR/tail.img"; printf 'junk' >>"$KEEL_RUNDIR/tail.img"
$XL restore "$KEEL_RUNDIR/tail.img" 2>"$KEEL_RUNDIR/tail.err"; [ $? -eq 1 ]; ok $? "bytes after the compressed stream: exit 1"
not $XL list sz; ok $? "and no domain is left"
if have_xs; then
    [ -z "$(store_domains)" ]; ok $? "no store nodes of a half-created domain"
else
    skip "no store nodes of a half-created domain" "xenstore-list missing"
fi
# the plain image still restores
$XL restore -p "$plain" 2>/dev/null; ok $? "the plain image of the same domain restores"
$XL destroy sz
done_tap
