#!/usr/bin/env python3
"""Builds the fuzz seed corpora from the conformance corpus and the test
captures. Usage: fuzz/seed.py [CORPUS_DIR ...] (default tests/corpus,
or $DECNET_CORPUS, and tests/data). Writes fuzz/corpus/<target>/."""
import hashlib
import os
import struct
import sys


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from testdata import corpus_dir, test_data  # noqa: E402
LINKTYPES = [1, 101, 0, 108, 113, 276, 228, 229]  # harness.rs LINKTYPES order
MAX_SEED = 64 * 1024


def put(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def packets(path):
    """(linktype, [(seconds, frame)]) of a pcap or pcapng (first interface's
    link type; good enough for seeds)."""
    raw = open(path, "rb").read()
    out = []
    magic = raw[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        div = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
        lt = struct.unpack(e + "I", raw[20:24])[0] & 0xFFFF
        off = 24
        while off + 16 <= len(raw):
            sec, frac, cap, _ = struct.unpack(e + "IIII", raw[off:off + 16])
            out.append((sec + frac / div, raw[off + 16:off + 16 + cap]))
            off += 16 + cap
        return lt, out
    if magic == b"\x0a\x0d\x0d\x0a":
        e = "<" if raw[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        off, lts = 0, []
        while off + 12 <= len(raw):
            btype, blen = struct.unpack(e + "II", raw[off:off + 8])
            if blen < 12:
                break
            body = raw[off + 8:off + blen - 4]
            if btype == 1:
                lts.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                iface, hi, lo, cap, _ = struct.unpack(e + "IIIII", body[:20])
                if iface == 0:
                    out.append((((hi << 32) | lo) / 1e6, body[20:20 + cap]))
            off += blen
        return (lts[0] if lts else 1), out
    return 1, out


def engine_seed(lt, pkts):
    if lt not in LINKTYPES:
        return None
    buf = bytearray([LINKTYPES.index(lt)])
    prev = pkts[0][0] if pkts else 0
    for t, data in pkts:
        step = max(0, min(250, int((t - prev) * 1000)))
        prev = t
        rec = struct.pack(">HB", len(data), step) + data
        if len(buf) + len(rec) > MAX_SEED:
            break
        buf += rec
    return bytes(buf)


def tcp_streams(lt, pkts):
    """Concatenated TCP payloads per direction (capture order; enough for seeds)."""
    streams = {}
    for _, f in pkts:
        off = {1: 14, 101: 0, 228: 0, 229: 0, 113: 16, 276: 20}.get(lt)
        if off is None:
            continue
        if lt == 1:
            et = f[12:14]
            while et in (b"\x81\x00", b"\x88\xa8") and len(f) >= off + 4:
                et = f[off + 2:off + 4]
                off += 4
        if len(f) < off + 20:
            continue
        v = f[off] >> 4
        if v == 4:
            ihl = (f[off] & 15) * 4
            if f[off + 9] != 6:
                continue
            src, dst, l4 = f[off + 12:off + 16], f[off + 16:off + 20], off + ihl
        elif v == 6 and len(f) >= off + 40:
            if f[off + 6] != 6:
                continue
            src, dst, l4 = f[off + 8:off + 24], f[off + 24:off + 40], off + 40
        else:
            continue
        if len(f) < l4 + 20:
            continue
        doff = (f[l4 + 12] >> 4) * 4
        payload = f[l4 + doff:]
        if payload:
            key = (src, dst, f[l4:l4 + 4])
            streams.setdefault(key, bytearray()).extend(payload)
    return [bytes(s) for s in streams.values()]


def l4(lt, f):
    """(proto, src, dst, sport, dport, payload) of an IPv4/IPv6 TCP or UDP
    frame, or None."""
    off = {1: 14, 101: 0, 228: 0, 229: 0, 113: 16, 276: 20}.get(lt)
    if off is None:
        return None
    if lt == 1:
        et = f[12:14]
        while et in (b"\x81\x00", b"\x88\xa8") and len(f) >= off + 4:
            et = f[off + 2:off + 4]
            off += 4
    if len(f) < off + 20:
        return None
    v = f[off] >> 4
    if v == 4:
        proto, src, dst, l4o = f[off + 9], f[off + 12:off + 16], f[off + 16:off + 20], off + (f[off] & 15) * 4
    elif v == 6 and len(f) >= off + 40:
        proto, src, dst, l4o = f[off + 6], f[off + 8:off + 24], f[off + 24:off + 40], off + 40
    else:
        return None
    if proto == 6 and len(f) >= l4o + 20:
        payload = f[l4o + (f[l4o + 12] >> 4) * 4:]
    elif proto == 17 and len(f) >= l4o + 8:
        payload = f[l4o + 8:]
    else:
        return None
    sport, dport = struct.unpack(">HH", f[l4o:l4o + 4])
    return proto, src, dst, sport, dport, payload


def tcp_conversations(lt, pkts):
    """Per TCP connection, [(dir, payload)] in capture order; dir 0 is the
    side that sent first."""
    convs = {}
    for _, f in pkts:
        d = l4(lt, f)
        if not d or d[0] != 6:
            continue
        _, src, dst, sp, dpt, payload = d
        a, b = (src, sp), (dst, dpt)
        key = (min(a, b), max(a, b))
        c = convs.setdefault(key, {"client": a, "segs": []})
        if payload:
            c["segs"].append((0 if a == c["client"] else 1, payload))
    return [c["segs"] for c in convs.values() if c["segs"]]


def ssh_seed(segs):
    out = bytearray([7])
    for d, p in segs:
        p = p[:0x7FFF]
        out += struct.pack(">H", (d << 15) | len(p)) + p
        if len(out) > MAX_SEED:
            break
    return bytes(out)


def udp_payloads(lt, pkts):
    for _, f in pkts:
        d = l4(lt, f)
        if d and d[0] == 17 and d[5]:
            yield d[5]


def bus_seeds():
    def frame(verb, args, body):
        head = verb + (" " + args if args else "")
        return head.encode() + b"\n" + struct.pack(">I", len(body)) + body
    stop = b'{"v":1,"id":"x","topic":"system.sniffer.control","type":"control","ts":1.5,"payload":{"action":"stop"}}'
    env = (b'{"v":1,"id":"0123456789abcdef0123456789abcdef","topic":"decky.web.traffic",'
           b'"type":"tls_client_hello","ts":1700000000.25,"payload":{"sni":"a\\u0000b\xc3\xa9\xff"}}')
    yield frame("EVT", "system.sniffer.control", stop)
    yield frame("EVT", "system.sniffer.control", b'{"action":"stop"}') + frame("BYE", "", b"")
    yield frame("HELLO", "sniffer[42]", b"") + frame("SUB", "system.sniffer.control", b"")
    yield frame("PUB", "decky.web.traffic", env) + frame("EVT", "decky.10-0-0-5.traffic", env)
    yield b"EVT system.sniffer.control\r\n\x00\x00\x00\x02{}" + frame("EVT", "10.0.0.5", b'{"payload":[]}')


def dtls_seed(body):
    """A TLS ClientHello body rewritten as one unfragmented DTLS 1.2
    ClientHello record (empty cookie after the session id)."""
    if len(body) < 35 or len(body) < 35 + body[34]:
        return b""
    cut = 35 + body[34]
    b = b"\xfe\xfd" + body[2:cut] + b"\x00" + body[cut:]
    hs = b"\x01" + len(b).to_bytes(3, "big") + b"\x00\x00" + b"\x00\x00\x00" + len(b).to_bytes(3, "big") + b
    return b"\x16\xfe\xfd" + bytes(8) + len(hs).to_bytes(2, "big") + hs


def der_certs(stream):
    """DER certificates (SEQUENCE with a 2-byte length) inside a stream."""
    out, i = [], 0
    while i + 4 < len(stream) and len(out) < 8:
        if stream[i] == 0x30 and stream[i + 1] == 0x82 and stream[i + 4] == 0x30:
            n = int.from_bytes(stream[i + 2:i + 4], "big") + 4
            if 200 < n <= len(stream) - i:
                out.append(stream[i:i + n])
                i += n
                continue
        i += 1
    return out


def quic_seed(hello):
    """A quic_initial input: v1, 8-byte DCID, one packet whose plaintext is
    a CRYPTO frame with the ClientHello, padded to 1162 bytes."""
    hello = hello[:4000]
    frame = bytes([6, 0, 0x40 | (len(hello) >> 8), len(hello) & 0xFF]) + hello
    frame += bytes(max(0, 1162 - len(frame)))
    return bytes([8 << 1]) + bytes(range(1, 9)) + struct.pack(">H", len(frame)) + frame


def main():
    roots = sys.argv[1:] or [corpus_dir(), test_data()]
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for fn in sorted(files):
                p = os.path.join(dirpath, fn)
                if fn.endswith((".pcap", ".pcapng", ".cap")):
                    raw = open(p, "rb").read()
                    if len(raw) <= 256 * 1024:
                        put("capture_file", raw)
                    lt, pkts = packets(p)
                    if not pkts:
                        continue
                    s = engine_seed(lt, pkts)
                    if s:
                        put("engine", s)
                    for st in tcp_streams(lt, pkts):
                        if st[:1] == b"\x16":
                            put("tls_handshake", bytes([7]) + st[:MAX_SEED])
                            if st[5:6] == b"\x01":
                                put("dtls", dtls_seed(st[9:9 + int.from_bytes(st[6:9], "big")]))
                                put("quic_initial", quic_seed(st[5:5 + 5 + int.from_bytes(st[3:5], "big")]))
                            for der in der_certs(st):
                                put("x509", der)
                    for segs in tcp_conversations(lt, pkts):
                        first = [p for d, p in segs[:4]]
                        if any(p.startswith(b"SSH-") for p in first):
                            put("ssh", ssh_seed(segs))
                        client = b"".join(p for d, p in segs if d == 0)
                        if client[:8].split(b" ")[0].isalpha() and b" HTTP/1." in client[:4096]:
                            put("http", bytes([3, 13]) + client[:MAX_SEED])
                    for payload in udp_payloads(lt, pkts):
                        if payload[:1] == b"\x16" and payload[1:2] == b"\xfe":
                            put("dtls", payload)
                    if lt in LINKTYPES:
                        for _, data in pkts[:40]:
                            put("decode", bytes([LINKTYPES.index(lt)]) + data)
                elif fn.endswith(".der"):
                    put("x509", open(p, "rb").read())
                elif fn.endswith(".fp"):
                    put("p0f_db", open(p, "rb").read())
                elif fn.endswith(".json") and "state" in fn:
                    put("state_file", open(p, "rb").read())
    # Reassembly: in order, a hole then its fill, overlaps, near the wrap.
    put("reassembly", bytes([0, 0, 0, 1, 3]) + bytes([0, 0, 100, 0, 0, 200, 100, 0, 0, 100, 100, 0]))
    put("reassembly", bytes([0xff, 0xff, 0xff, 0x80, 2]) + bytes([0, 50, 200, 0, 0, 0, 100, 0, 0, 25, 100, 1]))
    for d in [ROOT + "/src"]:
        for dirpath, _, files in os.walk(d):
            for fn in files:
                if fn.endswith(".der"):
                    put("x509", open(os.path.join(dirpath, fn), "rb").read())
    for b in bus_seeds():
        put("bus", b)
    # The bundled p0f database and a minimal DECNET state file.
    fp = os.path.join(ROOT, "data", "p0f.fp")
    if os.path.exists(fp):
        put("p0f_db", open(fp, "rb").read())
    put("state_file", b'{"config":{"interface":"eth0","deckies":[{"name":"decky-01",'
                      b'"ip":"10.0.0.5","ipv6":"fd00::5"},{"name":"web","ip":"10.0.0.6"}]}}')


if __name__ == "__main__":
    main()
