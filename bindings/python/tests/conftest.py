"""Fixtures of the keel pytest suite: one private host for the session, a fresh Context per
test that destroys whatever domains remain when the test ends (pass or fail)."""
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import keel       # noqa: E402  (the package staged by run-pytest.sh: the module just built)
import kpyhost    # noqa: E402


@pytest.fixture(scope="session")
def host():
    h = kpyhost.Host()
    h.start()
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture
def ctx(host):
    c = keel.Context(host.rundir)
    try:
        yield c
    finally:
        if not c.closed:
            for d in c.list():
                if d.domid != 0:
                    try:
                        c.destroy(d.domid)
                    except keel.Error:
                        pass
            c.close()


@pytest.fixture
def name(request):
    """A domain name unique to the test."""
    return "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40]


def console_counts(ctx, domid):
    """The values the counter guest has printed so far."""
    out, _ = ctx.console_read(domid)
    return [int(m) for m in re.findall(rb"counter (\d+)\n", out)]


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    return pred()
