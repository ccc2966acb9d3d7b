"""A real domain driven end to end through keel: create from text, dict and file, list, info,
pause/unpause, rename, memory, store, save/restore (the counter keeps counting), shutdown,
reboot, destroy."""
import errno
import os
import threading
import time

import pytest

import keel
from conftest import console_counts, wait_for


def create_counter(ctx, host, name, **kw):
    cfg = keel.DomainConfig.from_text(host.counter_cfg(name), source=name + ".cfg")
    domid = ctx.create(cfg, **kw)
    return cfg, domid


def ids(ctx):
    return [d.domid for d in ctx.list()]


def test_create_list_info(ctx, host, name):
    cfg, domid = create_counter(ctx, host, name)
    lst = ctx.list()
    assert lst[0].domid == 0 and lst[0].name == "Domain-0"
    assert domid in ids(ctx)
    i = ctx.info(domid)
    assert isinstance(i, keel.DomainInfo)
    assert (i.domid, i.name) == (domid, name)
    assert i.uuid == cfg.to_dict()["c_info"]["uuid"]
    assert i.max_memkb == 24 * 1024 and i.vcpu_online == 1
    assert not i.paused and not i.shutdown and i.shutdown_reason is None
    assert i.state[2:] == "----" and (i.running or i.blocked)
    assert ctx.info(name) == ctx.info(domid) or ctx.info(name).domid == domid
    assert ctx.domid(name) == domid and ctx.name(domid) == name
    assert wait_for(lambda: len(console_counts(ctx, domid)) >= 2)
    assert ctx.store_read("/local/domain/%d/name" % domid) == name


def test_create_from_dict_and_file(ctx, host, name, tmp_path):
    d = keel.DomainConfig.from_text(host.counter_cfg(name + "-d")).to_dict()
    domid = ctx.create(d)
    assert ctx.name(domid) == name + "-d"
    p = tmp_path / "f.cfg"
    p.write_text(host.counter_cfg(name + "-f"))
    domid2 = ctx.create(keel.DomainConfig.from_file(p))
    assert ctx.info(domid2).name == name + "-f"
    got = ctx.get_config(domid2).to_dict()
    assert got["c_info"]["name"] == name + "-f"
    assert got["b_info"]["kernel"] == host.guest("counter")
    assert wait_for(lambda: console_counts(ctx, domid) and console_counts(ctx, domid2))


def test_create_leaves_the_callers_config_alone(ctx, host, name):
    cfg = keel.DomainConfig.from_text('name = "%s"\nkernel = "%s"\n' % (name, host.guest("counter")))
    before = cfg.to_dict()
    ctx.create(cfg)
    assert cfg.to_dict() == before


def test_duplicate_name_and_bad_kernel_leave_nothing(ctx, host, name):
    create_counter(ctx, host, name)
    n = len(ctx.list())
    with pytest.raises(keel.Error) as ei:
        create_counter(ctx, host, name)
    assert ei.value.errno == errno.EEXIST
    cfg = keel.DomainConfig.from_text('name = "%s-k"\nkernel = "/nonexistent/kernel"\n' % name)
    with pytest.raises(keel.Error) as ei:
        ctx.create(cfg)
    assert "/nonexistent/kernel" in ei.value.strerror
    assert len(ctx.list()) == n


def test_pause_unpause(ctx, host, name):
    _, domid = create_counter(ctx, host, name, paused=True)
    assert ctx.info(domid).paused and ctx.info(domid).state[2] == "p"
    time.sleep(0.2)
    assert console_counts(ctx, domid) == []
    ctx.unpause(domid)
    assert wait_for(lambda: len(console_counts(ctx, domid)) >= 2)
    ctx.pause(name)
    a = console_counts(ctx, domid)
    time.sleep(0.3)
    assert console_counts(ctx, domid) == a and ctx.info(domid).paused
    ctx.unpause(name)
    assert wait_for(lambda: len(console_counts(ctx, domid)) > len(a))


def test_rename(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    ctx.rename(domid, name + "-new")
    assert ctx.name(domid) == name + "-new" and ctx.domid(name + "-new") == domid
    assert ctx.store_read("/local/domain/%d/name" % domid) == name + "-new"
    with pytest.raises(keel.Error) as ei:
        ctx.domid(name)
    assert ei.value.errno == errno.ENOENT
    _, other = create_counter(ctx, host, name)
    with pytest.raises(keel.Error) as ei:
        ctx.rename(other, name + "-new")
    assert ei.value.errno == errno.EEXIST


def test_memory(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    assert ctx.memory_target(domid) == 16 * 1024
    ctx.set_memory_target(domid, 12 * 1024)
    assert ctx.memory_target(domid) == 12 * 1024
    assert ctx.store_read("/local/domain/%d/memory/target" % domid) == str(12 * 1024)
    with pytest.raises(keel.Error) as ei:
        ctx.set_memory_target(domid, 64 * 1024)          # above the maximum
    assert ei.value.errno == errno.EINVAL
    ctx.set_memory_max(domid, 20 * 1024)
    assert ctx.info(domid).max_memkb == 20 * 1024
    with pytest.raises(keel.Error) as ei:
        ctx.set_memory_max(domid, 8 * 1024)              # below the target
    assert ei.value.errno == errno.EINVAL


def test_store_write_read_rm(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    path = "/local/domain/%d/data/pytest" % domid
    ctx.store_write(path, "hello keel")
    assert ctx.store_read(path) == "hello keel"
    ctx.store_rm(path)
    with pytest.raises(keel.Error) as ei:
        ctx.store_read(path)
    assert ei.value.errno == errno.ENOENT


@pytest.mark.parametrize("live", [False, True])
def test_save_restore_keeps_counting(ctx, host, name, tmp_path, live):
    cfg, domid = create_counter(ctx, host, name)
    assert wait_for(lambda: len(console_counts(ctx, domid)) >= 3)
    img = tmp_path / "img"
    ctx.save(domid, img, live=live)
    assert domid not in ids(ctx)                        # saved, then destroyed (as xl save)
    with open(img, "rb") as f:
        assert f.read(32) == b"Xen saved domain, xl format\n \0 \r"
    new = ctx.restore(img)
    i = ctx.info(new)
    assert i.name == name and i.uuid == cfg.to_dict()["c_info"]["uuid"] and not i.paused
    counts = wait_for(lambda: console_counts(ctx, new))
    assert counts and counts[0] > 3                     # continued, not started again from 1
    assert wait_for(lambda: len(console_counts(ctx, new)) >= 2)


def test_compressed_save_with_progress(ctx, host, name, tmp_path):
    cfg, domid = create_counter(ctx, host, name)
    assert wait_for(lambda: len(console_counts(ctx, domid)) >= 2)
    reports = []
    ctx.save(domid, tmp_path / "plain", checkpoint=True)
    ctx.save(domid, tmp_path / "z", compress=True, progress=reports.append)
    keys = {"round", "pages_sent", "pages_dirty", "pages_total", "bytes_sent", "rate_mib_s",
            "expected_downtime_ms", "stop_and_copy", "done", "downtime_ms"}
    assert reports and all(set(r) == keys for r in reports)
    assert max(r["pages_total"] for r in reports) > 0
    assert os.path.getsize(tmp_path / "z") < os.path.getsize(tmp_path / "plain")
    new = ctx.restore(tmp_path / "z")
    assert ctx.info(new).uuid == cfg.to_dict()["c_info"]["uuid"]
    counts = wait_for(lambda: console_counts(ctx, new))
    assert counts and counts[0] > 2


def test_save_cancelled_by_the_progress_callable(ctx, host, name, tmp_path):
    _, domid = create_counter(ctx, host, name)

    class Stop(Exception):
        pass

    def progress(p):
        raise Stop()

    with pytest.raises(Stop):
        ctx.save(domid, tmp_path / "img", live=True, progress=progress)
    assert not os.path.exists(tmp_path / "img")
    i = ctx.info(domid)                     # resumed, as after any failed save
    assert not i.paused and not i.shutdown
    n = len(console_counts(ctx, domid))
    assert wait_for(lambda: len(console_counts(ctx, domid)) > n)

    def reenter(p):
        ctx.list()

    with pytest.raises(keel.Error) as ei:
        ctx.save(domid, tmp_path / "img", progress=reenter)
    assert ei.value.errno == errno.EDEADLK and domid in ids(ctx)

    held = [ctx.watch_deaths(domid)]

    def close(p):
        held.clear()                        # the watch is freed inside the call: no deadlock
        ctx.close()

    with pytest.raises(keel.Error) as ei:
        ctx.save(domid, tmp_path / "img", progress=close)
    assert ei.value.errno == errno.EDEADLK and "close" in ei.value.strerror
    assert not held and not ctx.closed and domid in ids(ctx)


def test_save_checkpoint_and_paused(ctx, host, name, tmp_path):
    _, domid = create_counter(ctx, host, name)
    assert wait_for(lambda: console_counts(ctx, domid))
    ctx.save(domid, tmp_path / "ck", checkpoint=True)
    assert not ctx.info(domid).paused                   # still running
    n = len(console_counts(ctx, domid))
    assert wait_for(lambda: len(console_counts(ctx, domid)) > n)
    ctx.save(domid, tmp_path / "p", paused=True)
    assert ctx.info(domid).paused
    ctx.destroy(domid)
    new = ctx.restore(tmp_path / "p", paused=True)
    assert ctx.info(new).paused and ctx.info(new).name == name
    ctx.unpause(new)
    assert wait_for(lambda: console_counts(ctx, new))


def test_restore_with_a_new_config(ctx, host, name, tmp_path):
    _, domid = create_counter(ctx, host, name)
    ctx.save(domid, tmp_path / "img")
    cfg = keel.DomainConfig.from_text(host.counter_cfg(name + "-2"))
    new = ctx.restore(tmp_path / "img", config=cfg)
    assert ctx.name(new) == name + "-2"


def test_restore_rejects_what_is_not_an_image(ctx, tmp_path):
    p = tmp_path / "junk"
    p.write_bytes(b"this is no save image" * 10)
    with pytest.raises(keel.Error) as ei:
        ctx.restore(p)
    assert ei.value.errno == errno.EBADMSG and "save image" in ei.value.strerror
    assert str(p) in ei.value.strerror
    p.write_bytes(b"Xen saved domain, xl format\n \0 \r" + b"\x04\x03\x02\x01")
    with pytest.raises(keel.Error):
        ctx.restore(p)
    with pytest.raises(keel.Error) as ei:
        ctx.restore(tmp_path / "absent")
    assert ei.value.errno == errno.ENOENT


def test_shutdown_and_on_poweroff(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    forced = ctx.shutdown(domid, timeout=1.0)
    assert forced is True                   # the in-tree guests have no shutdown agent
    i = ctx.info(domid)
    assert i.shutdown and i.shutdown_reason == keel.SHUTDOWN_POWEROFF and i.state[3] == "s"
    assert ctx.wait_shutdown(domid, timeout=1) == keel.SHUTDOWN_POWEROFF
    assert ctx.handle_shutdown(domid) == ("destroy", None)
    assert domid not in ids(ctx)


def test_reboot_restarts(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    ctx.reboot(name, timeout=1.0)
    assert ctx.info(domid).shutdown_reason == keel.SHUTDOWN_REBOOT
    action, new = ctx.handle_shutdown(domid)
    assert action == "restart" and new is not None and new != domid
    assert ctx.name(new) == name and domid not in ids(ctx)
    assert wait_for(lambda: console_counts(ctx, new))


def test_wait_shutdown_releases_the_gil(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    def shut():
        time.sleep(0.4)
        with keel.Context(host.rundir) as other:
            other.shutdown(domid, wait=False)

    threads = [threading.Thread(target=spin), threading.Thread(target=shut)]
    for t in threads:
        t.start()
    try:
        t0 = time.monotonic()
        reason = ctx.wait_shutdown(domid, timeout=10)
        took = time.monotonic() - t0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert reason == keel.SHUTDOWN_POWEROFF
    assert 0.3 < took < 5
    assert ticks[0] > 50            # the other thread ran while this one waited


def test_wait_timeout_and_gone(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    t0 = time.monotonic()
    with pytest.raises(keel.Error) as ei:
        ctx.wait_shutdown(domid, timeout=0.3)
    assert ei.value.errno == errno.ETIMEDOUT and 0.25 < time.monotonic() - t0 < 3
    threading.Timer(0.3, ctx.destroy, (domid,)).start()
    ctx.wait_gone(domid, timeout=10)
    assert domid not in ids(ctx)
    ctx.wait_gone(domid, timeout=0)     # already gone: returns at once


def test_destroy(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    ctx.destroy(name)
    assert domid not in ids(ctx)
    with pytest.raises(keel.Error) as ei:
        ctx.info(domid)
    assert ei.value.errno in (errno.ENOENT, errno.ESRCH)
    with pytest.raises(keel.Error):
        ctx.store_read("/local/domain/%d/name" % domid)
    assert not os.path.exists(os.path.join(host.rundir, "light", "dom%d.json" % domid))


def test_threads_share_a_context(ctx, host, name):
    _, domid = create_counter(ctx, host, name)
    errors = []

    def work():
        try:
            for _ in range(50):
                assert domid in ids(ctx)
                ctx.info(domid)
        except Exception as e:          # reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []


def test_block_devices(ctx, host, name, tmp_path, monkeypatch):
    """block_attach / block_list / block_detach: argument checks and liblight's errors; with
    keel-blkback running (started by keel-host), a disk attached, listed and detached."""
    monkeypatch.setenv("KEEL_SCRIPTDIR", os.path.join(host.srcdir, "scripts", "hotplug"))
    monkeypatch.setenv("KEEL_DEVICE_TIMEOUT", "2")
    _, d = create_counter(ctx, host, name)
    img = tmp_path / "disk.img"
    img.write_bytes(b"\0" * (1 << 20))
    assert ctx.block_list(d) == []
    with pytest.raises(keel.ConfigError):
        ctx.block_attach(d, f"{img},qcow7,xvdb")
    with pytest.raises(keel.Error) as e:
        ctx.block_attach(d, f"{img},raw,foo")
    assert e.value.errno == errno.EINVAL and "not a valid virtual device name" in str(e.value)
    with pytest.raises(keel.Error) as e:
        ctx.block_attach(d, f"{img},backendtype=tap,vdev=xvdb")
    assert "tap (blktap) is not supported" in str(e.value)
    with pytest.raises(TypeError):
        ctx.block_attach(d, f"{img},raw,xvdb", fe_keys={"ring-ref": 5})
    with pytest.raises(TypeError):
        ctx.block_detach(d, 1.5)
    with pytest.raises(keel.Error) as e:
        ctx.block_detach(d, "xvdz")
    assert e.value.errno == errno.ENODEV
    if "keel-blkback: running" not in host._keel_host("status").stdout:
        with pytest.raises(keel.Error) as e:
            ctx.block_attach(d, f"{img},raw,xvdb,rw")
        assert "did not reach InitWait" in str(e.value)
        assert ctx.block_list(d) == []
        return
    assert ctx.block_attach(d, f"{img},raw,xvdb,rw") == 51728
    (dev,) = ctx.block_list(d)
    assert dev["vdev"] == "xvdb" and dev["hotplug_status"] == "connected" and dev["mode"] == "w"
    ctx.block_detach(d, "xvdb")
    assert ctx.block_list(d) == []
