#!/usr/bin/env python3
"""Write tests/data/dhcp/crafted.pcap: DHCP and DHCPv6 messages no stock
client sends, for the corners of JA4D/JA4D6 (repeated message types, a
maximum size past 9999, FQDN names, unknown message types, IA_TA, relayed
messages, nested options, a DUID-LL client, truncated options, BOOTP
without a message type). Expected values come from FoxIO's Wireshark
plugin (tests/data/dhcp/README.md).

Usage: scripts/make-dhcp-crafted-capture.py [OUT]
"""

import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/dhcp/crafted.pcap"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp4(src, dst, sport, dport, payload, smac):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + smac + b"\x08\x00" + ip + udp


def udp6(src, dst, sport, dport, payload, smac, dmac):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = src + dst + struct.pack("!I3xB", len(udp), 17)
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!IHBB", 0x60000000, len(udp), 17, 1) + src + dst
    return dmac + smac + b"\x86\xdd" + ip + udp


def bootp(op, mac, options, ciaddr=b"\0" * 4, yiaddr=b"\0" * 4, cookie=True):
    b = struct.pack("!BBBBIHH4s4s4s4s", op, 1, 6, 0, 0x1234, 0, 0, ciaddr, yiaddr, b"\0" * 4, b"\0" * 4)
    b += mac + b"\0" * 10 + b"\0" * 64 + b"\0" * 128
    if cookie:
        b += bytes([99, 130, 83, 99]) + options
    return b


def o4(code, value):
    return bytes([code, len(value)]) + value


def o6(code, value):
    return struct.pack("!HH", code, len(value)) + value


MAC = bytes.fromhex("027700000009")
ZERO, BCAST = [0, 0, 0, 0], [255, 255, 255, 255]
LL = bytes.fromhex("fe80000000000000007700fffe000009")
ALL_DHCP = bytes.fromhex("ff020000000000000000000000010002")
SRV6 = bytes.fromhex("fe800000000000000000000000000001")
DUID_LL = struct.pack("!HH", 3, 1) + MAC
DUID_EN = struct.pack("!HI", 2, 311) + b"opaque-id"
END = b"\xff"

frames = []
# 1. Two message-type options, a maximum size past 9999, an FQDN with a name.
frames.append(udp4(ZERO, BCAST, 68, 67, bootp(1, MAC,
    o4(53, b"\x01") + o4(53, b"\x03") + o4(57, struct.pack("!H", 20000))
    + o4(81, b"\x01\x00\x00crafted.example") + o4(12, b"crafted")
    + o4(60, b"crafted-vendor") + o4(55, b"\x01\x79\x03") + END), MAC))
# 2. An unknown message type, pad options, an FQDN without a name,
#    a requested address, a vendor-specific option.
frames.append(udp4(ZERO, BCAST, 68, 67, bootp(1, MAC,
    b"\x00\x00" + o4(53, b"\x63") + o4(81, b"\x00\x00\x00") + o4(50, bytes([10, 77, 0, 9]))
    + o4(43, b"\x01\x02ab") + o4(57, struct.pack("!H", 576)) + END), MAC))
# 3. An inform from a configured client (ciaddr), options cut short.
frames.append(udp4([10, 77, 0, 9], [10, 77, 0, 1], 68, 67, bootp(1, MAC,
    o4(53, b"\x08") + o4(61, b"\x01" + MAC) + b"\x37\x09\x01\x03", ciaddr=bytes([10, 77, 0, 9])), MAC))
# 4. BOOTP without a message type: no JA4D.
frames.append(udp4(ZERO, BCAST, 68, 67, bootp(1, MAC, o4(12, b"bootp") + END), MAC))

# 5. DHCPv6 solicit: server id before client id, IA_TA, IA_NA holding an
#    IA Address holding a status code, FQDN, vendor class, user class.
iaaddr = bytes.fromhex("fd770000000000000000000000000009") + struct.pack("!II", 0, 0) + o6(13, b"\x00\x00ok")
sol = b"\x01\x00\x00\x07" + o6(2, DUID_EN) + o6(1, DUID_LL) + o6(4, struct.pack("!I", 9))
sol += o6(3, struct.pack("!III", 9, 0, 0) + o6(5, iaaddr)) + o6(39, b"\x01\x07crafted\x07example\x00")
sol += o6(16, struct.pack("!I", 311) + struct.pack("!H", 7) + b"MSFT5.0") + o6(15, b"\x00\x02uc")
sol += o6(6, struct.pack("!HHH", 23, 24, 39)) + o6(8, b"\x00\x00")
frames.append(udp6(LL, ALL_DHCP, 546, 547, sol, MAC, bytes.fromhex("333300010002")))
# 6. The same inside a Relay-forward (with an interface-id option).
relay = b"\x0c\x00" + b"\0" * 16 + LL + o6(18, b"eth0") + o6(9, sol)
frames.append(udp6(SRV6, ALL_DHCP, 547, 547, relay, bytes.fromhex("027700000001"), bytes.fromhex("333300010002")))
# 7. Information-request with an odd-length ORO and an empty FQDN name,
#    then an option cut short.
inf = b"\x0b\x00\x00\x08" + o6(1, DUID_LL) + o6(6, b"\x00\x17\x00") + o6(39, b"\x00") + b"\x00\x10\x00\x20ab"
frames.append(udp6(LL, ALL_DHCP, 546, 547, inf, MAC, bytes.fromhex("333300010002")))
# 8. An unknown DHCPv6 message type with an IA_PD holding an IA Prefix.
iapd = struct.pack("!III", 1, 0, 0) + o6(26, struct.pack("!IIB", 0, 0, 64) + b"\xfd\x77" + b"\0" * 14)
frames.append(udp6(LL, ALL_DHCP, 546, 547, b"\x63\x00\x00\x09" + o6(1, DUID_LL) + o6(25, iapd), MAC,
    bytes.fromhex("333300010002")))

with open(OUT, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        f.write(struct.pack("<IIII", 1_800_000_000 + i, 0, len(fr), len(fr)))
        f.write(fr)
print(f"{OUT}: {len(frames)} frames")
