#!/usr/bin/env python3
"""gen-seeds.py - writes the seed corpora of keel-vtpmd's fuzz targets (run by hand; the seeds
are committed): corpus-req/ (shared page + one extra page: well-formed commands and the lies
tpmevil sends) and corpus-state/ (sealed state files under fuzz-state.c's fixed key and uuid,
made with the cryptography module's AES-GCM, and exported-state blobs)."""
import os, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

here = os.path.dirname(os.path.abspath(__file__))
KEY = b"keel-vtpm-fuzz-key-0123456789ab\0"
UUID = b"0b6f2e0c-4a43-4c5e-9a1e-5c1f6c1f3a11"

def page(length, loc, nr, cmd, refs=()):
    p = bytearray(8192)
    struct.pack_into("<IBBBB", p, 0, length, 1, loc, 0, nr)
    for i, r in enumerate(refs):
        struct.pack_into("<I", p, 8 + 4 * i, r)
    off = 8 + 4 * nr
    p[off:off + len(cmd)] = cmd
    return bytes(p[:off + len(cmd)])

def tpmcmd(tag, size, cc, body=b""):
    return struct.pack(">HII", tag, size, cc) + body

def seal(pt, ver=1):
    nonce = bytes(range(12))
    hdr = b"KVTPMST1" + struct.pack("<I", ver) + UUID + nonce + struct.pack("<I", len(pt))
    return hdr + AESGCM(KEY).encrypt(nonce, pt, hdr)

def blob(perm, vol):
    return b"KEELVTPM" + struct.pack("<II", 1, 0) + UUID + struct.pack("<II", len(perm), len(vol)) + perm + vol

def write(d, name, data):
    os.makedirs(os.path.join(here, d), exist_ok=True)
    open(os.path.join(here, d, name), "wb").write(data)

gr = tpmcmd(0x8001, 12, 0x17b, b"\0\x10")
write("corpus-req", "getrandom", page(12, 0, 0, gr))
write("corpus-req", "startup", page(12, 0, 0, tpmcmd(0x8001, 12, 0x144, b"\0\0")))
big = tpmcmd(0x8002, 4000, 0x182, bytes(3990))
write("corpus-req", "extra-page", page(4000, 2, 1, big, (5,)))
write("corpus-req", "size-lies", page(12, 0, 0, tpmcmd(0x8001, 200, 0x17b, b"\0\x10")))
write("corpus-req", "length-huge", page(0xffffffff, 0, 0, gr))
write("corpus-req", "extra-200", page(12, 0, 200, gr))
write("corpus-req", "locality-7", page(12, 7, 0, gr))
write("corpus-req", "garbage", bytes((i * 37 + 11) & 255 for i in range(64)))
write("corpus-state", "sealed-small", seal(b"permanent state" * 10))
write("corpus-state", "sealed-empty", seal(b""))
write("corpus-state", "sealed-v2", seal(b"x" * 100, ver=2))
write("corpus-state", "blob", blob(b"p" * 300, b"v" * 50))
write("corpus-state", "blob-novol", blob(b"p" * 30, b""))
write("corpus-state", "short", b"KVTPMST1")
