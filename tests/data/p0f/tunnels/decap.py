#!/usr/bin/python3
"""Decapsulates the corpus' tunnel captures (GRE with ERSPAN, VXLAN,
Geneve) to their innermost IP packets in a raw-IP pcap, so that p0f 3.09b,
which reads no tunnels, can give the expected values (see expected.sh).
The walk follows the protocol headers byte by byte, independently of
decnet-sniffer's decoder; the tests read the original tunnel captures.

    /usr/bin/python3 decap.py CORPUS/foxio/pcap   # writes NAME.decap.pcap
"""
import struct
import sys

NAMES = ["gre-erspan-vxlan.pcap", "gre-sample.pcap", "tcpdump-geneve.pcap"]


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(end + "I", data[20:24])[0]
    at = 24
    while at + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack(end + "IIII", data[at:at + 16])
        yield linktype, sec, usec, data[at + 16:at + 16 + incl]
        at += 16 + incl


def ether(b):
    et, at = struct.unpack(">H", b[12:14])[0], 14
    while et in (0x8100, 0x88a8):
        et, at = struct.unpack(">H", b[at + 2:at + 4])[0], at + 4
    return ip(b[at:]) if et in (0x0800, 0x86dd) else None


def ip(b):
    """The innermost IP packet inside IP packet b."""
    if b[0] >> 4 == 4:
        hl, proto, payload = (b[0] & 15) * 4, b[9], b[(b[0] & 15) * 4:]
    else:
        hl, proto, payload = 40, b[6], b[40:]
    if proto == 47:
        flags, ptype = struct.unpack(">HH", payload[:4])
        at = 4 + 4 * sum(1 for bit in (0x8000, 0x2000, 0x1000) if flags & bit)
        inner = payload[at:]
        if ptype in (0x0800, 0x86dd):
            return ip(inner)
        if ptype == 0x6558:
            return ether(inner)
        if ptype == 0x88be:                    # ERSPAN type II
            return ether(inner[8:])
        if ptype == 0x22eb:                    # ERSPAN type III
            return ether(inner[12 + (8 if inner[11] & 1 else 0):])
        return b
    if proto == 17:
        sport, dport = struct.unpack(">HH", payload[:4])
        body = payload[8:]
        if {sport, dport} & {4789, 4790, 8472} and body[0] & 0x08:
            return ether(body[8:])              # VXLAN
        if 6081 in (sport, dport):
            optlen = (body[0] & 0x3f) * 4       # Geneve
            if struct.unpack(">H", body[2:4])[0] == 0x6558:
                return ether(body[8 + optlen:])
            return ip(body[8 + optlen:])
    if proto in (4, 41):
        return ip(payload)
    return b


for name in NAMES:
    with open(name.replace(".pcap", ".decap.pcap"), "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        n = 0
        for linktype, sec, usec, frame in read_pcap(f"{sys.argv[1]}/{name}"):
            inner = ether(frame) if linktype == 1 else ip(frame)
            if inner:
                out.write(struct.pack("<IIII", sec, usec, len(inner), len(inner)) + inner)
                n += 1
    print(name, n, "packets")
