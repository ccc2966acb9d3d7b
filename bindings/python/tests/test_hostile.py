"""Hostile input through the binding: mutated xl.cfg text and JSON never do anything but give a
config or raise ConfigError (or ValueError for an embedded NUL), and truncated or corrupted save
images fail cleanly, leaving no domain behind. Seeded, so every run checks the same inputs."""
import random

import pytest

import keel
from conftest import wait_for, console_counts

TEXT = ('name = "h"\nkernel = "/k"\nmemory = 32\nmaxmem = 64\nvcpus = 2\ncpus = "0-1"\n'
        'vif = [ "mac=00:16:3e:00:00:01,bridge=br0", "ip=10.0.0.2" ]\n'
        'disk = [ "/img/h.raw,raw,xvda,rw" ]\non_crash = "preserve"\ncmdline = "a=\\"b\\" \\x41"\n')


def mutate(rng, s):
    b = bytearray(s.encode())
    for _ in range(rng.randint(1, 6)):
        k = rng.randint(0, 3)
        i = rng.randrange(len(b)) if b else 0
        if k == 0 and b:
            b[i] = rng.randrange(256)
        elif k == 1:
            b.insert(i, rng.choice(b'[]"\',=;#\n\\+x0 '))
        elif k == 2 and b:
            del b[i:i + rng.randint(1, 8)]
        else:
            b = b[:i]
    return b.decode("utf-8", "replace")


def outcome(fn, arg, back):
    try:
        c = fn(arg)
    except keel.ConfigError as e:
        assert e.errno and e.strerror and e.errors
        return "error"
    except ValueError:
        assert "\0" in arg
        return "nul"
    assert isinstance(c, keel.DomainConfig)
    assert back(c) == c                     # what was accepted is written back faithfully
    return "ok"


def test_mutated_config_text():
    rng = random.Random(7)
    seen = {outcome(lambda t: keel.DomainConfig.from_text(t, "m.cfg"), mutate(rng, TEXT),
                    lambda c: keel.DomainConfig.from_text(c.to_text()))
            for _ in range(3000)}
    assert {"ok", "error"} <= seen


def test_mutated_json():
    rng = random.Random(11)
    js = keel.DomainConfig.from_text(TEXT).to_json()
    # (xl.cfg text cannot say "unset" for what the converter fills, e.g. a vif devid, so a
    # JSON config is checked through JSON and dicts, not through to_text)
    seen = {outcome(keel.DomainConfig.from_json, mutate(rng, js),
                    lambda c: keel.DomainConfig.from_dict(c.to_dict()))
            for _ in range(3000)}
    assert {"ok", "error"} <= seen


def test_truncated_and_corrupted_images(ctx, host, name, tmp_path):
    domid = ctx.create(keel.DomainConfig.from_text(host.counter_cfg(name)))
    assert wait_for(lambda: console_counts(ctx, domid))
    img = tmp_path / "img"
    ctx.save(domid, img, checkpoint=True)
    data = img.read_bytes()
    before = sorted(d.domid for d in ctx.list())
    rng = random.Random(3)
    cuts = [0, 1, 31, 32, 47, 48, 52, 100, len(data) // 4, len(data) // 2, len(data) - 1]
    bad = tmp_path / "bad"
    for cut in cuts:
        bad.write_bytes(data[:cut])
        with pytest.raises(keel.Error):
            ctx.restore(bad)
    for _ in range(20):                      # a flipped byte in the preamble's configuration
        b = bytearray(data)
        b[rng.randrange(52, 52 + 200)] ^= 0xff
        bad.write_bytes(bytes(b))
        try:
            new = ctx.restore(bad, paused=True)
        except keel.Error:
            continue
        ctx.destroy(new)                     # a flip inside a string value can still be valid
    assert sorted(d.domid for d in ctx.list()) == before
