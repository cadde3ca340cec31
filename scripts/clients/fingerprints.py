#!/usr/bin/env python3
"""Fingerprints of each capture under tests/data/clients, read by decnet-sniffer.

Usage: scripts/clients/fingerprints.py [--table] [BINARY]
  default: one line per (capture, method, value), for writing clients.db rows
  --table: the Markdown table of docs/clients.md (program -> fingerprints -> label)
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "clients")

# (event, field, method) looked up, in the order the matcher tries them.
METHODS = [
    ("tcp_syn_fingerprint", "ja4t", "ja4t"),
    ("tls_client_hello", "ja4", "ja4"),
    ("tls_client_hello", "ja4_o", "ja4_o"),
    ("tls_client_hello", "ja3", "ja3"),
    ("quic_client_hello", "ja4_quic", "ja4"),
    ("dtls_client_hello", "ja4", "ja4"),
    ("ssh_kex_fingerprint", "hassh", "hassh"),
    ("ssh_kex_fingerprint", "ssh_version", "ssh_banner"),
    ("http_request_fingerprint", "ja4h", "ja4h"),
]


def events(binary, pcap):
    out = subprocess.run(
        [binary, "read", "--no-progress", "--dedup-ttl", "0", pcap],
        check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        e = json.loads(line)
        yield e["event_type"], e["fields"]


def ja4h_ab(v):
    return "_".join(v.split("_")[:2])


def main():
    args = sys.argv[1:]
    table = "--table" in args
    args = [a for a in args if a != "--table"]
    binary = args[0] if args else os.path.join(ROOT, "target", "release", "decnet-sniffer")
    rows = []
    for name in sorted(os.listdir(DATA)):
        if not name.endswith(".pcap"):
            continue
        seen = {}
        labels = set()
        for kind, f in events(binary, os.path.join(DATA, name)):
            for ev, field, method in METHODS:
                v = f.get(field, "")
                if kind == ev and v:
                    if method == "ja4h":
                        v = ja4h_ab(v)
                    seen.setdefault((method, v), None)
            if f.get("client"):
                labels.add((f["client"], f["client_source"]))
        rows.append((name[:-5], list(seen), sorted(labels)))
    if not table:
        for name, seen, _ in rows:
            for method, v in seen:
                print(f"{name}\t{method}\t{v}")
        return
    print("| capture | fingerprints | client (method) |")
    print("|---|---|---|")
    for name, seen, labels in rows:
        fps = "<br>".join(f"{m} `{v}`" for m, v in seen) or "-"
        lab = "<br>".join(f"{l} ({s})" for l, s in labels) or "-"
        print(f"| {name} | {fps} | {lab} |")


if __name__ == "__main__":
    main()
