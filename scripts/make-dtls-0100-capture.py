#!/usr/bin/env python3
"""Write tests/data/captures/dtls-0100.pcap: DTLS ClientHellos with version
0x0100, the pre-standard DTLS of OpenSSL before 0.9.8f (record and
client_version 0x0100; Wireshark names it "DTLS 1.0 (OpenSSL pre 0.9.8f)"),
which some embedded devices still speak.

Layout as RFC 4347 frames DTLS 1.0 (13-byte record header with epoch and
48-bit sequence, 12-byte handshake header with message_seq and fragment
offset/length, a cookie after the session id), only the version differs:
1. the first ClientHello of OpenSSL 0.9.8e's s_client -dtls1 as its source
   builds it (no extensions, SSLv3/TLS 1.0 suites, deflate and null
   compression), empty cookie;
2. the same after a HelloVerifyRequest: message_seq 1, a 20-byte cookie;
3. one with extensions (server_name, elliptic curves, point formats,
   session ticket), as a device's patched stack might send.
Expected values (tshark's DTLS dissector and FoxIO's Wireshark JA4 plugin)
are in dtls-0100.tshark.tsv; see tests/data/captures/README-dtls-0100.md.

Usage: scripts/make-dtls-0100-capture.py [OUT]
"""

import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/captures/dtls-0100.pcap"
VERSION = 0x0100


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp4(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 7, 0x4000, 64, 17, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes.fromhex("027700000002") + bytes.fromhex("027700000001") + b"\x08\x00" + ip + udp


def ext(t, body):
    return struct.pack("!HH", t, len(body)) + body


def client_hello(seq, cookie, ciphers, compression, extensions=None):
    body = struct.pack("!H", VERSION) + bytes(range(32))
    body += b"\x00"  # no session id
    body += bytes([len(cookie)]) + cookie
    body += struct.pack("!H", 2 * len(ciphers)) + b"".join(struct.pack("!H", c) for c in ciphers)
    body += bytes([len(compression)]) + bytes(compression)
    if extensions is not None:
        body += struct.pack("!H", len(extensions)) + extensions
    hs = struct.pack("!B", 1) + len(body).to_bytes(3, "big") + struct.pack("!H", seq)
    hs += (0).to_bytes(3, "big") + len(body).to_bytes(3, "big") + body
    record = struct.pack("!BHH", 22, VERSION, 0) + seq.to_bytes(6, "big") + struct.pack("!H", len(hs)) + hs
    return record


# OpenSSL 0.9.8e ssl/s3_lib.c order for the DEFAULT cipher list over DTLS
# (no RC4 in DTLS, no export-grade beyond what 0.9.8 still enabled).
CIPHERS = [0x0039, 0x0038, 0x0035, 0x0016, 0x0013, 0x000A, 0x0033, 0x0032, 0x002F,
           0x0015, 0x0012, 0x0009, 0x0014, 0x0011, 0x0008, 0x0006, 0x0003]
COMPRESSION = [1, 0]
EXTS = (ext(0, struct.pack("!HBH", 14, 0, 11) + b"device.test")
        + ext(10, struct.pack("!HHHH", 6, 0x0017, 0x0018, 0x0019))
        + ext(11, b"\x01\x00")
        + ext(35, b""))

CLIENT, SERVER = [10, 77, 0, 2], [10, 77, 0, 1]
frames = [
    udp4(CLIENT, SERVER, 40001, 4433, client_hello(0, b"", CIPHERS, COMPRESSION)),
    udp4(CLIENT, SERVER, 40001, 4433, client_hello(1, bytes(range(100, 120)), CIPHERS, COMPRESSION)),
    udp4(CLIENT, SERVER, 40002, 4433, client_hello(0, b"", CIPHERS[:9], [0], EXTS)),
]
with open(OUT, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        f.write(struct.pack("<IIII", 1_800_000_100 + i, 0, len(fr), len(fr)))
        f.write(fr)
print(f"{OUT}: {len(frames)} frames")
