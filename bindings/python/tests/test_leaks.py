"""No reference or memory leak per call: Python-level allocations (tracemalloc) stay flat over
thousands of calls, success and error paths alike. (C-level leaks in the module and liblight are
LeakSanitizer's job in the sanitizer build: see run-pytest.sh.)"""
import gc
import tracemalloc

import pytest

import keel

TEXT = 'name = "leak"\nkernel = "/k"\nmemory = 16\nvcpus = 1\n'
BAD = 'name = "leak"\nkernel = "/k"\nmemory = 0\n'


def growth(fn, rounds):
    for _ in range(200):            # warm caches (interned strings, free lists)
        fn()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            fn()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def config_ops():
    c = keel.DomainConfig.from_text(TEXT)
    keel.DomainConfig.from_dict(c.to_dict())
    c.copy().setdefault()
    c.to_text()
    try:
        keel.DomainConfig.from_text(BAD, source="bad.cfg")
    except keel.ConfigError as e:
        assert e.errors


def test_config_calls_do_not_leak():
    assert growth(config_ops, 3000) < 64 * 1024


def test_context_calls_do_not_leak(ctx, host):
    domid = ctx.create(keel.DomainConfig.from_text(host.counter_cfg("leak")))

    def ops():
        ctx.list()
        ctx.info(domid)
        ctx.console_read(domid)
        ctx.get_config(domid)
        with pytest.raises(keel.Error):
            ctx.info("no-such-domain")
        with pytest.raises(keel.Error):
            ctx.store_read("/local/domain/%d/absent" % domid)

    assert growth(ops, 1000) < 64 * 1024
