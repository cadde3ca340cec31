#!/usr/bin/env python3
"""Derive DTLS test captures from a real fragmented-ClientHello capture.

usage: dtls_variants.py IN.pcap OUTDIR

IN must hold one OpenSSL DTLS handshake whose ClientHellos (message_seq 0,
then 1 after the HelloVerifyRequest) each come in >= 3 fragments, one
fragment per datagram. Written to OUTDIR:

  dtls-reordered-dup.pcap   each ClientHello's datagrams as F3, F1, F3
                            (exact duplicate), F2.
  dtls-overlap.pcap         each ClientHello re-cut into overlapping pieces
                            [0,150) [20,140)* [100,300) [250,end), one per
                            datagram; * carries every byte inverted: it only
                            overlaps bytes already received, so a
                            first-copy-wins reassembler ignores it.
  dtls-one-datagram.pcap    each ClientHello in a single datagram: seq 0 as
                            record A = fragments [0,100) [100,200), record B
                            = [200,end); seq 1 as three records in reverse
                            order [300,end) [150,300) [0,150).
  dtls-missing.pcap         the client's datagrams without each ClientHello's
                            second fragment, the HelloVerifyRequest, then a
                            copy of it 30 s later (packet time moves on).
  dtls-huge-length.pcap     a first fragment from another client port whose
                            handshake length says 0xffffff, then IN unchanged.
  dtls-many-half.pcap       300 clients (ports 20000..20299), each sending
                            only the first fragment of ClientHello seq 0,
                            1 ms apart.

Frames of IN are copied unchanged; new datagrams reuse the Ethernet/IP/UDP
headers of the client's first fragment with lengths and checksums
recomputed by scapy. Timestamps never go backwards.
"""
import struct
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw
from scapy.utils import rdpcap, wrpcap

DTLS_RECORD_VERSION = 0xFEFF


def records(payload):
    """(content_type, version, epoch, seqnum, body) of each DTLS record."""
    out, off = [], 0
    while off + 13 <= len(payload):
        ctype, version, epoch = struct.unpack(">BHH", payload[off:off + 5])
        seqnum = int.from_bytes(payload[off + 5:off + 11], "big")
        (length,) = struct.unpack(">H", payload[off + 11:off + 13])
        out.append((ctype, version, epoch, seqnum, payload[off + 13:off + 13 + length]))
        off += 13 + length
    return out


def hello_fragment(pkt):
    """(message_seq, length, offset, bytes, record seqnum) when the datagram
    is one record holding one ClientHello fragment, else None."""
    if UDP not in pkt:
        return None
    recs = records(bytes(pkt[UDP].payload))
    if len(recs) != 1 or recs[0][0] != 22 or recs[0][2] != 0:
        return None
    body = recs[0][4]
    if len(body) < 12 or body[0] != 1:
        return None
    length = int.from_bytes(body[1:4], "big")
    seq = int.from_bytes(body[4:6], "big")
    off = int.from_bytes(body[6:9], "big")
    flen = int.from_bytes(body[9:12], "big")
    return seq, length, off, body[12:12 + flen], recs[0][3]


def fragment(seq, length, off, data):
    return (bytes([1]) + length.to_bytes(3, "big") + seq.to_bytes(2, "big")
            + off.to_bytes(3, "big") + len(data).to_bytes(3, "big") + data)


def record(seqnum, body):
    return (struct.pack(">BHH", 22, DTLS_RECORD_VERSION, 0) + seqnum.to_bytes(6, "big")
            + struct.pack(">H", len(body)) + body)


def datagram(template, payload, ts, sport=None):
    """A copy of `template` carrying `payload`, lengths and checksums redone."""
    p = template.copy()
    ip = p[IP] if IP in p else p[IPv6]
    if IP in p:
        del ip.len
        del ip.chksum
    else:
        del ip.plen
    udp = p[UDP]
    udp.remove_payload()
    if sport is not None:
        udp.sport = sport
    del udp.len
    del udp.chksum
    udp.add_payload(Raw(payload))
    p = p.__class__(bytes(p))
    p.time = ts
    return p


class Capture:
    def __init__(self, path):
        self.pkts = list(rdpcap(path))
        self.hellos = {}  # message_seq -> {"length", "body", "frames": [index]}
        for i, p in enumerate(self.pkts):
            f = hello_fragment(p)
            if f is None:
                continue
            seq, length, off, data, _ = f
            h = self.hellos.setdefault(seq, {"length": length, "body": bytearray(length),
                                             "frames": [], "seqnums": []})
            h["body"][off:off + len(data)] = data
            h["frames"].append(i)
            h["seqnums"].append(f[4])
        if sorted(self.hellos) != [0, 1] or any(len(h["frames"]) < 3 for h in self.hellos.values()):
            raise SystemExit("want ClientHellos 0 and 1, each in >= 3 fragments")
        self.template = self.pkts[self.hellos[0]["frames"][0]]

    def with_groups(self, make_group):
        """IN with each ClientHello's datagrams replaced by make_group(seq,
        hello, first_ts) (a list of packets) at the place of its first one."""
        out = []
        owner = {i: seq for seq, h in self.hellos.items() for i in h["frames"]}
        for i, p in enumerate(self.pkts):
            seq = owner.get(i)
            if seq is None:
                out.append(p)
            elif i == self.hellos[seq]["frames"][0]:
                out.extend(make_group(seq, self.hellos[seq], p.time))
        return out


def pieces(cap, seq, h, ts, cuts, flip=None):
    """One datagram per (start, end) cut, one fragment each."""
    body, n = bytes(h["body"]), h["length"]
    out = []
    for k, (a, b) in enumerate(cuts):
        b = min(b, n)
        data = body[a:b]
        if flip == k:
            data = bytes(x ^ 0xFF for x in data)
        rec = record(h["seqnums"][0] + k, fragment(seq, n, a, data))
        out.append(datagram(cap.template, rec, ts + k * 0.000001))
    return out


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    cap = Capture(src)

    def reordered(seq, h, ts):
        f = [cap.pkts[i] for i in h["frames"]]
        order = [f[2], f[0], f[2], f[1]] + f[3:]
        times = sorted(p.time for p in f)
        times = times[:1] + times[:1] + times[1:]
        out = []
        for p, t in zip(order, times):
            q = p.copy()
            q.time = t
            out.append(q)
        return out

    wrpcap(f"{outdir}/dtls-reordered-dup.pcap", cap.with_groups(reordered))

    def overlap(seq, h, ts):
        cuts = [(0, 150), (20, 140), (100, 300), (250, h["length"])]
        return pieces(cap, seq, h, ts, cuts, flip=1)

    wrpcap(f"{outdir}/dtls-overlap.pcap", cap.with_groups(overlap))

    def one_datagram(seq, h, ts):
        body, n, s0 = bytes(h["body"]), h["length"], h["seqnums"][0]
        if seq == 0:
            recs = [record(s0, fragment(seq, n, 0, body[:100]) + fragment(seq, n, 100, body[100:200])),
                    record(s0 + 1, fragment(seq, n, 200, body[200:]))]
        else:
            recs = [record(s0 + k, fragment(seq, n, a, body[a:b]))
                    for k, (a, b) in enumerate([(300, n), (150, 300), (0, 150)])]
        return [datagram(cap.template, b"".join(recs), ts)]

    wrpcap(f"{outdir}/dtls-one-datagram.pcap", cap.with_groups(one_datagram))

    # The client's datagrams without each second fragment, the server's
    # HelloVerifyRequest (the first frame from the server), then a late copy.
    dropped = {h["frames"][1] for h in cap.hellos.values()}
    last_hello = max(max(h["frames"]) for h in cap.hellos.values())
    hvr = next(p for p in cap.pkts if UDP in p and p[UDP].sport == cap.template[UDP].dport)
    kept = [p for i, p in enumerate(cap.pkts[:last_hello + 1])
            if i not in dropped and (hello_fragment(p) is not None or p is hvr)]
    late = hvr.copy()
    late.time = kept[-1].time + 30
    wrpcap(f"{outdir}/dtls-missing.pcap", kept + [late])

    h0 = cap.hellos[0]
    first = bytes(cap.pkts[h0["frames"][0]][UDP].payload)
    huge = bytearray(first)
    huge[13 + 1:13 + 4] = (0xFFFFFF).to_bytes(3, "big")
    t0 = cap.pkts[0].time
    pre = datagram(cap.template, bytes(huge), t0, sport=40000)
    wrpcap(f"{outdir}/dtls-huge-length.pcap", [pre] + cap.pkts)

    many = [datagram(cap.template, first, t0 + k * 0.001, sport=20000 + k) for k in range(300)]
    wrpcap(f"{outdir}/dtls-many-half.pcap", many)


if __name__ == "__main__":
    main()
