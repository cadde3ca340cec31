#!/usr/bin/env python3
"""Write expected.tsv for the captures in a directory, from independent tools
only: tshark (JA3, JA3S, full strings, SNI) and Suricata (JA3, JA3S, JA4, SNI).

usage: expected.py DIR SURICATA_YAML

Columns: file, frame_stream, client, server, tool, field, value
  frame_stream  tshark: "<frame>/<tcp.stream>" of the frame that completed the
                handshake message; Suricata: "-/<tcp.stream>" (one record per
                flow, matched to tshark's stream by its addresses and ports).
  client/server "ip:port", IPv6 as "[addr]:port".
Disagreements between the two tools on ja3/ja3s/sni are printed to stderr.
"""
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

TSHARK_PREFS = ["-o", "tcp.reassemble_out_of_order:TRUE"]
TSHARK_FIELDS = [
    "frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
    "tcp.dstport", "tls.handshake.type", "tls.handshake.ja3", "tls.handshake.ja3_full",
    "tls.handshake.ja3s", "tls.handshake.ja3s_full", "tls.handshake.extensions_server_name",
]


def norm_ip(ip):
    """RFC 5952 text (Suricata writes IPv6 uncompressed)."""
    return ipaddress.ip_address(ip).compressed


def endpoint(ip, port):
    ip = norm_ip(ip)
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def tool_version(cmd, word):
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    for token in out.split():
        if token[:1].isdigit():
            return f"{word}-{token}"
    return word


def tshark_fields(pcap, fields, display_filter=None):
    cmd = ["tshark", "-r", pcap, *TSHARK_PREFS]
    if display_filter:
        cmd += ["-Y", display_filter]
    cmd += ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def stream_map(pcap):
    """Unordered (ip, port) pair -> tcp.stream."""
    rows = tshark_fields(pcap, ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
                                "ip.dst", "ipv6.dst", "tcp.dstport"], "tcp")
    streams = {}
    for stream, s4, s6, sport, d4, d6, dport in rows:
        a = (norm_ip(s4 or s6), int(sport))
        b = (norm_ip(d4 or d6), int(dport))
        streams.setdefault(frozenset((a, b)), int(stream))
    return streams


def tshark_rows(pcap, name, tool):
    rows = []
    for r in tshark_fields(pcap, TSHARK_FIELDS, "tls.handshake"):
        (frame, stream, s4, s6, sport, d4, d6, dport, _types, ja3, ja3_full, ja3s, ja3s_full,
         sni) = r
        src = endpoint(s4 or s6, sport)
        dst = endpoint(d4 or d6, dport)
        fs = f"{frame}/{stream}"
        ja3s_list = ja3.split("|") if ja3 else []
        for i, h in enumerate(ja3s_list):
            rows.append((name, fs, src, dst, tool, "ja3", h))
            rows.append((name, fs, src, dst, tool, "ja3_full", ja3_full.split("|")[i]))
        for i, s in enumerate(sni.split("|") if sni else []):
            rows.append((name, fs, src, dst, tool, "sni", s))
        for i, h in enumerate(ja3s.split("|") if ja3s else []):
            rows.append((name, fs, dst, src, tool, "ja3s", h))
            rows.append((name, fs, dst, src, tool, "ja3s_full", ja3s_full.split("|")[i]))
    return rows


def suricata_rows(pcap, name, tool, yaml, streams):
    with tempfile.TemporaryDirectory() as outdir:
        cmd = ["suricata", "-r", pcap, "-k", "none", "--runmode", "single", "-c", yaml,
               "-l", outdir, "--set", "app-layer.protocols.tls.ja4-fingerprints=yes",
               "--set", "app-layer.protocols.smtp.enabled=yes"]
        subprocess.run(cmd, capture_output=True, check=True)
        with open(os.path.join(outdir, "eve.json")) as f:
            events = [json.loads(line) for line in f if line.strip()]
    rows = []
    for ev in events:
        if ev.get("event_type") != "tls":
            continue
        tls = ev["tls"]
        c = (norm_ip(ev["src_ip"]), ev["src_port"])
        s = (norm_ip(ev["dest_ip"]), ev["dest_port"])
        stream = streams.get(frozenset((c, s)), "?")
        fs = f"-/{stream}"
        cl, sv = endpoint(*c), endpoint(*s)
        values = [
            ("ja3", tls.get("ja3", {}).get("hash")),
            ("ja3_full", tls.get("ja3", {}).get("string")),
            ("ja3s", tls.get("ja3s", {}).get("hash")),
            ("ja3s_full", tls.get("ja3s", {}).get("string")),
            ("ja4", tls.get("ja4")),
            ("sni", tls.get("sni")),
        ]
        for field, value in values:
            if value:
                rows.append((name, fs, cl, sv, tool, field, value))
    return rows


def check_agreement(rows):
    """Warn where tshark and Suricata give different values for one stream."""
    by_key = {}
    for name, fs, cl, sv, tool, field, value in rows:
        if field in ("ja3", "ja3s", "sni"):
            stream = fs.split("/")[1]
            by_key.setdefault((name, stream, field), {}).setdefault(tool.split("-")[0], set()).add(value)
    for (name, stream, field), tools in sorted(by_key.items()):
        t = tools.get("tshark", set())
        s = tools.get("suricata", set())
        if t and s and not s <= t:
            print(f"disagree {name} stream {stream} {field}: tshark {sorted(t)} suricata {sorted(s)}",
                  file=sys.stderr)
        if t and not s:
            print(f"suricata has no {field} for {name} stream {stream}", file=sys.stderr)


def main():
    directory, yaml = sys.argv[1:3]
    tshark = tool_version(["tshark", "--version"], "tshark")
    suricata = tool_version(["suricata", "-V"], "suricata")
    rows = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".pcap", ".pcapng")):
            continue
        pcap = os.path.join(directory, name)
        streams = stream_map(pcap)
        rows += tshark_rows(pcap, name, tshark)
        rows += suricata_rows(pcap, name, suricata, yaml, streams)
    check_agreement(rows)
    with open(os.path.join(directory, "expected.tsv"), "w") as f:
        f.write("file\tframe_stream\tclient\tserver\ttool\tfield\tvalue\n")
        for row in rows:
            f.write("\t".join(str(x) for x in row) + "\n")
    print(f"expected.tsv: {len(rows)} values", file=sys.stderr)


if __name__ == "__main__":
    main()
