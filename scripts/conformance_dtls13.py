#!/usr/bin/env python3
"""DTLS 1.3 conformance: decnet-sniffer's dtls_client_hello on real wolfSSL
DTLS 1.3 handshakes (tests/data/dtls13) against the values of independent
tools in tests/data/dtls13/expected.tsv (tshark 4.0.17's JA3 and SNI, JA4
from tshark's fields by FoxIO's specification, FoxIO's JA4 Wireshark plugin),
printed as match counts.

Writes a Markdown section for scripts/conformance.py (`--out`, default
target/conformance/dtls13.md) and prints it.

usage: scripts/conformance_dtls13.py [--bin target/release/decnet-sniffer]
           [--corpus tests/corpus] [--out target/conformance/dtls13.md]
Exit status 1 when any value differs.
"""
import argparse
import json
import os
import subprocess
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agreement import write_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests/data/dtls13")


def ours(binary, pcap):
    out = subprocess.run(
        [binary, "read", "--dedup-ttl", "0", "--no-progress", pcap],
        check=True, capture_output=True, text=True,
    ).stdout
    return [
        rec["fields"]
        for rec in map(json.loads, out.splitlines())
        if rec["event_type"] == "dtls_client_hello"
    ]


def expected():
    """file -> [{(tool, field): value}] per ClientHello, in frame order."""
    out = OrderedDict()
    with open(os.path.join(DATA, "expected.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f.read().splitlines():
            file, frame, _client, _server, _seq, tool, field, value = line.split("\t")
            hellos = out.setdefault(file, [])
            if not hellos or hellos[-1]["frame"] != frame:
                hellos.append({"frame": frame})
            hellos[-1][(tool, field)] = value
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/decnet-sniffer"))
    ap.add_argument("--corpus", help="unused: the captures are tests/data/dtls13")
    ap.add_argument("--out", default=os.path.join(ROOT, "target/conformance/dtls13.md"))
    args = ap.parse_args()
    # (fingerprint, source) -> [matched, total]
    counts = OrderedDict()
    diffs = []

    def compare(fp, source, where, got, want):
        c = counts.setdefault((fp, source), [0, 0])
        c[1] += 1
        if got == want:
            c[0] += 1
        else:
            diffs.append("%s (%s) %s: expected `%s`, got `%s`" % (fp, source, where, want, got))

    for file, want in expected().items():
        got = ours(args.bin, os.path.join(DATA, file))
        if len(got) != len(want):
            diffs.append("%s: %d dtls_client_hello events, %d ClientHellos" % (file, len(got), len(want)))
        for g, w in zip(got, want):
            where = "%s frame %s" % (file, w["frame"])
            compare("JA3", "tshark", where, g["ja3"], w[("tshark-4.0.17", "ja3")])
            compare("SNI", "tshark", where, g["sni"], w[("tshark-4.0.17", "sni")])
            compare("JA4", "tshark fields + JA4 rules", where, g["ja4"],
                    w[("tshark-4.0.17-fields+ja4spec", "ja4")])
            # The plugin's version code differs by design (see the note).
            plugin = w[("foxio-wireshark-plugin", "ja4")]
            compare("JA4 (all but the version code)", "FoxIO Wireshark plugin, built here", where,
                    g["ja4"][:1] + g["ja4"][3:], plugin[:1] + plugin[3:])

    lines = [
        "## DTLS 1.3 (dtls_client_hello, RFC 9147)",
        "",
        "dtls_client_hello on real DTLS 1.3 handshakes of wolfSSL 5.9.4 (built from source: no",
        "Debian 12 package speaks DTLS 1.3) in tests/data/dtls13: a plain ClientHello, the",
        "second ClientHello after a cookie HelloRetryRequest and after a key-share one (that one",
        "in two handshake fragments), and one with connection ids; every later record has a",
        "unified header and gives no event. Expected values: tests/data/dtls13/expected.tsv.",
        "",
        "| fingerprint | source | matched | total |",
        "|---|---|---|---|",
    ]
    lines += ["| %s | %s | %d | %d |" % (fp, src, ok, total) for (fp, src), (ok, total) in counts.items()]
    lines += [
        "",
        "Independent references: JA3 and SNI (tshark's own values); every JA4 character but the "
        "version code (FoxIO's JA4 Wireshark plugin, commit 398a7c3, the last with client JA4, built "
        "against Debian's Wireshark 4.0.17); the whole JA4 only by the JA4 rules applied to tshark's "
        "fields. The plugin (and Arkime) write `dd2` for DTLS 1.3: they take the numeric maximum of "
        "the record version 0xfefd and supported_versions 0xfefc. We write `dd3`, FoxIO's specification "
        "(highest supported version, 0xfefc = DTLS 1.3 = `d3`; DTLS versions count down); no "
        "implementation we can run writes `d3`. `tls_version` `DTLS 1.3` is our rendering.",
        "",
    ]
    sys.exit(write_section(args.out, lines, diffs))


if __name__ == "__main__":
    main()
