#!/usr/bin/env python3
# gen-seeds.py - writes the seed corpus of fuzz-proto (corpus-proto/*): one domain byte, then
# xenstore requests (16-byte little-endian header + payload). Run from this directory.
import struct, os

def msg(t, payload, tx=0, rid=1):
    return struct.pack('<IIII', t, rid, tx, len(payload)) + payload

R, W, D, GP, WA, UW, TS, TE, INT, REL, GDP, MK, RM, SP, ISI, DP, CTL, RST, GQ, SQ = \
    2, 11, 1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 17, 22, 0, 20, 25, 26
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
    'feature': b'\0' + msg(INT, b'7\0' b'1\0' b'1\0') + msg(23, b'\0') + msg(24, b'7\0' b'1\0') + msg(23, b'7\0'),
    'quota': b'\0' + msg(INT, b'7\0' b'1\0' b'1\0') + msg(GQ, b'\0') + msg(GQ, b'nodes\0') +
             msg(SQ, b'7\0' b'nodes\0' b'2\0') + msg(GQ, b'7\0' b'nodes\0') + msg(SQ, b'watches\0' b'3\0') +
             msg(RST, b'7\0') + msg(W, b'/local/domain/7/a\0v') + msg(GQ, b'nodes\0'),
    'quota-bad': b'\0' + msg(SQ, b'nodes\0' b'5') + msg(SQ, b'bogus\0' b'1\0') + msg(SQ, b'nodes\0' b'99999999999999999999\0') +
                 msg(SQ, b'x\0' b'nodes\0' b'1\0') + msg(GQ, b'32752\0' b'nodes\0') + msg(GQ, b'8\0' b'nodes\0' b'x\0'),
    'release-watch': b'\0' + msg(WA, b'@releaseDomain/7\0r\0') + msg(WA, b'@releaseDomain\0d\0' b'1\0') +
                     msg(INT, b'7\0' b'1\0' b'1\0') + msg(REL, b'7\0') + msg(UW, b'@releaseDomain/7\0r\0'),
    'special-perms': b'\0' + msg(GP, b'@releaseDomain\0') + msg(SP, b'@releaseDomain\0n0\0r5\0') +
                     msg(SP, b'@introduceDomain\0n5\0') + msg(SP, b'@bogus\0n0\0') + msg(GP, b'@releaseDomain/5\0') +
                     msg(RST, b'5\0') + msg(WA, b'@releaseDomain\0r\0') + msg(GP, b'@releaseDomain\0') +
                     msg(SP, b'@introduceDomain\0n5\0r6\0') + msg(SP, b'@releaseDomain\0n5\0'),
}
os.makedirs('corpus-proto', exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join('corpus-proto', name), 'wb') as f:
        f.write(data)

# corpus-ring/*: ring page images for fuzz-ring: header (req_cons, req_prod, rsp_cons,
# rsp_prod, connection), 1024 request bytes, 1024 response bytes, optional second header.
def ring(reqs, cons=0, rsp=(0, 0), conn=0, second=None):
    req = b''.join(reqs)
    body = struct.pack('<IIIII', cons, cons + len(req), rsp[0], rsp[1], conn)
    buf = bytearray(1024)
    for i, b in enumerate(req):
        buf[(cons + i) % 1024] = b
    data = body + bytes(buf) + bytes(1024)
    if second:
        data += struct.pack('<IIIII', *second)
    return data

rings = {
    'write-read': ring([msg(W, b'data/x\0v'), msg(R, b'data/x\0')]),
    'wrapped': ring([msg(W, b'data/w\0' + b'z' * 600)], cons=900),
    'bad-index': ring([msg(R, b'/\0')], second=(0, 5000, 0, 0, 0)),
    'reconnect': ring([msg(R, b'/\0')], second=(3, 7, 0, 0, 1)),
    'rsp-full': ring([msg(R, b'/local\0')] * 20, rsp=(0, 1024)),
    'oversize': ring([struct.pack('<IIII', 2, 1, 0, 9999)]),
}
os.makedirs('corpus-ring', exist_ok=True)
for name, data in rings.items():
    with open(os.path.join('corpus-ring', name), 'wb') as f:
        f.write(data)
