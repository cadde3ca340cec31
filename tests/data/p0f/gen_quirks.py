#!/usr/bin/python3
"""Writes quirks.pcap: random SYN / SYN+ACK pairs that exercise every part
of a p0f v3 signature (IP version, TTL, options incl. broken ones, EOL
padding, every quirk, window classes, payload). Expected values come from
running Debian's p0f 3.09b on it:

    /usr/bin/python3 gen_quirks.py && p0f -r quirks.pcap -o full.log &&
    grep -E "mod=(syn|syn\+ack|sendsyn probe|sendsyn response|mtu)\|" full.log > quirks.p0f.log

Deterministic (fixed seed). Each pair uses its own addresses and ports, so
p0f sees one flow per pair.
"""
import random
import struct

rnd = random.Random(0x9f0f)

def opt_mss(v): return bytes([2, 4]) + struct.pack(">H", v)
def opt_ws(v): return bytes([3, 3, v])
SOK = bytes([4, 2])
NOP = bytes([1])
def opt_ts(a, b): return bytes([8, 10]) + struct.pack(">II", a, b)

def templates(mss):
    t1 = rnd.choice([0, 0, 1, rnd.getrandbits(32)])
    t2 = rnd.choice([0, 0, 0, rnd.getrandbits(32)])
    ws = rnd.choice([0, 2, 6, 7, 8, 10, 14, 15, 200])
    return [
        opt_mss(mss) + SOK + opt_ts(t1, t2) + NOP + opt_ws(ws),              # Linux
        opt_mss(mss) + NOP + opt_ws(ws) + NOP + NOP + SOK,                   # Windows
        opt_mss(mss) + NOP + opt_ws(ws) + NOP + NOP + opt_ts(t1, t2) + SOK + b"\0\0",  # macOS
        opt_mss(mss) + NOP + NOP + SOK + NOP + opt_ws(ws),                   # Linux SYN+ACK
        opt_mss(mss),                                                        # nmap -sS
        b"",
        opt_mss(mss) + NOP + NOP + opt_ts(t1, t2),
        opt_ws(10) + NOP + opt_mss(mss) + opt_ts(t1, t2) + SOK,              # nmap OS probes
        opt_mss(mss) + SOK + opt_ts(t1, t2) + opt_ws(10) + b"\0",
        opt_ts(t1, t2) + NOP + NOP + opt_ws(5) + NOP + opt_mss(mss),
        opt_mss(mss) + opt_ws(0) + SOK + opt_ts(t1, t2) + b"\0",
        opt_ws(10) + NOP + opt_mss(mss) + SOK + NOP + NOP,
        SOK + opt_ts(t1, t2) + opt_ws(10) + b"\0",
    ]

def mutate(opts):
    r = rnd.random()
    b = bytearray(opts)
    if r < 0.08 and b:
        b[rnd.randrange(len(b))] = rnd.randrange(256)          # corrupt a byte
    elif r < 0.14:
        b += bytes([rnd.choice([5, 6, 7, 9, 30, 34, 254]), rnd.choice([0, 1, 2, 4, 10, 18, 40, 60])])
        b += bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 8)))
    elif r < 0.18:
        b += b"\0" + bytes(rnd.choice([0, 0, 7]) for _ in range(rnd.randrange(1, 6)))  # EOL + pad
    elif r < 0.21:
        b = bytearray(b"\1" * rnd.randrange(20, 40))           # > 24 options
    elif r < 0.25:
        b = bytearray(rnd.randrange(256) for _ in range(rnd.randrange(1, 40)))
    elif r < 0.28:
        b += opt_mss(rnd.randrange(65536))                     # second MSS
    b = bytes(b[:40])
    return b

def window(mss, ts_on, v6):
    k = rnd.randrange(1, 50)
    c = rnd.random()
    if c < 0.25 and mss: return (mss * k) & 0xFFFF
    if c < 0.32 and mss: return ((mss - 12) * k) & 0xFFFF
    if c < 0.40 and mss: return ((mss + 40) * k) & 0xFFFF
    if c < 0.45 and mss: return ((mss + 60) * k) & 0xFFFF
    if c < 0.50: return (1460 * k) & 0xFFFF
    if c < 0.53: return (1448 * k) & 0xFFFF
    if c < 0.56: return (1440 * k) & 0xFFFF
    if c < 0.60: return (1500 * k) & 0xFFFF
    return rnd.choice([0, 1, 3, 4, 16, 63, 512, 1024, 2048, 3072, 4096, 5840, 8192,
                       14600, 16384, 29200, 31337, 32768, 64240, 65535, rnd.randrange(65536)])

def ip_header(v6, src, dst, ttl, plen, quirky):
    if not v6:
        tos = rnd.choice([0, 0, 0, 1, 2, 3, 0xb8, 0x10]) if quirky else 0
        df = rnd.random() < 0.7
        ipid = rnd.choice([0, rnd.randrange(1, 65536), 54321])
        flags = (0x4000 if df else 0) | (0x8000 if quirky and rnd.random() < 0.1 else 0)
        optlen = rnd.choice([0] * 12 + [4, 8]) if quirky else 0
        ihl = 5 + optlen // 4
        total = ihl * 4 + plen
        h = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, tos, total, ipid, flags, ttl, 6, 0, src, dst)
        return h + bytes([1] * (optlen - 1) + [0] if optlen else [])
    tc = rnd.choice([0, 0, 0, 1, 2, 3, 0xb8]) if quirky else 0
    flow = rnd.choice([0, 0, rnd.randrange(1, 1 << 20)])
    first = (6 << 28) | (tc << 20) | flow
    return struct.pack(">IHBB16s16s", first, plen, 6, ttl, src, dst)

def tcp_header(sport, dport, flags, seq, ack, win, opts, urg):
    opts = opts + b"\0" * (-len(opts) % 4)
    doff = (20 + len(opts)) // 4
    off_flags = (doff << 12) | flags
    return struct.pack(">HHIIHHHH", sport, dport, seq, ack, off_flags, win, 0, urg) + opts

def ttl_pick():
    return rnd.choice([64, 63, 60, 57, 128, 127, 120, 255, 254, 240, 32, 30, 45, 37, 200,
                       rnd.randrange(1, 256)])

def segment(v6, src, dst, sport, dport, synack, quirky, peer_mss=None):
    mss = rnd.choice([0, 1460, 1460, 1440, 1400, 1360, 1380, 1220, 536, 265, 640, 16344,
                      1331, 99, 100, 12, 13, rnd.randrange(65536)])
    if peer_mss is not None and rnd.random() < 0.2:
        mss = peer_mss
    opts = rnd.choice(templates(mss))
    if quirky:
        opts = mutate(opts)
    ts_on = b"\x08\x0a" in opts
    win = window(mss, ts_on, v6)
    if not synack and rnd.random() < 0.03:
        win, opts = 1337, opt_mss(1331) + NOP + b"\0" * 18     # p0f-sendsyn probe
    flags = 0x12 if synack else 0x02
    if quirky:
        for bit, p in ((0x40, .06), (0x80, .04), (0x08, .05), (0x20, .04), (0x100, .03)):
            if rnd.random() < p:
                flags |= bit
    seq = rnd.choice([0] + [rnd.getrandbits(32)] * 9)
    if synack:
        ack = rnd.choice([0, rnd.getrandbits(32), rnd.getrandbits(32)])
    else:
        ack = rnd.choice([0, 0, 0, 1, 0x01000000, rnd.getrandbits(32)])
    urg = rnd.choice([0] * 10 + [0xF7F5, 1])
    payload = b"" if rnd.random() < 0.9 else bytes(rnd.randrange(1, 40))
    tcp = tcp_header(sport, dport, flags, seq, ack, win, opts, urg)
    ip = ip_header(v6, src, dst, ttl_pick(), len(tcp) + len(payload), quirky)
    return ip + tcp + payload, mss

def frame(v6, pkt):
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + (b"\x86\xdd" if v6 else b"\x08\x00")
    return eth + pkt

records = []
t = 1700000000
for i in range(800):
    v6 = rnd.random() < 0.2
    quirky = rnd.random() < 0.6
    if v6:
        cli = bytes.fromhex("20010db8000000000000000000%06x" % i)
        srv = bytes.fromhex("20010db8ffff0000000000000000%04x" % (i % 65536))
    else:
        cli = bytes([10, 1 + i // 65536, (i // 256) % 256, i % 256])
        srv = bytes([10, 200, (i // 256) % 256, i % 256])
    sport, dport = 1024 + i, rnd.choice([22, 80, 443, 8080])
    syn, syn_mss = segment(v6, cli, srv, sport, dport, False, quirky)
    records.append((t, i * 2, frame(v6, syn)))
    if rnd.random() < 0.7:
        sa, _ = segment(v6, srv, cli, dport, sport, True, quirky, syn_mss)
        records.append((t, i * 2 + 1, frame(v6, sa)))

with open("quirks.pcap", "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for sec, usec, data in records:
        f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
        f.write(data)
print(len(records), "packets")
