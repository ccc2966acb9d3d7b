"""bench_calls.py - the cost of the keel Python binding: per-call latency of Context.info,
Context.list and DomainConfig.from_text against the same liblight calls made from C by
bench-light-calls, measured in the same run on a private host with one counter domain.
Prints median, p10-p90 and the ratio to the C reference.

    KEEL_BUILDDIR=BUILD KEEL_SRCDIR=. PYTHONPATH=<staged keel package> \\
        /usr/bin/python3 bindings/python/bench/bench_calls.py [SAMPLES [BATCH]]

(run-pytest.sh shows how the package is staged from the build tree; `make -C
BUILD/bindings/python bench` does it all.)"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import keel        # noqa: E402
import kpyhost     # noqa: E402


def measure(fn, samples, batch):
    t = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        t.append((time.perf_counter() - t0) / batch * 1e6)
    t.sort()
    return t[len(t) // 2], t[len(t) // 10], t[len(t) * 9 // 10]


def main():
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    ref_prog = os.path.join(os.environ["KEEL_BUILDDIR"], "bindings", "python", "bench",
                            "bench-light-calls")
    host = kpyhost.Host()
    host.start()
    try:
        with keel.Context(host.rundir) as ctx, tempfile.NamedTemporaryFile("w", suffix=".cfg") as f:
            text = host.counter_cfg("bench", interval=1000)
            f.write(text)
            f.flush()
            domid = ctx.create(keel.DomainConfig.from_text(text))
            ref = {}
            out = subprocess.run([ref_prog, host.rundir, str(domid), f.name, str(samples),
                                  str(batch)], capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                op, med, p10, p90 = line.split()
                ref[op] = (float(med), float(p10), float(p90))
            py = {
                "info": measure(lambda: ctx.info(domid), samples, batch),
                "list": measure(ctx.list, samples, batch),
                "config": measure(lambda: keel.DomainConfig.from_text(text, "bench.cfg"),
                                  samples, batch),
            }
            ctx.destroy(domid)
    finally:
        host.stop()
    print("%-8s %12s %18s %12s %7s" % ("call", "Python (us)", "p10-p90", "C ref (us)", "ratio"))
    for op in ("info", "list", "config"):
        m, lo, hi = py[op]
        print("%-8s %12.2f %8.2f-%-9.2f %12.2f %7.2f" % (op, m, lo, hi, ref[op][0], m / ref[op][0]))
    print("(%d samples of %d calls; C reference p10-p90: %s)" % (samples, batch, ", ".join(
        "%s %.2f-%.2f" % (op, ref[op][1], ref[op][2]) for op in ("info", "list", "config"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
