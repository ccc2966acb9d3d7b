#!/usr/bin/env python3
"""gen-seeds.py - write the seed corpus of fuzz-parse: a ring entry (112 bytes), 8 bytes of
geometry (size 3 bytes, size multiplier flag, max indirect segments u16 BE, discard granularity,
flags: bit 0 read-only, bit 1 discard) and indirect segment bytes."""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
os.makedirs(out, exist_ok=True)


def seg(gref, first, last):
    return struct.pack("<IBBH", gref, first, last, 0)


def rw(op, nseg, sector, segs=None):
    segs = segs or [seg(100 + i, 0, 7) for i in range(nseg)]
    body = b"".join(segs).ljust(11 * 8, b"\0")
    return struct.pack("<BBHIQQ", op, nseg, 0, 0, 0x1234, sector) + body


def geom(size=2048, big=0, maxind=1024, gran=8, flags=2):
    return bytes([(size >> 16) & 255, (size >> 8) & 255, size & 255, 0x80 if big else 0,
                  maxind >> 8, maxind & 255, gran, flags])


def discard(sector, n, flag=0):
    return struct.pack("<BBHIQQQ", 5, flag, 0, 0, 7, sector, n).ljust(112, b"\0")


def indirect(op, nseg, sector, grefs):
    g = list(grefs) + [0] * (8 - len(grefs))
    return struct.pack("<BBHIQQHH8II", 6, op, nseg, 0, 9, sector, 0, 0, *g, 0).ljust(112, b"\0")


seeds = {
    "read-11": rw(0, 11, 0) + geom(),
    "write-last": rw(1, 1, 2047, [seg(5, 3, 3)]) + geom(),
    "write-past-end": rw(1, 1, 2047, [seg(5, 3, 4)]) + geom(),
    "flush-empty": rw(3, 0, 0) + geom(),
    "barrier-data": rw(2, 2, 8) + geom(),
    "write-ro": rw(1, 1, 0) + geom(flags=1),
    "bad-sect": rw(0, 1, 0, [seg(1, 6, 2)]) + geom(),
    "unknown-op": rw(9, 1, 0) + geom(),
    "discard": discard(8, 16) + geom(),
    "discard-misaligned": discard(4, 16) + geom(),
    "discard-secure": discard(8, 8, 1) + geom(),
    "indirect-600": indirect(1, 600, 0, [11, 12]) + geom() + b"".join(seg(i, 0, 1) for i in range(600)),
    "indirect-short": indirect(0, 600, 0, [11, 12]) + geom() + b"".join(seg(i, 0, 7) for i in range(20)),
    "indirect-big-disk": indirect(0, 4096, 0, list(range(8))) + geom(size=0xffffff, big=1, maxind=4096)
    + b"".join(seg(i, 0, 7) for i in range(4096)),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
