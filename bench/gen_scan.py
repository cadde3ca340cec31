#!/usr/bin/env python3
"""Scan storm: SYNs from random sources to the 50 bench deckies, with the
option layouts of real stacks (Linux, Windows, macOS) and of the scanners
the sniffer identifies (nmap, masscan, zmap, hping3), at a steady packet
rate. Every source address is random, so almost every SYN opens a new flow
and a new dedup key: the flow table runs at its cap and evicts.

Frames are packed with struct (scapy objects would take an hour for 5M).
IPv4 header checksums are correct; TCP checksums are left zero (run
Suricata with `-k none`). Deterministic for a given --seed.
"""

import argparse
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapw  # noqa: E402
import state  # noqa: E402

T0_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z

MSS = b"\x02\x04\x05\xb4"
SACKP = b"\x04\x02"
NOP = b"\x01"
EOL = b"\x00"


def ws(n):
    return b"\x03\x03" + bytes([n])


TS = b"\x08\x0a" + b"\x00\x01\x02\x03" + b"\x00\x00\x00\x00"

# name: (weight, options, window, ttl, df, ipid rule)
PROFILES = {
    "linux": (25, MSS + SACKP + TS + NOP + ws(7), 64240, 64, True, "random"),
    "windows": (20, MSS + NOP + ws(8) + NOP + NOP + SACKP, 64240, 128, True, "random"),
    "macos": (10, MSS + NOP + ws(6) + NOP + NOP + TS + SACKP + EOL + EOL, 65535, 64, True,
              "random"),
    "nmap": (15, MSS, 1024, 52, False, "random"),
    "masscan": (15, b"", 1024, 255, False, "masscan"),
    "zmap": (10, MSS, 65535, 255, False, "zmap"),
    "hping3": (5, b"", 512, 64, False, "random"),
}
PORTS = [22, 80, 443, 23, 3389, 8080, 445, 21, 25, 3306, 5900, 8443]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--syns", type=int, default=5_000_000)
    ap.add_argument("--rate", type=int, default=100_000, help="SYNs per second of packet time")
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    names = list(PROFILES)
    weights = [PROFILES[n][0] for n in names]
    picks = rng.choices(range(len(names)), weights=weights, k=a.syns)
    deckies = [struct.unpack("!I", state.decky_v4_bytes(i))[0] for i in range(state.N_DECKIES)]
    w = pcapw.PcapWriter(a.out)
    step_ns = 1_000_000_000 // a.rate
    getrandbits = rng.getrandbits
    eth = pcapw.ETH_IPV4
    rec = struct.Struct("<IIII")
    ip_hdr = struct.Struct("!BBHHHBBHII")
    tcp_hdr = struct.Struct("!HHIIBBHHH")
    prof = [PROFILES[n] for n in names]
    out = bytearray()
    for i in range(a.syns):
        _, opts, window, ttl, df, ipid_rule = prof[picks[i]]
        src = getrandbits(32)
        while (src >> 24) in (0, 10, 127) or (src >> 24) >= 224:
            src = getrandbits(32)
        dst = deckies[getrandbits(16) % len(deckies)]
        dport = PORTS[getrandbits(8) % len(PORTS)]
        sport = 1024 + getrandbits(16) % 64511
        isn = getrandbits(32)
        if ipid_rule == "zmap":
            ipid = 54321
        elif ipid_rule == "masscan":
            ipid = (dst ^ dport ^ isn) & 0xFFFF
        else:
            ipid = getrandbits(16)
        ack = getrandbits(32) if names[picks[i]] == "hping3" else 0
        total = 40 + len(opts)
        frag = 0x4000 if df else 0
        s = (0x4500 + total + ipid + frag + (ttl << 8 | 6)
             + (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF))
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        ip = ip_hdr.pack(0x45, 0, total, ipid, frag, ttl, 6, ~s & 0xFFFF, src, dst)
        tcp = tcp_hdr.pack(sport, dport, isn, ack, (5 + len(opts) // 4) << 4, 0x02, window, 0, 0)
        n = 14 + total
        t = T0_US * 1000 + i * step_ns
        out += rec.pack(t // 1_000_000_000, t // 1000 % 1_000_000, n, n)
        out += eth
        out += ip
        out += tcp
        out += opts
        if len(out) > 1 << 22:
            w.f.write(out)
            out.clear()
    w.f.write(out)
    w.count = a.syns
    w.close()
    print(f"{a.out}: {a.syns} SYNs", file=sys.stderr)


if __name__ == "__main__":
    main()
