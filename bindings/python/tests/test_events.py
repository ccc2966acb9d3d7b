"""DeathWatch: liblight's libevent death watch (kl_ev_death_watch) seen from Python."""
import threading
import time

import keel
from conftest import console_counts, wait_for


def test_watch_one_domain(ctx, host, name):
    domid = ctx.create(keel.DomainConfig.from_text(host.counter_cfg(name)))
    other = ctx.create(keel.DomainConfig.from_text(host.counter_cfg(name + "-o")))
    w = ctx.watch_deaths(domid)
    t0 = time.monotonic()
    assert w.wait(timeout=0.3) == []
    assert time.monotonic() - t0 >= 0.25
    ctx.shutdown(other, timeout=1)                # not watched
    threading.Timer(0.2, lambda: keel.Context(host.rundir).shutdown(domid, wait=False)).start()
    assert w.wait(timeout=10) == [(domid, keel.SHUTDOWN_POWEROFF)]
    ctx.destroy(domid)
    assert w.wait(timeout=10) == [(domid, None)]
    w.close()
    assert wait_for(lambda: console_counts(ctx, other) is not None)


def test_watch_every_domain(ctx, host, name):
    w = ctx.watch_deaths()
    a = ctx.create(keel.DomainConfig.from_text(host.counter_cfg(name + "-a")))
    b = ctx.create(keel.DomainConfig.from_text(host.counter_cfg(name + "-b")))
    # A domain created after the watch is known to it from the next notification on (liblight
    # rescans on VIRQ_DOM_EXC): b's shutdown is that notification, a's destruction the next.
    ctx.shutdown(b, timeout=1)
    assert w.wait(timeout=10) == [(b, keel.SHUTDOWN_POWEROFF)]
    ctx.destroy(a)
    seen = []
    end = time.monotonic() + 10
    while not seen and time.monotonic() < end:
        seen += w.wait(timeout=1)
    assert seen == [(a, None)]              # b's shutdown is reported once only
    assert keel.shutdown_reason_name(keel.SHUTDOWN_POWEROFF) == "poweroff"


class Interrupted(Exception):
    pass


def _raise(signum, frame):
    raise Interrupted()


def test_signals_interrupt_waits(ctx, host, name):
    import signal
    domid = ctx.create(keel.DomainConfig.from_text(host.counter_cfg(name)))
    old = signal.signal(signal.SIGALRM, _raise)
    try:
        for wait in (lambda: ctx.wait_gone(domid), lambda: ctx.wait_shutdown(domid),
                     lambda: ctx.watch_deaths(domid).wait()):
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            t0 = time.monotonic()
            try:
                wait()
            except Interrupted:
                pass
            else:
                raise AssertionError("an endless wait returned")
            assert time.monotonic() - t0 < 2        # within a slice of the signal
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert ctx.info(domid).name == name           # the context is still usable
