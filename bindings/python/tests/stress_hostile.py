"""stress_hostile.py - the hostile-input checks of test_hostile.py for a fixed time with fresh
random seeds, for a sanitizer build (not collected by pytest; run by hand):

    KEEL_BUILDDIR=BUILD KEEL_SRCDIR=. PYTHONPATH=<staged package>:bindings/python/tests \\
        LD_PRELOAD="<libasan> <libubsan>" ASAN_OPTIONS=detect_leaks=0 \\
        /usr/bin/python3 bindings/python/tests/stress_hostile.py SECONDS

Mutated xl.cfg text and JSON (each accepted config must write back equal), random JSON-shaped
dicts, and restores of mutated copies of a real save image on a private host (no domain may be
left). Prints the counts; exits non-zero on the first unexpected outcome."""
import json
import random
import sys
import time

import keel
import kpyhost
from test_hostile import TEXT, mutate, outcome


def random_value(rng, depth=0):
    k = rng.randint(0, 6 if depth < 3 else 3)
    if k == 0:
        return rng.randint(-2**40, 2**40)
    if k == 1:
        return "".join(rng.choice("abc:/,=0x\u00e9 ") for _ in range(rng.randint(0, 12)))
    if k == 2:
        return rng.choice([True, False, None, 1.5])
    if k == 3:
        return rng.choice(["pvh", "destroy", "True", "raw", "xvda", "00:16:3e:00:00:01"])
    if k == 4:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["c_info", "b_info", "name", "type", "uuid", "kernel", "max_vcpus", "target_memkb",
            "max_memkb", "disks", "nics", "vdev", "mac", "on_crash", "avail_vcpus", "x"]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    seed = int(time.time())
    rng = random.Random(seed)
    counts = {"text": 0, "json": 0, "dict": 0, "image": 0}
    js = keel.DomainConfig.from_text(TEXT).to_json()
    host = kpyhost.Host()
    host.start()
    try:
        with keel.Context(host.rundir) as ctx:
            d = ctx.create(keel.DomainConfig.from_text(host.counter_cfg("stress")))
            time.sleep(0.3)
            path = host.rundir + "/img"
            ctx.save(d, path, checkpoint=True)
            data = open(path, "rb").read()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for _ in range(200):
                    outcome(lambda t: keel.DomainConfig.from_text(t, "m.cfg"), mutate(rng, TEXT),
                            lambda c: keel.DomainConfig.from_text(c.to_text()))
                    outcome(keel.DomainConfig.from_json, mutate(rng, js),
                            lambda c: keel.DomainConfig.from_dict(c.to_dict()))
                    try:
                        keel.DomainConfig.from_dict(random_value(rng, 1) if rng.random() < 0.5
                                                    else json.loads(js) | random_value(rng, 2))
                    except (keel.ConfigError, TypeError):
                        pass
                counts["text"] += 200
                counts["json"] += 200
                counts["dict"] += 200
                b = bytearray(data[:rng.randint(0, len(data))] if rng.random() < 0.5 else data)
                for _ in range(rng.randint(1, 4)):
                    if b:
                        b[rng.randrange(min(len(b), 4096))] ^= 1 << rng.randrange(8)
                open(path + ".bad", "wb").write(bytes(b))
                try:
                    new = ctx.restore(path + ".bad", paused=True)
                    ctx.destroy(new)
                except keel.Error:
                    pass
                counts["image"] += 1
                left = [x.domid for x in ctx.list()]
                assert sorted(left) == [0, d], left
    finally:
        host.stop()
    print("seed %d, %.0f s clean: %s" % (seed, seconds, counts))


if __name__ == "__main__":
    main()
