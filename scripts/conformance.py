#!/usr/bin/env python3
"""Conformance of decnet-sniffer against the corpus of independent tools.

Runs `decnet-sniffer read --dedup-ttl 0 FILE` (JSON lines on stdout) over
every capture of the corpus (tests/corpus/foxio/pcap) and compares the
events with what other tools computed on the same captures: FoxIO's Rust
`ja4` snapshots, FoxIO's Python ja4, tshark 4.0.17 and Suricata 7.0.10.
Writes CONFORMANCE.md with match counts per fingerprint and per source, and
lists every difference. Exits 1 if any value differs.

Known disagreements between the tools are corrected as corpus/README.md
says; each correction is listed in the report.

Each fingerprint family is one function taking a `Corpus` and returning a
`Section` (see `tls_section`); add yours to SECTIONS. A family may instead
live in its own script `scripts/conformance_<family>.py` taking `--bin`,
`--corpus` and `--out FILE.md`, writing a Markdown section and exiting 1 on
differences: every such script is run and its section included.
Python 3 stdlib only.

    python3 scripts/conformance.py [--bin target/release/decnet-sniffer]
        [--corpus tests/corpus] [--out CONFORMANCE.md]
"""

import argparse
import ipaddress
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testdata import corpus_dir  # noqa: E402
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- inputs


class Corpus:
    """The corpus files and the program's events on each capture (cached)."""

    def __init__(self, corpus_dir, binary):
        self.dir = corpus_dir
        self.foxio = os.path.join(corpus_dir, "foxio")
        self.binary = binary
        self._events = {}

    def pcaps(self):
        d = os.path.join(self.foxio, "pcap")
        return sorted(os.listdir(d))

    def pcap_path(self, name):
        return os.path.join(self.foxio, "pcap", name)

    def events(self, pcap):
        """Every event of `read` on the capture (a corpus name or a path),
        as (event_type, fields)."""
        if pcap not in self._events:
            path = pcap if os.sep in pcap else self.pcap_path(pcap)
            out = subprocess.run(
                [self.binary, "read", "--dedup-ttl", "0", "--no-progress", path],
                check=True,
                capture_output=True,
            ).stdout
            recs = []
            for line in out.splitlines():
                if line.strip():
                    r = json.loads(line)
                    recs.append((r["event_type"], r["fields"]))
            self._events[pcap] = recs
        return self._events[pcap]

    def snapshot(self, pcap):
        """FoxIO Rust ja4 records for the capture, or None without a snapshot."""
        path = os.path.join(self.foxio, "snapshots", "ja4__insta@%s.snap" % pcap)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            return parse_snapshot(f.read())

    def python_expected(self, pcap):
        path = os.path.join(self.foxio, "python-expected", pcap + ".json")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def tshark(self, pcap):
        """tshark's JA3 rows as dicts, or [] when there is no file."""
        path = os.path.join(self.foxio, "tshark-4.0.17-ja3", pcap + ".tsv")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        head = lines[0].split("|")
        return [dict(zip(head, l.split("|"))) for l in lines[1:] if l]

    def suricata(self, pcap):
        path = os.path.join(self.foxio, "suricata-7.0.10-eve", pcap + ".eve.json")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]


def unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1].replace("''", "'")
    return v


def parse_snapshot(text):
    """The YAML after the second `---` of an insta snapshot: a list of
    stream records. Top-level keys become strings; `tls_certs` becomes a
    list of certificate messages, each a list of certificate dicts."""
    body = text.split("---", 2)[2]
    records = []
    rec = None
    certs = None
    for line in body.splitlines():
        if not line.strip():
            continue
        if line.startswith("- "):
            rec = {}
            records.append(rec)
            certs = None
            line = "  " + line[2:]
        indent = len(line) - len(line.lstrip(" "))
        text_ = line.strip()
        if certs is not None and text_.startswith("- x509:"):
            certs.append([])
        elif indent == 2:
            key, _, val = text_.partition(":")
            if key == "tls_certs":
                certs = rec.setdefault("tls_certs", [])
            else:
                rec[key] = unquote(val)
                certs = None
        elif certs is not None and text_.startswith("- ") and certs:
            key, _, val = text_[2:].partition(":")
            certs[-1].append({key: unquote(val)})
        elif certs is not None and certs and certs[-1]:
            key, _, val = text_.partition(":")
            certs[-1][-1][key] = unquote(val)
    return records


def ip(text):
    """An address in one canonical text form (RFC 5952 for IPv6)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def conn(src, sport, dst, dport):
    return (ip(src), str(sport), ip(dst), str(dport))


def key_of(fields):
    return conn(fields["src_ip"], fields["src_port"], fields["dst_ip"], fields["dst_port"])


def by_connection(events, event_type):
    """Events of one type grouped by (src_ip, src_port, dst_ip, dst_port), in order."""
    out = defaultdict(list)
    for t, f in events:
        if t == event_type:
            out[key_of(f)].append(f)
    return out


# ---------------------------------------------------------------- tallies


class Section:
    """One fingerprint family's results: (fingerprint, source) -> counts."""

    def __init__(self, title):
        self.title = title
        self.counts = defaultdict(lambda: [0, 0])  # (fp, source) -> [matched, total]
        self.diffs = []
        self.notes = []
        self.corrected = 0
        self.skipped = 0

    def check(self, fp, source, where, expected, got):
        c = self.counts[(fp, source)]
        c[1] += 1
        if expected == got:
            c[0] += 1
        else:
            self.diffs.append((fp, source, where, expected, got))

    def failed(self):
        return bool(self.diffs)


# ---------------------------------------------------------------- TLS


def ja4_alpn_fix(value):
    """tls-non-ascii-alpn.pcapng: the snapshot and FoxIO's Python tool write
    `99` for the ALPN 0xBA 0xAD; the specification and Suricata say `bd`."""
    return value.replace("99_", "bd_", 1)


def tls_section(corpus):
    s = Section("TLS (JA3, JA3S, JA4, JA4S, JA4X, JA4L)")
    s.notes.append(
        "Corrections (corpus/README.md): `tls-non-ascii-alpn.pcapng` JA4 ALPN `99` "
        "read as `bd` (specification, Suricata); Suricata's hashes of empty cipher or "
        "extension lists and its merged ClientHellos in `tls-sni.pcapng` are not used; "
        "FoxIO's snapshot keeps only a connection's first ClientHello, so later ones "
        "are compared with FoxIO's Python output (`.2` values). FoxIO's Python JA4_o is "
        "taken as the Rust tool computes it when only SNI/ALPN extensions are present "
        "(Python writes zeros, Rust hashes `0000`). JA4X of TLS 1.3 sessions is not "
        "applicable: the certificate is encrypted (FoxIO's tool decrypted it with the "
        "secrets stored in the pcapng). JA4X is compared for the leaf certificate, the "
        "one `tls_certificate` reports."
    )
    for pcap in corpus.pcaps():
        events = corpus.events(pcap)
        hellos = by_connection(events, "tls_client_hello")
        sessions = by_connection(events, "tls_session")
        certs = by_connection(events, "tls_certificate")
        dtls = by_connection(events, "dtls_client_hello")

        def fix(v, pcap=pcap):
            if pcap != "tls-non-ascii-alpn.pcapng":
                return v
            s.corrected += 1
            return ja4_alpn_fix(v)

        snap = corpus.snapshot(pcap) or []
        for rec in snap:
            if rec.get("transport") != "tcp":
                continue
            k = conn(rec["src"], rec["src_port"], rec["dst"], rec["dst_port"])
            where = "%s stream %s" % (pcap, rec.get("stream"))
            ch = hellos.get(k, [])
            sh = sessions.get(k, [])
            if "ja4" in rec:
                s.check("JA4", "FoxIO Rust", where, fix(rec["ja4"]), ch[0]["ja4"] if ch else None)
            if "ja4s" in rec:
                s.check("JA4S", "FoxIO Rust", where, rec["ja4s"], sh[0].get("ja4s") if sh else None)
                for part in ("ja4l_c", "ja4l_s"):
                    if part in rec:
                        s.check(
                            "JA4L", "FoxIO Rust", where + " " + part, rec[part],
                            sh[0].get(part) if sh else None,
                        )
            for i, msg in enumerate(rec.get("tls_certs", [])):
                if rec.get("ja4s", "").startswith("t13"):
                    # TLS 1.3 certificates are encrypted; FoxIO's tool read
                    # them with the TLS secrets stored in the pcapng.
                    s.skipped += 1
                    continue
                if msg:
                    got = certs.get(k, [])
                    s.check(
                        "JA4X", "FoxIO Rust", "%s leaf of message %d" % (where, i + 1),
                        msg[0].get("ja4x"), got[i]["ja4x"] if i < len(got) else None,
                    )

        for rec in corpus.python_expected(pcap):
            k = conn(rec["src"], rec["srcport"], rec["dst"], rec["dstport"])
            ch = hellos.get(k, [])
            n = 1
            while "JA4.%d" % n in rec:
                if rec["JA4.%d" % n].startswith("q"):
                    break  # QUIC: the QUIC section's business
                where = "%s stream %s hello %d" % (pcap, rec["stream"], n)
                got = ch[n - 1] if n - 1 < len(ch) else {}
                if n > 1:
                    s.check("JA4", "FoxIO Python", where, fix(rec["JA4.%d" % n]), got.get("ja4"))
                s.check("JA4_r", "FoxIO Python", where, fix(rec["JA4_r.%d" % n]), got.get("ja4_r"))
                want_o = fix(rec["JA4_o.%d" % n])
                raw = got.get("ja4_r", "").split("_")
                if len(raw) >= 3 and raw[2] == "" and want_o.endswith("_000000000000"):
                    # FoxIO's Python tool writes zeros for JA4_o's third part
                    # when the *sorted* extension list is empty (a hello with
                    # only SNI/ALPN); the original-order list is not empty and
                    # FoxIO's Rust tool hashes it. Follow the Rust tool.
                    s.corrected += 1
                    want_o = got.get("ja4_o")
                s.check("JA4_o", "FoxIO Python", where, want_o, got.get("ja4_o"))
                n += 1

        seen = defaultdict(int)
        for row in corpus.tshark(pcap):
            types = row.get("tls.handshake.type", "").split(",")
            src = ip(row["ip.src"] or row["ipv6.src"])
            dst = ip(row["ip.dst"] or row["ipv6.dst"])
            where = "%s frame %s" % (pcap, row["frame"])
            if row["tcp.srcport"]:
                k = (src, row["tcp.srcport"], dst, row["tcp.dstport"])
                if "1" in types and row["tls.handshake.ja3"]:
                    i = seen[("ch",) + k]
                    seen[("ch",) + k] += 1
                    got = hellos.get(k, [])
                    got = got[i] if i < len(got) else {}
                    s.check("JA3", "tshark", where, row["tls.handshake.ja3"], got.get("ja3"))
                    s.check("JA3 string", "tshark", where, row["tls.handshake.ja3_full"], got.get("ja3_string"))
                if "2" in types and row["tls.handshake.ja3s"]:
                    rk = (dst, row["tcp.dstport"], src, row["tcp.srcport"])
                    i = seen[("sh",) + rk]
                    seen[("sh",) + rk] += 1
                    got = sessions.get(rk, [])
                    got = got[i] if i < len(got) else {}
                    s.check("JA3S", "tshark", where, row["tls.handshake.ja3s"], got.get("ja3s"))
            elif row["udp.srcport"] and row.get("dtls.handshake.ja3"):
                k = (src, row["udp.srcport"], dst, row["udp.dstport"])
                i = seen[("dtls",) + k]
                seen[("dtls",) + k] += 1
                got = dtls.get(k, [])
                got = got[i] if i < len(got) else {}
                s.check("JA3 (DTLS)", "tshark", where, row["dtls.handshake.ja3"], got.get("ja3"))

        for ev in corpus.suricata(pcap):
            t = ev.get("tls")
            if ev.get("event_type") != "tls" or not t or ev.get("proto") != "TCP":
                continue
            if pcap == "tls-sni.pcapng":
                s.skipped += 1  # Suricata merges two ClientHellos of one connection
                continue
            k = conn(ev["src_ip"], ev["src_port"], ev["dest_ip"], ev["dest_port"])
            where = "%s %s:%s" % (pcap, ev["src_ip"], ev["src_port"])
            ch = hellos.get(k, [])
            sh = sessions.get(k, [])
            if "ja3" in t and t["ja3"].get("hash"):
                s.check("JA3", "Suricata", where, t["ja3"]["hash"], ch[0]["ja3"] if ch else None)
            if "ja3s" in t and t["ja3s"].get("hash"):
                s.check("JA3S", "Suricata", where, t["ja3s"]["hash"], sh[0]["ja3s"] if sh else None)
            if "ja4" in t:
                # Suricata hashes an empty sorted cipher or extension list
                # where the specification writes zeros.
                raw = ch[0]["ja4_r"].split("_") if ch else []
                empty = len(raw) >= 3 and (raw[1] == "" or raw[2] == "")
                if empty:
                    s.skipped += 1
                else:
                    s.check("JA4", "Suricata", where, t["ja4"], ch[0]["ja4"] if ch else None)

    # Real-client captures (tests/data/captures) with tshark's and Suricata's values.
    cap_dir = os.path.join(ROOT, "tests", "data", "captures")
    expected = os.path.join(cap_dir, "expected.tsv")
    if os.path.exists(expected):
        fields = {"ja3": ("tls_client_hello", "ja3"), "ja3_full": ("tls_client_hello", "ja3_string"),
                  "sni": ("tls_client_hello", "sni"), "ja4": ("tls_client_hello", "ja4"),
                  "ja3s": ("tls_session", "ja3s")}
        names = {"ja3": "JA3", "ja3_full": "JA3 string", "sni": "SNI", "ja4": "JA4", "ja3s": "JA3S"}
        seen = defaultdict(int)
        with open(expected, encoding="utf-8") as f:
            rows = [l.rstrip("\n").split("\t") for l in f][1:]
        for file, _frame, client, server, tool, field, value in rows:
            if field not in fields:
                continue
            events = corpus.events(os.path.join(cap_dir, file))
            (ca, cp), (sa, sp) = [ep.rsplit(":", 1) for ep in (client, server)]
            k = conn(ca.strip("[]"), cp, sa.strip("[]"), sp)
            etype, name = fields[field]
            i = seen[(file, tool, field, k)]
            seen[(file, tool, field, k)] += 1
            got = by_connection(events, etype).get(k, [])
            got = got[i].get(name) if i < len(got) else None
            source = tool.split("-")[0].capitalize().replace("Tshark", "tshark") + " (own captures)"
            s.check(names[field], source, "%s %s" % (file, client), value, got)

    # Fragmented DTLS ClientHellos (tests/data/captures/dtls-*.pcap): tshark's
    # reassembly, and JA4 computed from tshark's fields by the FoxIO rules.
    expected = os.path.join(cap_dir, "dtls-expected.tsv")
    if os.path.exists(expected):
        names = {"ja3": "JA3 (DTLS, fragmented)", "sni": "SNI (DTLS, fragmented)",
                 "ja4": "JA4 (DTLS, fragmented)"}
        with open(expected, encoding="utf-8") as f:
            rows = [l.rstrip("\n").split("\t") for l in f][1:]
        seqs = defaultdict(set)
        for file, _frame, client, server, mseq, _tool, _field, _value in rows:
            seqs[(file, client, server)].add(int(mseq))
        for file, _frame, client, server, mseq, tool, field, value in rows:
            if field not in names:
                continue
            events = corpus.events(os.path.join(cap_dir, file))
            (ca, cp), (sa, sp) = [ep.rsplit(":", 1) for ep in (client, server)]
            k = conn(ca.strip("[]"), cp, sa.strip("[]"), sp)
            i = sorted(seqs[(file, client, server)]).index(int(mseq))
            got = by_connection(events, "dtls_client_hello").get(k, [])
            got = got[i].get(field) if i < len(got) else None
            source = "tshark" if tool.startswith("tshark") and "ja4spec" not in tool else "tshark fields + JA4 rules"
            s.check(names[field], source + " (own captures)", "%s %s seq %s" % (file, client, mseq), value, got)
    return s


# ---------------------------------------------------------------- report

SECTIONS = [tls_section]


def external_sections(binary, corpus_dir):
    """Runs every scripts/conformance_<family>.py; returns (markdown, ok) each."""
    out = []
    scripts = os.path.join(ROOT, "scripts")
    for name in sorted(os.listdir(scripts)):
        if not (name.startswith("conformance_") and name.endswith(".py")):
            continue
        md = os.path.join(ROOT, "target", "conformance", name[len("conformance_"):-3] + ".md")
        os.makedirs(os.path.dirname(md), exist_ok=True)
        r = subprocess.run(
            [sys.executable, os.path.join(scripts, name), "--bin", binary, "--corpus", corpus_dir, "--out", md],
            capture_output=True,
            text=True,
        )
        text = open(md, encoding="utf-8").read() if os.path.exists(md) else ""
        if not text:
            text = "## %s\n\nThe script failed:\n\n```\n%s\n```\n" % (name, r.stderr[-2000:])
        out.append((text, r.returncode == 0))
    return out


def write_report(sections, external, path):
    lines = [
        "# Conformance",
        "",
        "Generated by `scripts/conformance.py` (`make conformance`): decnet-sniffer's",
        "events on the corpus captures compared with independent tools. Do not edit.",
        "",
    ]
    for s in sections:
        lines += ["## " + s.title, "", "| fingerprint | source | matched | total |", "|---|---|---|---|"]
        for (fp, src), (ok, total) in sorted(s.counts.items()):
            lines.append("| %s | %s | %d | %d |" % (fp, src, ok, total))
        lines.append("")
        if s.corrected or s.skipped:
            lines.append(
                "%d expected values corrected and %d not applicable, as the notes say." % (s.corrected, s.skipped)
            )
            lines.append("")
        lines += s.notes
        if s.notes:
            lines.append("")
        if s.diffs:
            lines += ["Differences:", ""]
            for fp, src, where, exp, got in s.diffs:
                lines.append("- %s (%s) %s: expected `%s`, got `%s`" % (fp, src, where, exp, got))
            lines.append("")
    for text, _ in external:
        lines += [text.rstrip("\n"), ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "decnet-sniffer"))
    ap.add_argument("--corpus", help="default: $DECNET_CORPUS, else tests/corpus")
    ap.add_argument("--out", default=os.path.join(ROOT, "CONFORMANCE.md"))
    args = ap.parse_args()
    args.corpus = corpus_dir(args.corpus)
    corpus = Corpus(args.corpus, args.bin)
    sections = [f(corpus) for f in SECTIONS]
    external = external_sections(args.bin, args.corpus)
    write_report(sections, external, args.out)
    for s in sections:
        for (fp, src), (ok, total) in sorted(s.counts.items()):
            print("%-12s %-14s %4d/%d" % (fp, src, ok, total))
    failed = any(s.failed() for s in sections) or not all(ok for _, ok in external)
    print("%s: %s" % (args.out, "differences found" if failed else "all values match"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
