#!/bin/sh
# test-xml-libvirt.sh - every XML that Keel exports in test-xml (the cfg corpus and the XML
# corpus) is checked by libvirt itself: virt-xml-validate against libvirt's RelaxNG domain
# schema, and `virsh -c test:///default define` (libvirt's test driver parses and accepts it).
# Needs Debian's libvirt-clients and libvirt-daemon (scripts/install-deps.sh); without them the
# test is skipped with a SKIP line.
set -u
for tool in virt-xml-validate virsh; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool not installed (Debian: libvirt-clients, libvirt-daemon)"
        exit 0
    fi
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
KEEL_XML_OUT=$out "$KEEL_BUILDDIR/liblight/tests/test-xml" >/dev/null 2>&1
n=0
fail=0
files=$(ls "$out"/*.xml 2>/dev/null)
if [ -z "$files" ]; then
    echo "not ok 1 - test-xml wrote the exported XML documents"
    echo "1..1"
    exit 1
fi
for f in $files; do
    name=$(basename "$f")
    n=$((n + 1))
    if msg=$(virt-xml-validate "$f" domain 2>&1); then
        echo "ok $n - $name: validates against libvirt's domain schema"
    else
        echo "not ok $n - $name: validates against libvirt's domain schema"
        echo "$msg" | sed 's/^/# /'
        fail=1
    fi
    n=$((n + 1))
    if msg=$(virsh -q -c test:///default define "$f" 2>&1); then
        echo "ok $n - $name: libvirt's test driver defines it"
    else
        echo "not ok $n - $name: libvirt's test driver defines it"
        echo "$msg" | sed 's/^/# /'
        fail=1
    fi
done
echo "1..$n"
exit $fail
