#!/usr/bin/env python3
"""Cleartext HTTP/2 conformance: decnet-sniffer's h2c
http_request_fingerprint against independent references, printed as match
counts.

- Akamai preface fingerprint (`http2_fingerprint`) of our captures
  (tests/data/h2c, tests/data/h2c/make-captures.sh) against tshark 4.0's
  http2 dissector (SETTINGS, WINDOW_UPDATE, PRIORITY frames, pseudo-header
  order) and against the values the clients' sources give (curl 7.88.1,
  nghttp 1.52.0, Go x/net/http2 0.7.0; see tests/h2c.rs).
- JA4H of the same captures computed from tshark's decoded header fields by
  FoxIO's Python definition (to_ja4h for `http2`).
- JA4H of HTTP/2 header fields against FoxIO's Wireshark plugin output for
  their http2-with-cookies capture is checked by tests/h2c.rs (its fields
  are TLS-encrypted: this program reads no TLS payload).

Writes a Markdown section for scripts/conformance.py (`--out`, default
target/conformance/h2c.md) and prints the counts.

usage: scripts/conformance_h2c.py [--bin target/release/decnet-sniffer]
           [--corpus tests/corpus] [--out target/conformance/h2c.md]
Exit status 1 when any value differs.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agreement import Tally  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests/data/h2c")
PORT = "8080"
DOCUMENTED = {
    "curl-prior-knowledge": "3:100;4:33554432;2:0|33488897|0|m,p,s,a",
    "curl-upgrade": "3:100;4:33554432;2:0|33488897|0|",
    "nghttp-prior-knowledge": "3:100;4:65535|00|3:0:0:201,5:0:0:101,7:0:0:1,9:0:7:1,11:0:3:1|m,p,s,a",
    "nghttp-upgrade": "3:100;4:65535|00|3:0:0:201,5:0:0:101,7:0:0:1,9:0:7:1,11:0:3:1,1:0:11:16|",
    "go-prior-knowledge": "2:0;4:4194304;6:10485760|1073741824|0|a,m,p,s",
}
SETTINGS_FIELD = {
    1: "http2.settings.header_table_size",
    2: "http2.settings.enable_push",
    3: "http2.settings.max_concurrent_streams",
    4: "http2.settings.initial_window_size",
    5: "http2.settings.max_frame_size",
    6: "http2.settings.max_header_list_size",
}
FIELDS = [
    "http2.type", "http2.flags", "http2.streamid", "http2.settings.id",
    *SETTINGS_FIELD.values(),
    "http2.window_update.window_size_increment", "http2.exclusive",
    "http2.stream_dependency", "http2.headers.weight_real",
    "http2.header.name", "http2.header.value",
]


def num(s):
    return int(s, 16) if s.startswith("0x") else int(s)


def tshark(name):
    """(settings, window update, priorities, first HEADERS fields)."""
    cmd = ["tshark", "-r", os.path.join(DATA, name + ".pcap")]
    if "upgrade" not in name:
        cmd += ["-d", f"tcp.port=={PORT},http2"]
    cmd += ["-Y", f"tcp.dstport=={PORT} && http2", "-T", "fields",
            "-E", "separator=\x1f", "-E", "aggregator=\x1e"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    settings, wu, prios, headers = [], None, [], []
    # Not splitlines(): it also splits at the separators chosen above.
    for line in filter(None, out.split("\n")):
        cols = {f: (c.split("\x1e") if c else []) for f, c in zip(FIELDS, line.split("\x1f"))}
        taken = {}
        ids = iter(cols["http2.settings.id"])
        incs = iter(cols["http2.window_update.window_size_increment"])
        prio = 0
        for i, ty in enumerate(cols["http2.type"]):
            ty, fl = num(ty), num(cols["http2.flags"][i])
            stream = num(cols["http2.streamid"][i])
            if ty == 4 and not fl & 1:
                for sid in ids:
                    f = SETTINGS_FIELD[num(sid)]
                    k = taken.get(f, 0)
                    taken[f] = k + 1
                    settings.append(f"{num(sid)}:{num(cols[f][k])}")
            elif ty == 8:
                inc = num(next(incs))
                if stream == 0 and wu is None:
                    wu = inc
            elif ty == 2 or (ty == 1 and fl & 0x20):
                if ty == 2:
                    prios.append("%d:%d:%d:%d" % (
                        stream, num(cols["http2.exclusive"][prio]),
                        num(cols["http2.stream_dependency"][prio]),
                        num(cols["http2.headers.weight_real"][prio])))
                prio += 1
            if ty == 1 and not headers:
                values = cols["http2.header.value"] + [""] * len(cols["http2.header.name"])
                headers = list(zip(cols["http2.header.name"], values))
        if headers:
            break
    return settings, wu, prios, headers


def akamai(settings, wu, prios, headers):
    letters = {":method": "m", ":authority": "a", ":scheme": "s", ":path": "p"}
    ps = [letters[n] for n, _ in headers if n in letters]
    return "%s|%s|%s|%s" % (";".join(settings), "00" if wu is None else wu,
                            ",".join(prios) or "0", ",".join(ps))


def sha12(items):
    s = ",".join(items)
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "0" * 12


def foxio_ja4h(headers):
    """FoxIO python/ja4h.py to_ja4h for an `http2` layer."""
    method = dict(headers)[":method"].lower()[:2]
    names = [n for n, _ in headers
             if not n.startswith(":") and not n.startswith("cookie") and n != "referer" and n]
    cookies = [v for n, v in headers if n == "cookie"]
    pairs = sorted(((c.split("=", 1)[0].strip(), c.strip()) for c in cookies), key=lambda p: p[0])
    lang = dict(headers).get("accept-language")
    if lang is not None:
        lang = lang.replace("-", "").replace(";", ",").lower().split(",")[0][:4]
        lang = lang + "0" * (4 - len(lang))
    else:
        lang = "0000"
    return "%s20%s%s%02d%s_%s_%s_%s" % (
        method, "c" if cookies else "n",
        "r" if any(n == "referer" for n, _ in headers) else "n",
        min(len(names), 99), lang, sha12(names),
        sha12([p[0] for p in pairs]), sha12([p[1] for p in pairs]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/decnet-sniffer"))
    ap.add_argument("--corpus")
    ap.add_argument("--out", default=os.path.join(ROOT, "target/conformance/h2c.md"))
    args = ap.parse_args()
    t = Tally()
    for name, documented in DOCUMENTED.items():
        out = subprocess.run(
            [args.bin, "read", "--dedup-ttl", "0", "--no-progress", os.path.join(DATA, name + ".pcap")],
            check=True, capture_output=True, text=True,
        ).stdout
        evs = [json.loads(l)["fields"] for l in out.splitlines()]
        evs = [f for f in evs if f.get("proto") == "h2c"]
        ev = evs[0] if len(evs) == 1 else {}
        settings, wu, prios, headers = tshark(name)
        t.check(("http2_fingerprint", "tshark http2"), name, ev.get("http2_fingerprint"),
                akamai(settings, wu, prios, headers))
        t.check(("http2_fingerprint", "client source"), name, ev.get("http2_fingerprint"), documented)
        if headers:
            t.check(("ja4h", "FoxIO Python rule on tshark fields"), name, ev.get("ja4h"), foxio_ja4h(headers))
    md = [
        "## Cleartext HTTP/2 (h2c: JA4H, Akamai preface fingerprint)",
        "",
        "Our captures (tests/data/h2c: curl 7.88.1, nghttp 1.52.0 and Go x/net/http2 by prior",
        "knowledge and by Upgrade; tests/data/h2c/make-captures.sh) against tshark 4.0.17's http2",
        "dissector and the SETTINGS, window and PRIORITY frames the clients' sources build.",
        "JA4H: FoxIO's Python definition applied to tshark's decoded header fields (upgrade",
        "captures carry their request as HTTP/1.1: no HTTP/2 JA4H). tests/h2c.rs also checks",
        "JA4H of HTTP/2 header fields against FoxIO's Wireshark plugin on their",
        "http2-with-cookies capture (3 values; fields rebuilt from its `ja4h_ro`, the capture",
        "being TLS). No independent reference: the JA4H of a cookie field without `=` and of",
        "pseudo-header fields other than the four (FoxIO's Rust tool counts pseudo-headers as",
        "headers, its Python tool and Wireshark plugin do not; we follow the latter two).",
        "",
        "| fingerprint | source | matched | total |",
        "|---|---|---|---|",
    ]
    return t.write(args.out, md)


if __name__ == "__main__":
    sys.exit(main())
