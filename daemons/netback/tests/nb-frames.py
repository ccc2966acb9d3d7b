#!/usr/bin/env python3
"""nb-frames.py - dom0 end of keel-netback's integration test, on a tap interface through an
AF_PACKET socket (no tcpdump needed):
  nb-frames.py capture IFACE SECONDS PATTERN [READY [first]] -> prints how many frames the
      interface received whose bytes contain PATTERN, and the highest "seq N" seen after it;
      exit 0 if any (READY: a file created once the socket is bound, for a caller starting it
      in the background; first: stop at the first such frame)
  nb-frames.py send IFACE TEXT [COUNT]        -> sends COUNT broadcast UDP frames carrying TEXT
      out of IFACE (into the tap, so to the guest)
"""
import re
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def capture(iface, seconds, pattern, ready=None, first=False):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    if ready:                   # bound: frames from now on are seen (the caller may go on)
        open(ready, "w").close()
    s.settimeout(0.2)
    end = time.time() + seconds
    count, seq = 0, -1
    pat = pattern.encode()
    while time.time() < end:
        try:
            data, addr = s.recvfrom(70000)
        except socket.timeout:
            continue
        except OSError:
            break               # the interface went away (a vif closed or disabled)
        if addr[2] == PACKET_OUTGOING or pat not in data:
            continue
        count += 1
        m = re.search(rb"seq (\d+)", data)
        if m:
            seq = max(seq, int(m.group(1)))
        if first:
            break               # one is all the caller waits for
    print("frames %d seq %d" % (count, seq))
    return 0 if count else 1


def send(iface, text, count):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    payload = text.encode()
    udp = struct.pack("!HHHH", 7, 7, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton("192.0.2.1"), socket.inet_aton("255.255.255.255"))
    frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp
    for _ in range(count):
        s.send(frame)
        time.sleep(0.02)
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "capture":
        return capture(argv[2], float(argv[3]), argv[4], argv[5] if len(argv) > 5 else None,
                       len(argv) > 6 and argv[6] == "first")
    if len(argv) >= 4 and argv[1] == "send":
        return send(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else 1)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
