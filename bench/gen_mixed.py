#!/usr/bin/env python3
"""Mixed workload: the corpus' TLS/QUIC/SSH/HTTP/DTLS captures repeated with
rewritten addresses until at least --packets packets, so every repetition's
flows are new flows (every client address is unique per repetition) and
every server is one of the bench deckies (state.py).

Deterministic: same corpus and arguments, same bytes. Checksums are not
recomputed (several corpus captures carry offloaded, invalid checksums
anyway); run Suricata with `-k none`.
"""

import argparse
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapw  # noqa: E402
import state  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from testdata import corpus_dir  # noqa: E402

from scapy.all import rdpcap  # noqa: E402

CORPUS = os.path.join(corpus_dir(), "foxio", "pcap")
# Tunnel and DHCP captures are left out: their inner addresses would need
# their own rewriting and they say nothing about the application analyzers.
SKIP = {"dhcp.pcapng", "dhcpv6.pcap", "gre-erspan-vxlan.pcap", "gre-sample.pcap",
        "tcpdump-geneve.pcap"}
MAX_FILE_SPAN_US = 2_000_000
T0_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z


def ip_of_frame(pkt):
    """Raw IP bytes of a captured frame (Ethernet with VLANs, or BSD NULL)."""
    raw = bytes(pkt)
    name = type(pkt).__name__
    if name == "Ether":
        off, et = 14, int.from_bytes(raw[12:14], "big")
        while et in (0x8100, 0x88A8) and len(raw) >= off + 4:
            et = int.from_bytes(raw[off + 2:off + 4], "big")
            off += 4
        if et not in (0x0800, 0x86DD):
            return None
        return raw[off:]
    if name in ("Loopback", "NoPayload") or len(raw) > 4 and raw[4] >> 4 in (4, 6):
        return raw[4:] if len(raw) > 4 and raw[4] >> 4 in (4, 6) else None
    return None


def ports(ip):
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        proto, l4 = ip[9], ihl
    else:
        proto, l4 = ip[6], 40
    if proto not in (6, 17) or len(ip) < l4 + 4:
        return None
    return int.from_bytes(ip[l4:l4 + 2], "big"), int.from_bytes(ip[l4 + 2:l4 + 4], "big")


def addrs(ip):
    if ip[0] >> 4 == 4:
        return ip[12:16], ip[16:20]
    return ip[8:24], ip[24:40]


def load(corpus):
    """[(name, [(rel_us, ip_bytes)], servers)] for every usable capture."""
    files = []
    for name in sorted(os.listdir(corpus)):
        if name in SKIP:
            continue
        pkts = []
        for p in rdpcap(os.path.join(corpus, name)):
            ip = ip_of_frame(p)
            if ip is None or len(ip) < 20 or ip[0] >> 4 not in (4, 6):
                continue
            if ip[0] >> 4 == 6 and len(ip) < 40:
                continue
            pkts.append((int(p.time * 1_000_000), ip))
        if not pkts:
            continue
        # The server of a conversation is the side with the lower port.
        servers = set()
        for _, ip in pkts:
            pp = ports(ip)
            if pp:
                s, d = addrs(ip)
                servers.add(s if pp[0] < pp[1] else d)
        t0 = min(t for t, _ in pkts)
        span = max(t for t, _ in pkts) - t0
        scale = min(1.0, MAX_FILE_SPAN_US / span) if span > 0 else 1.0
        files.append((name, [(int((t - t0) * scale), ip) for t, ip in pkts], servers))
    return files


class Rewriter:
    def __init__(self):
        self.next_client = 0

    def client(self):
        n = self.next_client
        self.next_client += 1
        v4 = bytes([100, 64 + (n >> 16 & 63), n >> 8 & 255, n & 255])
        v6 = bytes.fromhex("fd000100") + bytes(4) + n.to_bytes(8, "big")
        return v4, v6


def rewrite(ip, mapping):
    s, d = addrs(ip)
    b = bytearray(ip)
    if ip[0] >> 4 == 4:
        b[12:16], b[16:20] = mapping[s], mapping[d]
    else:
        b[8:24], b[24:40] = mapping[s], mapping[d]
    return bytes(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--packets", type=int, default=400_000)
    ap.add_argument("--corpus", default=CORPUS)
    a = ap.parse_args()
    files = load(a.corpus)
    per_rep = sum(len(p) for _, p, _ in files)
    reps = -(-a.packets // per_rep)
    w = pcapw.PcapWriter(a.out)
    rw = Rewriter()
    t = T0_US
    for _ in range(reps):
        for _name, pkts, servers in files:
            mapping = {}
            for _, ip in pkts:
                for addr in addrs(ip):
                    if addr in mapping:
                        continue
                    if addr in servers:
                        i = zlib.crc32(addr) % state.N_DECKIES
                        mapping[addr] = (state.decky_v4_bytes(i) if len(addr) == 4
                                         else state.decky_v6_bytes(i))
                    else:
                        v4, v6 = rw.client()
                        mapping[addr] = v4 if len(addr) == 4 else v6
            for rel, ip in pkts:
                eth = pcapw.ETH_IPV4 if ip[0] >> 4 == 4 else pcapw.ETH_IPV6
                w.write(t + rel, eth + rewrite(ip, mapping))
            t += pkts[-1][0] + 1000
    w.close()
    print(f"{a.out}: {w.count} packets, {reps} repetitions of {len(files)} captures "
          f"({per_rep} packets), {rw.next_client} client addresses", file=sys.stderr)


if __name__ == "__main__":
    main()
