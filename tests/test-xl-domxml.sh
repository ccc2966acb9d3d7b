#!/bin/sh
# test-xl-domxml.sh - xl and libvirt domain XML: domxml-from-native (xl.cfg -> XML) and
# domxml-to-native (XML -> xl.cfg) give back the same config (xl -N create of the cfg, of the
# XML and of the converted cfg print the same JSON, for every examples/*.cfg), a format name
# in virsh's position, errors naming the file, line and element with exit code 1, XML refusing
# key=value overrides, a hostile document refused; then on a private host: `xl create` of an
# XML file, `xl list -l -x` printing the running domain's XML (id, name) which converts back,
# and `xl create` refusing an HVM domain XML with the reason.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
t=$KEEL_RUNDIR/domxml
mkdir -p "$t"

# ---- conversions (no host needed) ----
for cfg in examples/*.cfg; do
    b=$(basename "$cfg" .cfg)
    $XL domxml-from-native "$cfg" >"$t/$b.xml" 2>"$t/err"
    ok $? "domxml-from-native $cfg"
    $XL domxml-to-native "$t/$b.xml" >"$t/$b.cfg" 2>"$t/err"
    ok $? "domxml-to-native of its XML"
    $XL -N create -q "$cfg" >"$t/a.json" 2>/dev/null
    $XL -N create -q "$t/$b.xml" >"$t/b.json" 2>/dev/null
    $XL -N create -q "$t/$b.cfg" >"$t/c.json" 2>/dev/null
    # uuids are generated when absent: compare without them
    for j in a b c; do grep -v '"uuid"' "$t/$j.json" >"$t/$j.nouuid"; done
    cmp -s "$t/a.nouuid" "$t/b.nouuid" && cmp -s "$t/a.nouuid" "$t/c.nouuid" && [ -s "$t/a.nouuid" ]
    ok $? "$b: xl -N create of the cfg, of its XML and of the converted cfg print the same JSON"
done
$XL domxml-from-native xen-xl examples/hello.cfg name=hi memory=32 >"$t/hi.xml" 2>/dev/null &&
    grep -q '<name>hi</name>' "$t/hi.xml" && grep -q '<memory unit="KiB">32768</memory>' "$t/hi.xml"
ok $? "domxml-from-native takes virsh's format name and key=value overrides"
$XL domxml-from-native vmware-vmx examples/hello.cfg >/dev/null 2>"$t/err"
[ $? -eq 2 ] && grep -q "unknown native format .vmware-vmx'" "$t/err"
ok $? "an unknown native format is a usage error"
cat >"$t/bad.xml" <<'XML'
<domain type='xen'>
  <name>bad</name>
  <memory unit='MiB'>16</memory>
  <os><type>xenpvh</type><kernel>/k</kernel></os>
  <devices>
    <disk type='file'><driver type='vmdk'/><source file='/x'/><target dev='xvda'/></disk>
  </devices>
</domain>
XML
$XL domxml-to-native "$t/bad.xml" >/dev/null 2>"$t/err"
[ $? -eq 1 ] && grep -q "bad.xml:6:0: <disk>: driver type: format .vmdk' is not supported" "$t/err"
ok $? "domxml-to-native: an error names file, line and element (exit 1)"
$XL -N create "$t/bad.xml" >/dev/null 2>"$t/err"
[ $? -eq 1 ] && grep -q "bad.xml:6:0: <disk>" "$t/err"
ok $? "create -N of a bad XML fails with the same message"
$XL -N create "$t/hello.xml" memory=64 >/dev/null 2>"$t/err"
[ $? -ne 0 ] && grep -q "overrides apply to xl.cfg files, not to domain XML" "$t/err"
ok $? "create of an XML refuses key=value overrides, saying why"
printf '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<domain type="xen"><name>&x;</name></domain>\n' >"$t/xxe.xml"
$XL domxml-to-native "$t/xxe.xml" >"$t/out" 2>"$t/err"
[ $? -eq 1 ] && ! grep -q root: "$t/out" "$t/err" && grep -q "DOCTYPE" "$t/err"
ok $? "an external entity document is refused and nothing is read"
cat >"$t/hvm.xml" <<'XML'
<domain type='xen'>
  <name>winvm</name>
  <memory unit='MiB'>64</memory>
  <os>
    <type arch='x86_64' machine='xenfv'>hvm</type>
    <loader type='rom'>/usr/lib/xen/boot/hvmloader</loader>
  </os>
  <devices><graphics type='vnc' port='5901'/></devices>
</domain>
XML
$XL -N create "$t/hvm.xml" >"$t/hvm.json" 2>"$t/err"
[ $? -eq 0 ] && grep -q '"type": "hvm"' "$t/hvm.json" && grep -q '"vnc = 1"' "$t/hvm.json" &&
    grep -q "hvm.xml:5:0: warning: <type>: type: type .hvm' is kept" "$t/err" &&
    grep -q "hvm.xml:8:0: warning: <graphics>: vnc: not supported by Keel; kept" "$t/err"
ok $? "an HVM domain XML converts (-N): type hvm and its VNC settings kept, with warnings"
$XL domxml-to-native "$t/hvm.xml" 2>/dev/null >"$t/hvm.cfg" && grep -qx 'type = "hvm"' "$t/hvm.cfg" &&
    grep -qx 'vnc = 1' "$t/hvm.cfg" && grep -qx 'vncdisplay = 1' "$t/hvm.cfg"
ok $? "domxml-to-native of an HVM XML keeps type and VNC settings"
$XL domxml-from-native "$t/hvm.cfg" >"$t/hvm2.xml" 2>/dev/null &&
    grep -q '<graphics type="vnc" port="5901" autoport="no"/>' "$t/hvm2.xml" &&
    grep -q '<keel:xl>vnc = 1</keel:xl>' "$t/hvm2.xml"
ok $? "and back to XML: libvirt's <graphics> plus the exact lines in <keel:xl>"

# ---- on a host ----
if host start >/dev/null 2>&1; then
    $XL create -q "$t/counter.xml" 'name=nope' >/dev/null 2>&1
    [ $? -ne 0 ]
    ok $? "xl create of an XML with an override fails"
    sed 's#<name>counter</name>#<name>fromxml</name>#' "$t/counter.xml" >"$t/fromxml.xml"
    $XL create -q "$t/fromxml.xml" >/dev/null 2>"$t/err"
    ok $? "xl create of a domain XML"
    id=$($XL domid fromxml 2>/dev/null)
    [ -n "$id" ]
    ok $? "the domain created from XML runs (domid $id)"
    $XL list -l -x fromxml >"$t/live.xml" 2>"$t/err"
    ok $? "xl list -l -x"
    grep -q "<domain type=\"xen\" id=\"$id\">" "$t/live.xml" && grep -q '<name>fromxml</name>' "$t/live.xml"
    ok $? "xl list -l -x prints the running domain's XML with its id"
    $XL domxml-to-native "$t/live.xml" >"$t/live.cfg" 2>"$t/err" && grep -q 'name = "fromxml"' "$t/live.cfg"
    ok $? "the live XML converts back to an xl.cfg"
    $XL list -l --xml >"$t/all.xml" 2>/dev/null && grep -q '<name>fromxml</name>' "$t/all.xml"
    ok $? "xl list -l --xml lists every guest"
    $XL destroy fromxml >/dev/null 2>&1
    ok $? "destroy it"
    $XL create -q "$t/hvm.xml" >/dev/null 2>"$t/err"
    [ $? -ne 0 ] && grep -q "type hvm is not supported: Keel runs paravirtual guests as type pvh" "$t/err" &&
        ! $XL domid winvm >/dev/null 2>&1
    ok $? "xl create of the HVM XML is refused with the reason and leaves no domain"
else
    skip "xl create of a domain XML, xl list -l -x" "no Keel host could be started"
fi
done_tap
