"""test_keeld_privsep - keeld's two processes (started by test-keeld-privsep.sh): the
client-facing one runs without root, without capabilities, with no_new_privs, under seccomp
and in its own mount and network namespaces (read from /proc); the privileged part is root.
Then the client-facing process makes a system call its filter forbids (execve, on SIGUSR2 from
the test-only preload): it dies of SIGSYS, the privileged part says so in its log and starts a
new, equally confined one, which serves a new client; a domain created before runs on. Then
it sends a malformed request frame (SIGUSR1, the same preload): the privileged part refuses it,
kills the sender and starts another. TAP."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keelrpc  # noqa: E402

RUNDIR = os.environ["KEEL_RUNDIR"]
KD = os.path.join(RUNDIR, "keeld")
SOCK = os.path.join(KD, "socket")
n = 0
failed = 0


def ok(cond, what):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}", flush=True)


def pid_of(name):
    with open(os.path.join(KD, name)) as f:
        return int(f.read())


def status(pid):
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.split()
    return st


def wait_for(pred, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    return None


def confined(pid, tag):
    st = status(pid)
    ok(all(int(u) != 0 for u in st["Uid"]) and all(int(g) != 0 for g in st["Gid"]),
       f"{tag}: no uid or gid of it is root (Uid {' '.join(st['Uid'])}, Gid {' '.join(st['Gid'])})")
    ok(st.get("Groups", []) == [], f"{tag}: no supplementary groups")
    ok(all(int(st[k][0], 16) == 0 for k in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb")),
       f"{tag}: CapEff, CapPrm, CapInh, CapBnd and CapAmb all zero")
    ok(st["Seccomp"] == ["2"], f"{tag}: Seccomp: 2 (a filter)")
    ok(st["NoNewPrivs"] == ["1"], f"{tag}: NoNewPrivs: 1")
    keeld = pid_of("keeld.pid")
    for ns in ("mnt", "net"):
        ok(os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/{keeld}/ns/{ns}"),
           f"{tag}: its own {ns} namespace")
    ok(os.listdir(f"/proc/{pid}/root/") == [], f"{tag}: its root directory is empty")


def log():
    with open(os.path.join(KD, "keeld.log")) as f:
        return f.read()


def main():
    keeld = pid_of("keeld.pid")
    front = pid_of("front.pid")
    ok(front != keeld and status(front)["PPid"] == [str(keeld)],
       "the client-facing process is a child of keeld")
    ok(status(keeld)["Uid"][1] == "0", "the privileged part runs as root (liblight's core connection)")
    confined(front, "client-facing process")

    c = keelrpc.Client.unix(SOCK)
    ok(isinstance(c.call("domain.list"), list), "a client is served through both processes")
    t = c.call("domain.create", config='name = "ps1"\nkernel = "counter"\nmemory = 16\n')
    domid = c.wait_task(t["task"])["domid"]
    ok(domid > 0, f"a domain is created through keeld (domid {domid})")

    os.kill(front, signal.SIGUSR2)           # the preload's handler calls execve
    ok(wait_for(lambda: "killed by SIGSYS" in log()) is not None,
       "the forbidden execve kills it with SIGSYS and keeld logs that")
    ok(not os.path.exists(f"/proc/{front}"), "the old client-facing process is gone")
    try:
        c.call("host.ping")
        closed = False
    except (OSError, keelrpc.RpcError, ValueError):
        closed = True
    ok(closed, "the connection it served is closed")
    new = wait_for(lambda: os.path.exists(os.path.join(KD, "front.pid")) and
                   pid_of("front.pid") != front and pid_of("front.pid"))
    ok(new is not None, f"keeld started a new client-facing process ({new})")
    ok(pid_of("keeld.pid") == keeld and os.path.exists(f"/proc/{keeld}"),
       "the privileged part runs on")
    if new:
        confined(new, "the new one")
    c2 = keelrpc.Client.unix(SOCK)
    info = c2.call("domain.info", domain="ps1")
    ok(info["domid"] == domid and info["state"] in ("running", "blocked"),
       "a new client is served, and the domain created before runs on")
    c2.close()

    os.kill(new, signal.SIGUSR1)             # the preload writes a malformed request frame
    ok(wait_for(lambda: f"client-facing process {new}: a malformed request" in log() and
                f"client-facing process {new} sent a malformed request: killing it" in log())
       is not None, "a malformed frame from the client-facing process: keeld refuses it and "
       "kills the sender")
    third = wait_for(lambda: os.path.exists(os.path.join(KD, "front.pid")) and
                     pid_of("front.pid") not in (front, new) and pid_of("front.pid"))
    ok(third is not None and not os.path.exists(f"/proc/{new}"),
       f"and starts another ({third})")
    c3 = keelrpc.Client.unix(SOCK)
    c3.call("domain.destroy", domain="ps1")
    ok("ps1" not in [d["name"] for d in c3.call("domain.list")], "which serves: the domain is "
       "destroyed")
    c3.close()
    new = third

    os.kill(keeld, signal.SIGTERM)
    ok(wait_for(lambda: not os.path.exists(f"/proc/{keeld}")) is not None and
       (new is None or not os.path.exists(f"/proc/{new}")), "SIGTERM stops both processes")
    text = log()
    ok("ERROR: AddressSanitizer" not in text and "runtime error:" not in text,
       "no sanitizer report in keeld's log")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
