"""Minimal classic-pcap writer (LINKTYPE_ETHERNET, microsecond stamps).

Packets are written with struct, never as scapy objects, so millions of
records take seconds rather than minutes.
"""

import struct

LINKTYPE_ETHERNET = 1
SRC_MAC = bytes.fromhex("02000000aa01")
DST_MAC = bytes.fromhex("02000000bb01")
ETH_IPV4 = DST_MAC + SRC_MAC + b"\x08\x00"
ETH_IPV6 = DST_MAC + SRC_MAC + b"\x86\xdd"

_REC = struct.Struct("<IIII")


class PcapWriter:
    def __init__(self, path, snaplen=65535):
        self.f = open(path, "wb", buffering=1 << 22)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
        self.count = 0

    def write(self, ts_us, frame):
        """One Ethernet frame at `ts_us` microseconds since the epoch."""
        n = len(frame)
        self.f.write(_REC.pack(ts_us // 1_000_000, ts_us % 1_000_000, n, n))
        self.f.write(frame)
        self.count += 1

    def close(self):
        self.f.close()


def ip_checksum(hdr):
    """RFC 1071 checksum of an IPv4 header whose checksum field is zero."""
    s = 0
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
