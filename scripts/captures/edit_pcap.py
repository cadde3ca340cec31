#!/usr/bin/env python3
"""Derive test captures from a real one (classic pcap, Ethernet).

usage: edit_pcap.py MODE IN OUT

MODE
  reorder-dup       The first ClientHello must span >= 3 TCP segments S1 S2 S3...
                    Output order: S1, S3, S3 (exact duplicate), S2, rest: the
                    last segment arrives before the middle one, and twice while
                    the gap is still open. The server's ACKs between the
                    segments are dropped (they would acknowledge missing data).
  overlap-conflict  Same input. After S1 and S2, a retransmission covering the
                    end of S1 and the start of S2 arrives carrying different
                    bytes (the first cipher suite replaced by 0x0005); then S3.
                    A first-copy-wins reassembler yields the original ClientHello.
  vlan              Every frame gets an 802.1Q tag (VLAN 77, PCP 0).
  qinq              Every frame gets an 802.1ad S-tag (VLAN 100) and an 802.1Q
                    C-tag (VLAN 77).

Frames are copied byte for byte; only the new overlapping segment is built
(with scapy, checksums computed). Timestamps keep the original packet slots.
"""
import struct
import sys

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

PCAP_MAGIC_LE = 0xA1B2C3D4


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != PCAP_MAGIC_LE:
        raise SystemExit(f"{path}: not a little-endian microsecond pcap")
    header = data[:24]
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, want Ethernet")
    records = []
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        records.append([sec, usec, frame, orig])
        off += 16 + incl
    return header, records


def write_pcap(path, header, records):
    with open(path, "wb") as f:
        f.write(header)
        for sec, usec, frame, orig in records:
            # orig grows with the frame when a tag was added
            f.write(struct.pack("<IIII", sec, usec, len(frame), max(orig, len(frame))))
            f.write(frame)


def ts(rec):
    return rec[0] * 1_000_000 + rec[1]


def set_ts(rec, micros):
    rec[0], rec[1] = divmod(micros, 1_000_000)


def tcp_of(frame):
    pkt = Ether(frame)
    ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
    tcp = pkt.getlayer(TCP)
    return pkt, ip, tcp


def client_hello_segments(records):
    """Indices of the client's data segments up to the first server payload,
    assuming the server listens on a port below the client's."""
    segs = []
    for i, (_, _, frame, _) in enumerate(records):
        _, ip, tcp = tcp_of(frame)
        if tcp is None:
            continue
        plen = len(bytes(tcp.payload))
        if plen == 0:
            continue
        if tcp.dport < tcp.sport:  # client -> server
            segs.append(i)
        else:
            break
    return segs


def reorder_dup(records):
    segs = client_hello_segments(records)
    if len(segs) < 3:
        raise SystemExit(f"ClientHello spans {len(segs)} segments, need >= 3")
    s1, s2, s3 = segs[0], segs[1], segs[2]
    slots = sorted([s1, s2, s3])
    times = [ts(records[i]) for i in slots]
    frames = {i: records[i][:] for i in (s1, s2, s3)}
    order = [frames[s1], frames[s3], frames[s3][:], frames[s2]]
    # four packets spread evenly between the first slot and the next packet,
    # so that time never goes backwards
    t_end = ts(records[slots[2] + 1]) if slots[2] + 1 < len(records) else times[2] + 40
    step = max(1, (t_end - times[0]) // 4)
    new_times = [times[0] + k * step for k in range(4)]
    for rec, t in zip(order, new_times):
        set_ts(rec, t)
    # The server's pure ACKs between the segments would acknowledge data the
    # reordered stream has not delivered yet: leave them out (as if lost).
    for i in range(slots[0], slots[2] + 1):
        if i in slots:
            continue
        _, _, tcp = tcp_of(records[i][2])
        if tcp is None or len(bytes(tcp.payload)) != 0:
            raise SystemExit(f"packet {i + 1} between the segments is not a pure ACK")
    return records[:slots[0]] + order + records[slots[2] + 1:]


def overlap_conflict(records):
    segs = client_hello_segments(records)
    if len(segs) < 3:
        raise SystemExit(f"ClientHello spans {len(segs)} segments, need >= 3")
    s1, s2 = segs[0], segs[1]
    p1, ip1, t1 = tcp_of(records[s1][2])
    _, _, t2 = tcp_of(records[s2][2])
    d1 = bytes(t1.payload)
    d2 = bytes(t2.payload)
    stream = bytearray(d1 + d2)
    # TLS record (5) + handshake header (4) + version (2) + random (32)
    sid_len = stream[43]
    ciphers = 43 + 1 + sid_len + 2
    stream[ciphers:ciphers + 2] = b"\x00\x05"
    start = ciphers - 8
    end = len(d1) + min(40, len(d2))
    if not start < len(d1) < end:
        raise SystemExit("overlap would not span S1 and S2")
    pkt = p1.copy()
    tcp = pkt[TCP]
    tcp.seq = t1.seq + start
    tcp.remove_payload()
    tcp.add_payload(Raw(bytes(stream[start:end])))
    del tcp.chksum
    ip = pkt.getlayer(IP)
    if ip is not None:
        del ip.len
        del ip.chksum
        ip.id = (ip.id + 7) & 0xFFFF
    else:
        del pkt[IPv6].plen
    frame = bytes(pkt)
    t_next = ts(records[s2 + 1]) if s2 + 1 < len(records) else ts(records[s2]) + 100
    t = ts(records[s2]) + max(1, (t_next - ts(records[s2])) // 2)
    rec = [0, 0, frame, len(frame)]
    set_ts(rec, t)
    return records[:s2 + 1] + [rec] + records[s2 + 1:]


def tag(records, tags):
    out = []
    for sec, usec, frame, orig in records:
        insert = b""
        for tpid, vid in tags:
            insert += struct.pack("!HH", tpid, vid & 0x0FFF)
        new = frame[:12] + insert + frame[12:]
        out.append([sec, usec, new, orig + len(insert)])
    return out


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    mode, src, dst = sys.argv[1:]
    header, records = read_pcap(src)
    if mode == "reorder-dup":
        records = reorder_dup(records)
    elif mode == "overlap-conflict":
        records = overlap_conflict(records)
    elif mode == "vlan":
        records = tag(records, [(0x8100, 77)])
    elif mode == "qinq":
        records = tag(records, [(0x88A8, 100), (0x8100, 77)])
    else:
        raise SystemExit(f"unknown mode {mode}")
    write_pcap(dst, header, records)


if __name__ == "__main__":
    main()
