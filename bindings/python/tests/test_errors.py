"""Errors: unknown domains, closed and unreachable contexts, bad arguments."""
import errno
import os

import pytest

import keel

MISSING = (errno.ENOENT, errno.ESRCH)


def test_error_classes():
    assert issubclass(keel.Error, OSError)
    assert issubclass(keel.ConfigError, keel.Error)


@pytest.mark.parametrize("call", ["info", "pause", "unpause", "destroy", "name", "get_config",
                                  "memory_target", "handle_shutdown", "domid"])
def test_unknown_domid(ctx, call):
    with pytest.raises(keel.Error) as ei:
        getattr(ctx, call)(4000)
    assert ei.value.errno in MISSING
    assert "4000" in ei.value.strerror


@pytest.mark.parametrize("call,args", [
    ("info", ()), ("rename", ("other",)), ("set_memory_target", (1024,)),
    ("save", ("/tmp/keel-never-written",)), ("shutdown", ()), ("wait_shutdown", ()),
])
def test_unknown_name(ctx, call, args):
    with pytest.raises(keel.Error) as ei:
        getattr(ctx, call)("no-such-domain", *args)
    assert ei.value.errno in MISSING
    assert "no-such-domain" in ei.value.strerror
    assert not os.path.exists("/tmp/keel-never-written")


def test_unreachable_rundir(tmp_path):
    with pytest.raises(keel.Error) as ei:
        keel.Context(str(tmp_path / "nothing-here"))
    assert str(tmp_path / "nothing-here") in ei.value.strerror
    assert ei.value.errno != 0


def test_closed_context(host):
    c = keel.Context(host.rundir)
    with c:
        assert c.rundir == host.rundir and not c.closed
    assert c.closed
    with pytest.raises(keel.Error) as ei:
        c.list()
    assert ei.value.errno == errno.EBADF
    with pytest.raises(keel.Error):
        c.info(0)
    c.close()          # closing twice is harmless


def test_bad_arguments(ctx):
    with pytest.raises(TypeError):
        ctx.info(1.5)
    with pytest.raises(ValueError):
        ctx.info(-1)
    with pytest.raises(OverflowError):
        ctx.set_memory_target(0, -5)
    with pytest.raises(ValueError):
        ctx.store_read("relative/path")
    with pytest.raises(ValueError):
        ctx.wait_gone(0, timeout=-1)
    with pytest.raises(TypeError):
        ctx.create("not a config")


def test_store_errors(ctx):
    with pytest.raises(keel.Error) as ei:
        ctx.store_read("/local/domain/0/no-such-node")
    assert ei.value.errno == errno.ENOENT
