#!/usr/bin/env python3
"""gen-seeds.py - writes the seed corpus of fuzz-txparse: 4 bytes of limits (available slots,
ring room, max-frame/flags) then 12-byte tx slots (gref, offset, flags, id, size), one file per
case: valid one-slot, multi-slot and GSO packets and the malformed cases of the contract."""
import os
import struct
import sys

MORE, EXTRA = 4, 8


def req(gref, off, flags, rid, size):
    return struct.pack("<IHHHH", gref, off, flags, rid, size)


def gso(typ, mss, flags=0):
    return struct.pack("<BBHBBH", 1, flags, mss, typ, 0, 0) + b"\0" * 4


def seed(slots, room=200, frame=0, gsof=1):
    return bytes([len(slots), room, frame, gsof]) + b"".join(slots)


CASES = {
    "one-slot": seed([req(8, 0, 0, 1, 60)]),
    "three-slots": seed([req(8, 0, MORE, 1, 1000), req(9, 3796, MORE, 2, 300), req(10, 0, 0, 3, 300)]),
    "gso": seed([req(8, 0, EXTRA | MORE, 1, 5000), gso(1, 1448), req(9, 0, 0, 2, 1000)]),
    "incomplete": seed([req(8, 0, MORE, 1, 1000), req(9, 0, MORE, 2, 300)]),
    "ring-full-open": seed([req(8, 0, MORE, 1, 1000), req(9, 0, MORE, 2, 300)], room=0x80),
    "size-zero": seed([req(8, 0, 0, 1, 0)]),
    "cross-page": seed([req(8, 4000, 0, 1, 200)]),
    "first-smaller": seed([req(8, 0, MORE, 1, 100), req(9, 0, 0, 2, 200)]),
    "runt": seed([req(8, 0, 0, 1, 10)]),
    "oversized": seed([req(8, 0, MORE, 1, 3000), req(9, 0, 0, 2, 1000)]),
    "nineteen": seed([req(8, 0, MORE, i, 64 if i else 19 * 64) for i in range(18)] + [req(8, 0, 0, 18, 64)]),
    "bad-extra": seed([req(8, 0, EXTRA, 1, 60), struct.pack("<BB", 77, 0) + b"\0" * 10]),
    "extra-chain": seed([req(8, 0, EXTRA, 1, 60)] + [gso(1, 1448, 1)] * 6),
    "gso-v6-not-negotiated": seed([req(8, 0, EXTRA, 1, 60), gso(2, 1448)], gsof=1),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
