"""peer.py - for keeld's tests: run a function as another local user (uid 65534 in a given
group), the way a read-only peer of keeld's Unix socket connects; its JSON result comes back
over a pipe."""
import json
import os


def as_user(gid, fn):
    """fn's JSON-able result, run in a child as uid 65534 in group gid; None if it gave none."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(65534)
            out = fn()
        except Exception as e:  # noqa: BLE001
            out = f"raised {e!r}"
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data) if data else None
