#!/usr/bin/env python3
"""tshark's values for the DTLS ClientHellos of OUTDIR/dtls-*.pcap, as TSV on stdout.

usage: dtls_expected.py OUTDIR > OUTDIR/dtls-expected.tsv

Columns: file, frame, client, server, message_seq, tool, field, value.
tshark reassembles DTLS handshake fragments and prints `ja3`, `ja3_full`
and `sni` in the frame that completed the ClientHello. tshark 4.0 has no
JA4; the `ja4` rows (tool `tshark-fields+ja4spec`) are computed here from
tshark's dissected fields (versions, cipher suites, extension types, ALPN,
signature algorithms) following FoxIO's JA4 specification, with the
decisions of docs/spec.md section 6 (GREASE dropped everywhere; no trailing `_`
without signature algorithms; empty lists hash to twelve zeros).
"""
import glob
import hashlib
import ipaddress
import os
import subprocess
import sys

FIELDS = [
    "frame.number", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport",
    "dtls.handshake.type", "dtls.handshake.message_seq",
    "dtls.handshake.ja3", "dtls.handshake.ja3_full", "dtls.handshake.extensions_server_name",
    "dtls.handshake.version", "dtls.handshake.extensions.supported_version",
    "dtls.handshake.ciphersuite", "dtls.handshake.extension.type",
    "dtls.handshake.extensions_alpn_str", "dtls.handshake.sig_hash_alg",
]
# 0x0100 (OpenSSL's DTLS before 0.9.8f) has no code in the JA4 specification
# or in FoxIO's Wireshark plugin table (ssl_versions): "00".
VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
            0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}


def tshark_version():
    out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
    return out.split()[2]


def grease(v):
    return v & 0x0F0F == 0x0A0A and v >> 8 == v & 0xFF


def ints(text):
    return [int(x, 0) for x in text.split("|") if x]


def sha12(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "000000000000"


def alpn_code(alpn):
    if not alpn:
        return "00"
    first, last = alpn[0], alpn[-1]
    if first.isascii() and first.isalnum() and last.isascii() and last.isalnum():
        return first + last
    h = alpn.encode().hex()
    return h[0] + h[-1]


def ja4(r):
    ciphers = [c for c in ints(r["dtls.handshake.ciphersuite"]) if not grease(c)]
    exts = [e for e in ints(r["dtls.handshake.extension.type"]) if not grease(e)]
    versions = [v for v in ints(r["dtls.handshake.extensions.supported_version"]) if not grease(v)]
    legacy = int(r["dtls.handshake.version"].split("|")[0], 0)
    # DTLS versions count down: the highest is the smallest number.
    highest = min(versions) if versions else legacy
    sigs = [s for s in ints(r["dtls.handshake.sig_hash_alg"]) if not grease(s)]
    alpn = r["dtls.handshake.extensions_alpn_str"].split("|")[0]
    a = "d{}{}{:02d}{:02d}{}".format(
        VERSIONS.get(highest, "00"), "d" if 0 in exts else "i",
        min(len(ciphers), 99), min(len(exts), 99), alpn_code(alpn))
    b = sha12(",".join(f"{c:04x}" for c in sorted(ciphers)))
    c_text = ",".join(f"{e:04x}" for e in sorted(exts) if e not in (0x0000, 0x0010))
    if sigs:
        c_text += "_" + ",".join(f"{s:04x}" for s in sigs)
    c = sha12(c_text) if exts or sigs else "000000000000"
    return f"{a}_{b}_{c}"


def endpoint(ip, port):
    ip = ipaddress.ip_address(ip)
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def main():
    outdir = sys.argv[1]
    tool = f"tshark-{tshark_version()}"
    print("\t".join(["file", "frame", "client", "server", "message_seq", "tool", "field", "value"]))
    for path in sorted(glob.glob(os.path.join(outdir, "dtls-*.pcap"))):
        cmd = ["tshark", "-r", path, "-Y", "dtls.handshake.ja3", "-T", "fields",
               "-E", "occurrence=a", "-E", "aggregator=|"]
        for f in FIELDS:
            cmd += ["-e", f]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            r = dict(zip(FIELDS, line.split("\t")))
            src = r["ip.src"] or r["ipv6.src"]
            dst = r["ip.dst"] or r["ipv6.dst"]
            # The message_seq of the ClientHello that completed here: the
            # last fragment in the frame.
            seq = r["dtls.handshake.message_seq"].split("|")[-1]
            key = [os.path.basename(path), r["frame.number"], endpoint(src, r["udp.srcport"]),
                   endpoint(dst, r["udp.dstport"]), seq]
            for field, value in [("ja3", r["dtls.handshake.ja3"]),
                                 ("ja3_full", r["dtls.handshake.ja3_full"]),
                                 ("sni", r["dtls.handshake.extensions_server_name"])]:
                print("\t".join(key + [tool, field, value]))
            print("\t".join(key + [f"{tool}-fields+ja4spec", "ja4", ja4(r)]))


if __name__ == "__main__":
    main()
