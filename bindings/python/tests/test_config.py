"""DomainConfig: from xl.cfg text, files, JSON and dicts, back to dicts and text; errors that
carry file:line:column. No host needed."""
import errno
import json

import pytest

import keel

UUID = "4a5e3f12-9b1c-4d2e-8f00-123456789abc"
TEXT = ('name = "web1"\nuuid = "%s"\nkernel = "/boot/k"\nmemory = 64\nmaxmem = 128\n'
        'vcpus = 2\non_crash = "preserve"\n' % UUID)


def test_from_text_fields():
    c = keel.DomainConfig.from_text(TEXT)
    d = c.to_dict()
    assert c.name == "web1"
    assert d["c_info"]["name"] == "web1" and d["c_info"]["uuid"] == UUID
    assert d["b_info"]["target_memkb"] == 64 * 1024
    assert d["b_info"]["max_memkb"] == 128 * 1024
    assert d["b_info"]["max_vcpus"] == 2
    assert d["on_crash"] == "preserve"
    assert c.warnings == []


def test_overrides_apply_after_the_text():
    c = keel.config_from_text(TEXT, overrides=["name=web2", "memory=32"])
    assert c.name == "web2"
    assert c.to_dict()["b_info"]["target_memkb"] == 32 * 1024


def test_from_file_equals_from_text(tmp_path):
    p = tmp_path / "web1.cfg"
    p.write_text(TEXT)
    assert keel.DomainConfig.from_file(p) == keel.DomainConfig.from_text(TEXT)
    assert keel.config_from_file(str(p), overrides=["vcpus=1"]).to_dict()["b_info"]["max_vcpus"] == 1


def test_dict_json_and_text_round_trips():
    c = keel.DomainConfig.from_text(TEXT)
    assert keel.DomainConfig.from_dict(c.to_dict()) == c
    assert keel.DomainConfig.from_json(c.to_json()) == c
    assert keel.DomainConfig.from_text(c.to_text()) == c
    other = keel.DomainConfig.from_text(TEXT, overrides=["memory=65"])
    assert other != c


def test_from_dict_libxl_shape():
    d = {"c_info": {"type": "pvh", "name": "fromdict"},
         "b_info": {"max_vcpus": 1, "target_memkb": 16384, "kernel": "/k"},
         "on_poweroff": "destroy", "unknown_key": 1}
    c = keel.config_from_dict(d)
    assert c.name == "fromdict"
    assert c.to_dict()["b_info"]["kernel"] == "/k"


def test_json_error_names_the_path():
    with pytest.raises(keel.ConfigError) as ei:
        keel.DomainConfig.from_dict({"c_info": {"name": 5}})
    assert "c_info.name" in ei.value.strerror
    assert ei.value.errno == errno.EINVAL


def test_syntax_error_is_located():
    with pytest.raises(keel.ConfigError) as ei:
        keel.DomainConfig.from_text('name = "x"\nmemory = \nvcpus = 1\n', source="bad.cfg")
    e = ei.value
    assert isinstance(e, keel.Error) and isinstance(e, OSError)
    assert (e.file, e.line, e.column) == ("bad.cfg", 2, 10)
    assert e.strerror.startswith("bad.cfg:2:10:")
    assert e.errno == errno.EINVAL
    assert [x.severity for x in e.errors] == ["error"]


def test_every_conversion_error_is_reported():
    with pytest.raises(keel.ConfigError) as ei:
        keel.DomainConfig.from_text('name = "x"\nkernel = "/k"\nmemory = 0\nvcpus = 0\n',
                                    source="two.cfg")
    e = ei.value
    assert len(e.errors) == 2
    assert (e.errors[0].line, e.errors[1].line) == (3, 4)
    assert e.line == 3 and e.column > 0 and "memory" in e.strerror


def test_file_error_names_the_file(tmp_path):
    p = tmp_path / "broken.cfg"
    p.write_text('name = "x"\nkernel = "/k"\nvcpus = "many"\n')
    with pytest.raises(keel.ConfigError) as ei:
        keel.DomainConfig.from_file(p)
    assert ei.value.file == str(p) and ei.value.line == 3
    assert ei.value.strerror.startswith(str(p) + ":3:")


def test_missing_file():
    with pytest.raises(keel.Error) as ei:
        keel.DomainConfig.from_file("/nonexistent/keel-test.cfg")
    assert ei.value.errno == errno.ENOENT
    assert "/nonexistent/keel-test.cfg" in ei.value.strerror


def test_unknown_key_is_a_warning_unless_strict():
    text = TEXT + "frobnicate = 1\n"
    c = keel.DomainConfig.from_text(text, source="w.cfg")
    assert len(c.warnings) == 1
    w = c.warnings[0]
    assert w.severity == "warning" and w.file == "w.cfg" and w.line == 8 and "frobnicate" in w.text
    with pytest.raises(keel.ConfigError) as ei:
        keel.DomainConfig.from_text(text, source="w.cfg", strict=True)
    assert ei.value.line == 8


def test_setdefault_copy_and_xl_json():
    c = keel.DomainConfig.from_text('name = "d"\nkernel = "/k"\n')
    assert "target_memkb" not in c.to_dict()["b_info"]
    c2 = c.copy()
    c2.setdefault()
    assert c2.to_dict()["b_info"]["target_memkb"] == 32 * 1024
    assert "target_memkb" not in c.to_dict()["b_info"]     # the copy is independent
    x = json.loads(c2.to_xl_json(domid=7))
    assert x["domid"] == 7 and x["config"]["c_info"]["name"] == "d"
    assert json.loads(c2.to_xl_json())["domid"] is None


def test_argument_checks():
    with pytest.raises(TypeError):
        keel.DomainConfig.from_dict("not a dict")
    with pytest.raises(TypeError):
        keel.DomainConfig.from_text(TEXT, overrides="name=x")
    with pytest.raises(ValueError):
        keel.DomainConfig.from_json('{"c_info": {}}\0')
    assert repr(keel.DomainConfig()) == "<keel.DomainConfig name=None>"
