#!/usr/bin/env python3
"""diskpattern.py SIZE_MIB SEED OUTFILE - write the diskcheck guest's data pattern (the device
contract's: 4096-byte block b holds 512 little-endian u64 words, word i = splitmix64 of
(b*512+i) ^ seed*0x9E3779B97F4A7C15) for the first SIZE_MIB MiB into OUTFILE, so a test can
`cmp -n` a raw image or `qemu-img compare` a qcow2 against what the guest wrote. Python 3
standard library only."""
import struct
import sys

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def block_bytes(seed, block):
    """The 4096 bytes of block `block` for `seed`."""
    base = (seed * GOLDEN) & M64
    words = []
    x0 = block * 512
    for i in range(512):
        z = (((x0 + i) ^ base) + GOLDEN) & M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        words.append(z ^ (z >> 31))
    return struct.pack("<512Q", *words)


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: diskpattern.py SIZE_MIB SEED OUTFILE\n")
        return 2
    try:
        size_mib, seed = int(argv[1]), int(argv[2])
    except ValueError:
        sys.stderr.write("diskpattern.py: SIZE_MIB and SEED are decimal numbers\n")
        return 2
    if size_mib < 0 or seed < 0 or seed > M64:
        sys.stderr.write("diskpattern.py: SIZE_MIB >= 0 and 0 <= SEED < 2^64\n")
        return 2
    with open(argv[3], "wb") as out:
        for block in range(size_mib * 256):
            out.write(block_bytes(seed, block))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
