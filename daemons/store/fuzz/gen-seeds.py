#!/usr/bin/env python3
# gen-seeds.py - writes the seed corpus of fuzz-proto (corpus/*): one domain byte, then
# xenstore requests (16-byte little-endian header + payload). Run from this directory.
import struct, os

def msg(t, payload, tx=0, rid=1):
    return struct.pack('<IIII', t, rid, tx, len(payload)) + payload

R, W, D, GP, WA, UW, TS, TE, INT, REL, GDP, MK, RM, SP, ISI, DP, CTL, RST = \
    2, 11, 1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 17, 22, 0, 20
seeds = {
    'basic': b'\0' + msg(W, b'/a/b\0hello') + msg(R, b'/a/b\0') + msg(D, b'/a\0') + msg(RM, b'/a\0'),
    'perms': b'\0' + msg(W, b'/p\0v') + msg(SP, b'/p\0n0\0r5\0w6\0') + msg(GP, b'/p\0') + msg(RST, b'5\0') + msg(R, b'/p\0'),
    'guest': b'\x05' + msg(W, b'data/x\0v') + msg(MK, b'data/y\0') + msg(R, b'/local/domain/0/name\0'),
    'watch': b'\0' + msg(WA, b'/w\0tok\0') + msg(W, b'/w/x\0') + msg(UW, b'/w\0tok\0') + msg(WA, b'@introduceDomain\0i\0'),
    'txn': b'\0' + msg(TS, b'\0') + msg(W, b'/t\0in', tx=1) + msg(W, b'/t\0out') + msg(TE, b'T\0', tx=1),
    'txn-ok': b'\0' + msg(TS, b'\0') + msg(R, b'/local/domain/0/name\0', tx=1) + msg(TE, b'T\0', tx=1),
    'domain': b'\0' + msg(INT, b'7\0' b'123\0' b'4\0') + msg(ISI, b'7\0') + msg(GDP, b'7\0') + msg(REL, b'7\0'),
    'dirpart': b'\0' + msg(DP, b'/local/domain\0' b'0\0') + msg(DP, b'/\0' b'5\0'),
    'control': b'\0' + msg(CTL, b'quota\0nodes\0' b'3\0') + msg(CTL, b'help\0') + msg(CTL, b'check\0'),
    'malformed': b'\0' + msg(R, b'/a') + msg(99, b'x\0') + msg(W, b'/a//b\0v') + msg(15, b'/\0t\0'),
    'oversize': b'\0' + struct.pack('<IIII', 2, 1, 0, 5000),
    'partial': b'\0' + msg(R, b'/tool/xenstored\0')[:10],
}
os.makedirs('corpus', exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join('corpus', name), 'wb') as f:
        f.write(data)
