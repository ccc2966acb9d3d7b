#!/usr/bin/env python3
"""netwatch.py - dom0-side observers for the PV network tests (test-xl-net-*.sh), standard
library only, run as root inside the test's network namespaces:

  sniff IFNAME OUT STOPFILE [MAXSECS]
      AF_PACKET capture on IFNAME (frames received, not sent) until STOPFILE exists or MAXSECS
      (default 30) pass; touches OUT.ready once bound, then one line per ARP or IPv4/UDP frame:
        arp OP SRCMAC SENDER-IP TARGET-IP
        udp SRCMAC SRC-IP DST-PORT TEXT      (TEXT: the first 40 payload bytes, printable)
  rate IFNAME SECS BYTES INTERVAL_US
      samples IFNAME's rx_bytes counter (what a tap received from its guest) every ~1 ms for
      SECS seconds while a guest floods at a credit of BYTES per INTERVAL_US; the credit arrives
      in bursts, so the rate is taken between the starts of the second and the last burst seen
      (whole intervals, no window edge cut through a burst). Prints
        rate BYTES_PER_S ratio R bursts N span_ms MS
      and exits 1 when fewer than 5 bursts were seen.
  ping ADDR OUT STOPFILE [MAXSECS]
      ICMP echo requests to ADDR every 20 ms over a raw socket until STOPFILE exists; one line
      per reply: "reply SEQ MONOTONIC_TIME"; OUT.ready once the socket is open.
"""
import os
import socket
import struct
import sys
import time


def sniff(ifname, out, stop, maxsecs=30.0):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    s.settimeout(0.05)
    end = time.monotonic() + maxsecs
    with open(out, "w") as f:
        open(out + ".ready", "w").close()
        while not os.path.exists(stop) and time.monotonic() < end:
            try:
                pkt, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 14:
                continue
            smac = ":".join("%02x" % b for b in pkt[6:12])
            etype = pkt[12:14]
            if etype == b"\x08\x06" and len(pkt) >= 42:
                op = struct.unpack("!H", pkt[20:22])[0]
                f.write("arp %d %s %s %s\n" % (op, smac, socket.inet_ntoa(pkt[28:32]),
                                               socket.inet_ntoa(pkt[38:42])))
            elif etype == b"\x08\x00" and len(pkt) >= 34 and pkt[23] == 17:
                ihl = (pkt[14] & 15) * 4
                if len(pkt) < 14 + ihl + 8:
                    continue
                dport = struct.unpack("!H", pkt[14 + ihl + 2:14 + ihl + 4])[0]
                data = pkt[14 + ihl + 8:14 + ihl + 48]
                text = "".join(chr(c) if 32 < c < 127 else "." for c in data)
                f.write("udp %s %s %d %s\n" % (smac, socket.inet_ntoa(pkt[26:30]), dport, text))
            f.flush()


def rate(ifname, secs, credit, interval_us):
    path = "/sys/class/net/%s/statistics/rx_bytes" % ifname
    samples = []
    end = time.monotonic() + secs
    last = None
    while time.monotonic() < end:
        with open(path) as f:
            v = int(f.read())
        t = time.monotonic()
        if v != last:
            samples.append((t, v, last))
            last = v
        time.sleep(0.0005)
    # a burst starts with a change after a quiet gap of at least a third of the interval
    gap = interval_us / 3e6
    starts = [(t, before) for i, (t, v, before) in enumerate(samples)
              if i > 0 and t - samples[i - 1][0] >= gap]
    if len(starts) < 5:
        print("rate 0 ratio 0 bursts %d span_ms 0" % len(starts))
        return 1
    (t0, b0), (t1, b1) = starts[1], starts[-1]
    r = (b1 - b0) / (t1 - t0)
    want = credit * 1e6 / interval_us
    print("rate %d ratio %.3f bursts %d span_ms %d" % (r, r / want, len(starts) - 1,
                                                        (t1 - t0) * 1000))
    return 0


def csum(b):
    b += b"\0" * (len(b) & 1)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def ping(addr, out, stop, maxsecs=30.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.02)
    ident, seq = os.getpid() & 0xffff, 0
    end = time.monotonic() + maxsecs
    nxt = 0.0
    with open(out, "w") as f:
        open(out + ".ready", "w").close()
        while not os.path.exists(stop) and time.monotonic() < end:
            now = time.monotonic()
            if now >= nxt:
                body = b"keel-netwatch-%d" % seq
                hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xffff)
                pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq & 0xffff) + body
                try:
                    s.sendto(pkt, (addr, 0))
                except OSError:
                    pass                   # no neighbour yet: the next one
                seq += 1
                nxt = now + 0.02
            try:
                pkt, src = s.recvfrom(2048)
            except socket.timeout:
                continue
            ihl = (pkt[0] & 15) * 4
            if len(pkt) < ihl + 8 or src[0] != addr:
                continue
            t, _, _, i, q = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
            if t == 0 and i == ident:
                f.write("reply %d %.6f\n" % (q, time.monotonic()))
                f.flush()


def main(argv):
    if len(argv) >= 4 and argv[0] == "sniff":
        return sniff(argv[1], argv[2], argv[3], float(argv[4]) if len(argv) > 4 else 30.0)
    if len(argv) == 5 and argv[0] == "rate":
        return rate(argv[1], float(argv[2]), int(argv[3]), int(argv[4]))
    if len(argv) >= 4 and argv[0] == "ping":
        return ping(argv[1], argv[2], argv[3], float(argv[4]) if len(argv) > 4 else 30.0)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
