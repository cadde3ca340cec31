#!/usr/bin/env python3
"""DHCP conformance: decnet-sniffer's dhcp_client_fingerprint (JA4D, JA4D6)
against independent tools, printed as match counts.

- Corpus dhcp.pcapng and dhcpv6.pcap: FoxIO's Wireshark JA4+ plugin
  (wireshark-expected/*.json) and FoxIO's Zeek package (ja4d.log).
- Our captures of real clients and crafted corner cases (tests/data/dhcp):
  FoxIO's Wireshark plugin built here against Debian's Wireshark 4.0.17
  (tests/data/dhcp/*.tshark.tsv, see tests/data/dhcp/README.md).

Writes a Markdown section for scripts/conformance.py (`--out`, default
target/conformance/dhcp.md) and prints the counts.

usage: scripts/conformance_dhcp.py [--bin target/release/decnet-sniffer]
           [--corpus tests/corpus] [--out target/conformance/dhcp.md]
Exit status 1 when any value differs.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agreement import write_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWN = {
    "dhclient": "ISC dhclient 4.4.3",
    "udhcpc": "busybox udhcpc 1.35.0",
    "dhcpcd": "dhcpcd 9.4.1",
    "networkd": "systemd-networkd 252",
    "crafted": "crafted corner cases",
}


def find_corpus(given):
    candidates = [given, os.environ.get("DECNET_CORPUS"), os.path.join(ROOT, "tests/corpus")]
    for c in candidates:
        if c and os.path.isdir(os.path.join(c, "foxio")):
            return os.path.abspath(c)
    sys.exit("conformance corpus not found (--corpus or DECNET_CORPUS)")


def ours(binary, pcap):
    out = subprocess.run(
        [binary, "read", "--dedup-ttl", "0", "--no-progress", pcap],
        check=True, capture_output=True, text=True,
    ).stdout
    return [
        rec["fields"]["ja4d"]
        for rec in map(json.loads, out.splitlines())
        if rec["event_type"] == "dhcp_client_fingerprint"
    ]


def compare(rows, label, source, got, want, diffs):
    matched = sum(1 for g, w in zip(got, want) if g == w)
    if matched != len(want) or len(got) != len(want):
        diffs.append("%s (%s): ours %s, expected %s" % (label, source, got, want))
    rows.append((label, source, matched, len(want)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/decnet-sniffer"))
    ap.add_argument("--corpus")
    ap.add_argument("--out", default=os.path.join(ROOT, "target/conformance/dhcp.md"))
    args = ap.parse_args()
    corpus = find_corpus(args.corpus)
    rows, diffs = [], []
    for capture in ["dhcp.pcapng", "dhcpv6.pcap"]:
        with open(os.path.join(corpus, "foxio/wireshark-expected", capture + ".json")) as f:
            want = [v for p in json.load(f) for v in p["_source"]["layers"]["ja4.ja4d"]]
        got = ours(args.bin, os.path.join(corpus, "foxio/pcap", capture))
        compare(rows, capture, "FoxIO Wireshark plugin", got, want, diffs)
    with open(os.path.join(corpus, "foxio/zeek-expected/Scripts.ja4-dhcp/ja4d.log")) as f:
        want = [l.split("\t")[6] for l in f if not l.startswith("#")]
    got = ours(args.bin, os.path.join(corpus, "foxio/pcap/dhcp.pcapng"))
    compare(rows, "dhcp.pcapng", "FoxIO Zeek package", got, want, diffs)
    for name, what in OWN.items():
        with open(os.path.join(ROOT, "tests/data/dhcp", name + ".tshark.tsv")) as f:
            want = [l.split("\t")[1] for l in f.read().splitlines()]
        got = ours(args.bin, os.path.join(ROOT, "tests/data/dhcp", name + ".pcap"))
        compare(rows, "%s.pcap (%s)" % (name, what), "FoxIO Wireshark plugin, built here", got, want, diffs)

    lines = [
        "## DHCP and DHCPv6 (JA4D, JA4D6)",
        "",
        "dhcp_client_fingerprint on the corpus captures (FoxIO's Wireshark plugin and Zeek",
        "package outputs) and on tests/data/dhcp: real clients against dnsmasq in network",
        "namespaces and crafted corner cases, whose expected values come from FoxIO's",
        "Wireshark plugin built from its source against Debian's Wireshark 4.0.17 (it",
        "reproduces the 10 corpus values first). Every message of these captures is a new",
        "(MAC, fingerprint), so each is reported once.",
        "",
        "| capture | source | matched | total |",
        "|---|---|---|---|",
    ]
    lines += ["| %s | %s | %d | %d |" % r for r in rows]
    lines += [
        "",
        "Independent references: every JA4D/JA4D6 value above (FoxIO's plugin or Zeek). "
        "The other fields (client MAC, requested or offered address, host name, vendor class) "
        "are checked against tshark's own DHCP/DHCPv6 dissectors in tests/dhcp_conformance.rs, "
        "except the DHCPv6 vendor class text (`enterprise:data`), which is our own rendering, "
        "and `message_type` names (RFC names). No reference implements dedup or decky attribution.",
        "",
    ]
    sys.exit(write_section(args.out, lines, diffs))


if __name__ == "__main__":
    main()
