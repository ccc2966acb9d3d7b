"""DomainConfig and libvirt domain XML: from_xml / to_xml both ways, the round trip through
xl.cfg text, errors naming the element and its line, warnings for elements Keel cannot hold.
No host needed."""
import os

import pytest

import keel

SRC = os.environ.get("KEEL_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TEXT = ('name = "x1"\nkernel = "/boot/k"\nmemory = 64\nmaxmem = 128\nvcpus = 2\n'
        'cpu_weight = 300\non_crash = "preserve"\n'
        'vif = [ "mac=00:16:3e:01:02:03,bridge=xenbr0,rate=1MB/s" ]\n'
        'disk = [ "/srv/x1.img,raw,xvda,rw" ]\n')


def test_cfg_to_xml_to_cfg_is_the_same_config():
    c = keel.DomainConfig.from_text(TEXT)
    xml = c.to_xml()
    assert xml.startswith('<domain type="xen">')
    assert "<memory unit=\"KiB\">131072</memory>" in xml
    back = keel.DomainConfig.from_xml(xml)
    assert back == c
    assert back.to_text() == c.to_text()
    assert back.to_xml() == xml


def test_examples_round_trip():
    for name in sorted(os.listdir(os.path.join(SRC, "examples"))):
        if name.endswith(".cfg"):
            c = keel.DomainConfig.from_file(os.path.join(SRC, "examples", name))
            assert keel.DomainConfig.from_xml(c.to_xml(), source=name) == c, name


def test_to_xml_with_domid():
    xml = keel.DomainConfig.from_text(TEXT).to_xml(domid=7)
    assert xml.startswith('<domain type="xen" id="7">')
    with pytest.raises(ValueError):
        keel.DomainConfig.from_text(TEXT).to_xml(domid=-2)


def test_error_names_element_and_line():
    xml = "<domain type='xen'>\n  <name>e</name>\n  <memory unit='MiB'>many</memory>\n</domain>"
    with pytest.raises(keel.ConfigError) as e:
        keel.DomainConfig.from_xml(xml, source="e.xml")
    assert "e.xml:3:" in str(e.value) and "<memory>" in str(e.value)


def test_hostile_documents_fail_cleanly():
    for doc in ("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>&x;</domain>",
                "<domain type='xen'><name>", "", "\x00"):
        with pytest.raises((keel.ConfigError, ValueError)):
            keel.DomainConfig.from_xml(doc)


def test_unsupported_element_is_a_warning_or_strict_error():
    xml = ("<domain type='xen'><name>g</name><memory unit='MiB'>16</memory>"
           "<os><type>xenpvh</type><kernel>/k</kernel></os>"
           "<devices><graphics type='vnc'/></devices></domain>")
    c = keel.DomainConfig.from_xml(xml)
    assert len(c.warnings) == 1 and "<graphics>" in str(c.warnings[0])
    with pytest.raises(keel.ConfigError):
        keel.DomainConfig.from_xml(xml, strict=True)


def test_hvm_settings_are_kept_both_ways():
    c = keel.DomainConfig.from_text('name = "w"\ntype = "hvm"\nvnc = 1\nvncdisplay = 3\n'
                                    'pci = [ "0000:00:1b.0" ]\n')
    assert c.to_dict()["xen_only"] == ['pci = [ "0000:00:1b.0" ]', "vnc = 1", "vncdisplay = 3"]
    xml = c.to_xml()
    assert "<type machine=\"xenfv\">hvm</type>" in xml and 'port="5903"' in xml
    assert "<hostdev mode=\"subsystem\" type=\"pci\"" in xml
    assert keel.DomainConfig.from_xml(xml) == c
