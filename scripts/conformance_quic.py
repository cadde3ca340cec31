#!/usr/bin/env python3
"""QUIC conformance: decnet-sniffer's quic_client_hello against independent
tools, printed as match counts.

- JA4 (q) and SNI: FoxIO ja4 0.18.6 snapshots of the corpus captures.
- JA3, SNI, QUIC version: Suricata 7.0.10 eve.json of the same captures.
- JA3, SNI, version, ports: tshark 4.0.17 on our aioquic captures
  (tests/data/quic/*.tshark.tsv, made by tests/data/quic/make_captures.sh).

Writes a Markdown section for scripts/conformance.py (`--out`, default
target/conformance/quic.md) and prints the counts.

usage: scripts/conformance_quic.py [--bin target/release/decnet-sniffer]
           [--corpus tests/corpus] [--out target/conformance/quic.md]
Exit status 1 when any value differs.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agreement import Tally  # noqa: E402
from testdata import corpus_dir  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS_CAPTURES = [
    "quic-tls-handshake.pcapng",
    "quic-with-several-tls-frames.pcapng",
    "chrome-cloudflare-quic-with-secrets.pcapng",
    "tls-handshake.pcapng",
    "tls3.pcapng",
    "tls-sni.pcapng",
]
OWN_CAPTURES = ["quic-v1-ipv4", "quic-v1-ipv6", "quic-v2-ipv4", "quic-split-hello"]


def hellos(binary, pcap, extra=()):
    """quic_client_hello fields by client port."""
    out = subprocess.run(
        [binary, "read", "--dedup-ttl", "0", "--no-progress", *extra, pcap],
        check=True, capture_output=True, text=True,
    ).stdout
    by_port = {}
    for line in out.splitlines():
        rec = json.loads(line)
        if rec["event_type"] == "quic_client_hello":
            by_port[rec["fields"]["src_port"]] = rec["fields"]
    return by_port


def snapshot_udp(corpus, capture):
    text = open(os.path.join(corpus, "foxio/snapshots", f"ja4__insta@{capture}.snap")).read()
    body = text.split("---", 2)[2]
    for block in body.split("\n- stream:"):
        if "transport: udp" not in block:
            continue
        vals = {}
        for line in block.splitlines():
            if line.startswith("  ") and not line.startswith("   ") and ": " in line:
                k, v = line.strip().split(": ", 1)
                vals[k] = v
        yield vals.get("src_port", ""), vals.get("tls_server_name", ""), vals.get("ja4", "")


def suricata_quic(corpus, capture):
    path = os.path.join(corpus, "foxio/suricata-7.0.10-eve", f"{capture}.eve.json")
    for line in open(path):
        rec = json.loads(line)
        q = rec.get("quic") if rec.get("event_type") == "quic" else None
        if q and "ja3" in q:
            yield str(rec["src_port"]), q.get("sni", ""), q["ja3"]["hash"], q.get("version", "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/decnet-sniffer"))
    ap.add_argument("--corpus")
    ap.add_argument("--out", default=os.path.join(ROOT, "target/conformance/quic.md"))
    args = ap.parse_args()
    corpus = corpus_dir(args.corpus)
    t = Tally()
    for capture in CORPUS_CAPTURES:
        ours = hellos(args.bin, os.path.join(corpus, "foxio/pcap", capture))
        for port, sni, ja4 in snapshot_udp(corpus, capture):
            ev = ours.get(port, {})
            t.check(("ja4_quic", "FoxIO snapshot"), f"{capture}:{port}", ev.get("ja4_quic"), ja4)
            t.check(("sni", "FoxIO snapshot"), f"{capture}:{port}", ev.get("sni"), sni)
        for port, sni, ja3, version in suricata_quic(corpus, capture):
            ev = ours.get(port, {})
            t.check(("ja3", "Suricata"), f"{capture}:{port}", ev.get("ja3"), ja3)
            t.check(("sni", "Suricata"), f"{capture}:{port}", ev.get("sni"), sni)
            t.check(("quic_version", "Suricata"), f"{capture}:{port}", ev.get("quic_version"), version)
    data = os.path.join(ROOT, "tests/data/quic")
    for name in OWN_CAPTURES:
        ours = hellos(args.bin, os.path.join(data, name + ".pcap"), ["--quic-ports", "8443"])
        for line in open(os.path.join(data, name + ".tshark.tsv")):
            src4, src6, sport, dport, version, sni, ja3 = line.rstrip("\n").split("\t")
            ev = ours.get(sport, {})
            wire = {"1": "0x00000001", "2": "0x6b3343cf"}.get(ev.get("quic_version"))
            t.check(("ja3", "tshark"), f"{name}:{sport}", ev.get("ja3"), ja3)
            t.check(("sni", "tshark"), f"{name}:{sport}", ev.get("sni"), sni)
            t.check(("quic_version", "tshark"), f"{name}:{sport}", wire, version)
            t.check(("src_ip", "tshark"), f"{name}:{sport}", ev.get("src_ip"), src4 or src6)
    # ipv6_link_local_leak on the link-local capture, the server as decky.
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(data, "ipv6-link-local.tshark.tsv"))]
    arp = {r[1]: r[2] for r in (l.rstrip("\n").split("\t") for l in open(os.path.join(data, "ipv6-link-local.arp.tsv")))}
    # The decky's own packets (from its MAC) are never a leak (docs/spec.md
    # section 5, ipv6_link_local_leak): only the others are compared.
    server = next(r for r in rows if r[5] == "136")
    server_mac, server_ll = server[1], server[2]
    rows = [r for r in rows if r[1] != server_mac]
    out = subprocess.run(
        [args.bin, "read", "--dedup-ttl", "0", "--no-progress", "--decky", f"srv={server_ll}",
         os.path.join(data, "ipv6-link-local.pcap")],
        check=True, capture_output=True, text=True,
    ).stdout
    leaks = [json.loads(l)["fields"] for l in out.splitlines()]
    leaks = [f for f in leaks if "iid_kind" in f]
    for i, r in enumerate(rows):
        ev = leaks[i] if i < len(leaks) else {}
        where = f"ipv6-link-local frame {r[0]}"
        kind = "eui64" if r[4] else "stable_privacy"
        t.check(("iid_kind", "tshark ipv6.src_slaac_mac"), where, ev.get("iid_kind"), kind)
        t.check(("mac_oui", "tshark ipv6.src_slaac_mac"), where, ev.get("mac_oui"), r[4][:8])
        t.check(("attacker_v4", "tshark arp"), where, ev.get("attacker_v4"), arp.get(r[1], ""))
    md = [
        "## QUIC (quic_client_hello) and IPv6 link-local leaks",
        "",
        "Corpus captures with QUIC (FoxIO ja4 0.18.6 snapshots, Suricata 7.0.10 eve.json)",
        "and our aioquic captures (tests/data/quic, expected values from tshark 4.0.17);",
        "ipv6_link_local_leak on tests/data/quic/ipv6-link-local.pcap against tshark.",
        "",
        "| fingerprint | source | matched | total |",
        "|---|---|---|---|",
    ]
    return t.write(args.out, md)


if __name__ == "__main__":
    sys.exit(main())
