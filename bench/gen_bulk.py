#!/usr/bin/env python3
"""Bulk: --conns HTTP connections to a bench decky moving --bytes of
response body in all as full-size segments (1500-byte IP packets), the
client acknowledging every second segment. Connections are interleaved
round-robin as on a busy link; each opens with a three-way handshake and a
GET and ends with FIN/ACK.

IPv4 checksums are correct; TCP checksums are zero (Suricata: `-k none`).
Deterministic for a given --seed.
"""

import argparse
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapw  # noqa: E402
import state  # noqa: E402

T0_US = 1_767_225_600 * 1_000_000
MSS = 1460
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
LINUX_OPTS = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07"

IP = struct.Struct("!BBHHHBBHII")
TCP = struct.Struct("!HHIIBBHHH")
REC = struct.Struct("<IIII")


def ip_sum(total, ipid, ttl, src, dst):
    s = (0x4500 + total + ipid + 0x4000 + (ttl << 8 | 6)
         + (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Conn:
    def __init__(self, i, rng, server):
        self.client = struct.unpack("!I", bytes([198, 18, 0, i + 1]))[0]
        self.server = server
        self.cport = 40000 + i
        self.cseq = rng.getrandbits(32)
        self.sseq = rng.getrandbits(32)
        self.ipid = [rng.getrandbits(16), rng.getrandbits(16)]

    def frame(self, from_client, flags, payload=b"", opts=b""):
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        sport, dport = (self.cport, 80) if from_client else (80, self.cport)
        seq, ack = (self.cseq, self.sseq) if from_client else (self.sseq, self.cseq)
        side = 0 if from_client else 1
        ipid = self.ipid[side]
        self.ipid[side] = (ipid + 1) & 0xFFFF
        ttl = 64
        total = 40 + len(opts) + len(payload)
        ip = IP.pack(0x45, 0, total, ipid, 0x4000, ttl, 6, ip_sum(total, ipid, ttl, src, dst),
                     src, dst)
        tcp = TCP.pack(sport, dport, seq, ack if flags != SYN else 0,
                       (5 + len(opts) // 4) << 4, flags, 64240, 0, 0)
        n = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if from_client:
            self.cseq = (self.cseq + n) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + n) & 0xFFFFFFFF
        return pcapw.ETH_IPV4 + ip + tcp + opts + payload


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--bytes", type=int, default=1_000_000_000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    body = rng.randbytes(1 << 20)
    server = struct.unpack("!I", state.decky_v4_bytes(0))[0]
    conns = [Conn(i, rng, server) for i in range(a.conns)]
    segs = -(-a.bytes // MSS)
    per_conn = -(-segs // a.conns)
    w = pcapw.PcapWriter(a.out)
    t = [T0_US]

    def put(frame):
        w.write(t[0], frame)
        t[0] += 2  # a 1500-byte frame every ~1.2 us is 10 Gbit/s; 2 us is close

    for c in conns:
        put(c.frame(True, SYN, opts=LINUX_OPTS))
        put(c.frame(False, SYN | ACK, opts=LINUX_OPTS))
        put(c.frame(True, ACK))
        put(c.frame(True, PSH | ACK, b"GET /big.iso HTTP/1.1\r\nHost: bench\r\n"
                                     b"User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"))
    header = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Length: %d\r\n\r\n" % (per_conn * MSS))
    sent = 0
    for k in range(per_conn):
        for c in conns:
            if sent >= segs:
                break
            off = (k * MSS) % (len(body) - MSS)
            payload = body[off:off + MSS]
            if k == 0:
                payload = header + payload[len(header):]
            put(c.frame(False, ACK, payload))
            sent += 1
            if k % 2 == 1:
                put(c.frame(True, ACK))
    for c in conns:
        put(c.frame(False, FIN | ACK))
        put(c.frame(True, FIN | ACK))
        put(c.frame(False, ACK))
    w.close()
    print(f"{a.out}: {w.count} packets, {sent} data segments ({sent * MSS} bytes) "
          f"on {a.conns} connections", file=sys.stderr)


if __name__ == "__main__":
    main()
