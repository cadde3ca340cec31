#!/usr/bin/env python3
"""Expected SSH/HTTP values of the captures in DIR, from independent tools:
tshark (banners, HASSH, HTTP request fields, and the TCP segments JA4SSH is
counted over), Suricata 7 (HASSH) and the ja4plus package from PyPI (JA4H,
JA4SSH). Nothing here runs decnet-sniffer.

usage: expected.py DIR JA4PLUS_BIN > DIR/expected.tsv
Output: file, client port, event, field, value, source (tab-separated).

JA4SSH from tshark follows FoxIO's reference tool exactly: a segment the SSH
dissector was given is an SSH packet, a segment without it whose TCP flags
are exactly ACK is a bare ACK, windows of 200 SSH packets, mode ties to the
smaller length (this reproduces all 23 JA4SSH values of FoxIO's snapshots
of the corpus captures)."""
import collections
import json
import os
import subprocess
import sys
import tempfile

DIR, JA4PLUS = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
SURICATA_YAML = os.path.join(HERE, "../../../scripts/captures/suricata.yaml")
DECODE = ["-d", "tcp.port==2222,ssh"]
rows = []


def emit(f, port, event, field, value, source):
    rows.append((f, str(port), event, field, value, source))


def tshark(path, fields, extra=()):
    cmd = ["tshark", "-r", path, *DECODE, *extra, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x1f"]
    for fl in fields:
        cmd += ["-e", fl]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        yield dict(zip(fields, line.split("\t")))


def last(v):
    return v.split("\x1f")[-1] if v else v


def streams(path):
    """stream id -> client port (the SYN's sender)."""
    client = {}
    for p in tshark(path, ["tcp.stream", "tcp.srcport", "tcp.flags"]):
        if p["tcp.stream"] and p["tcp.stream"] not in client and p["tcp.flags"] == "0x0002":
            client[p["tcp.stream"]] = p["tcp.srcport"]
    return client


def ssh_tshark(f, path):
    client = streams(path)
    first_line = {}
    fields = ["tcp.stream", "tcp.srcport", "tcp.len", "tcp.flags", "frame.protocols", "ssh.protocol", "ssh.kex.hassh", "ssh.kex.hasshserver", "tcp.payload", "tcp.analysis.retransmission"]
    stats = {}
    for p in tshark(path, fields):
        sid = p["tcp.stream"]
        if sid not in client:
            continue
        port = client[sid]
        is_client = p["tcp.srcport"] == port
        if p["ssh.protocol"]:
            emit(f, port, "ssh", "ssh_version" if is_client else "ssh_server_version", last(p["ssh.protocol"]), "tshark ssh.protocol")
        if p["ssh.kex.hassh"]:
            emit(f, port, "ssh", "hassh", p["ssh.kex.hassh"], "tshark ssh.kex.hassh")
        if p["ssh.kex.hasshserver"]:
            emit(f, port, "ssh", "hassh_server", p["ssh.kex.hasshserver"], "tshark ssh.kex.hasshserver")
        if is_client and p["tcp.payload"]:
            first_line.setdefault(sid, b"")
            if b"\n" not in first_line[sid]:
                first_line[sid] += bytes.fromhex(p["tcp.payload"])
        # JA4SSH over the segments as FoxIO's tool counts them
        st = stats.setdefault(sid, {"ssh": False, "cur": None, "fps": []})
        if st["cur"] is None:
            st["cur"] = {"l": [collections.Counter(), collections.Counter()], "p": [0, 0], "a": [0, 0]}
        c, i = st["cur"], 0 if is_client else 1
        if "ssh" in p["frame.protocols"].split(":"):
            st["ssh"] = True
            c["l"][i][int(p["tcp.len"])] += 1
            c["p"][i] += 1
        elif p["tcp.flags"] == "0x0010":
            c["a"][i] += 1
        if sum(c["p"]) == 200:
            st["fps"].append(ja4ssh(c))
            st["cur"] = None
    for sid, line in first_line.items():
        text = line.split(b"\n")[0]
        text = text[:-1] if text.endswith(b"\r") else text
        emit(f, client[sid], "ssh", "first_client_line_hex", text[:255].hex(), "tshark tcp.payload")
    for sid, st in stats.items():
        if st["cur"] and sum(st["cur"]["p"]):
            st["fps"].append(ja4ssh(st["cur"]))
        if st["ssh"] and st["fps"]:
            emit(f, client[sid], "ssh", "ja4ssh", ",".join(st["fps"]), "tshark segments, FoxIO's counting rule")


def mode(cn):
    if not cn:
        return 0
    m = max(cn.values())
    return min(k for k, v in cn.items() if v == m)


def ja4ssh(c):
    return f"c{mode(c['l'][0])}s{mode(c['l'][1])}_c{c['p'][0]}s{c['p'][1]}_c{c['a'][0]}s{c['a'][1]}"


def http_tshark(f, path):
    fields = ["tcp.srcport", "http.request.method", "http.request.uri", "http.host", "http.user_agent", "http.cookie", "http.accept_language"]
    names = ["method", "path", "host", "user_agent", "cookie", "accept_language"]
    for p in tshark(path, fields, ["-Y", "http.request", "-d", "tcp.port==22,http"]):
        for sub in range(len(p["http.request.method"].split("\x1f"))):
            for fl, name in zip(fields[1:], names):
                vals = p[fl].split("\x1f") if p[fl] else []
                emit(f, p["tcp.srcport"], "http", name, vals[sub] if sub < len(vals) else "", f"tshark {fl}")


def suricata(f, path):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["suricata", "-r", path, "-k", "none", "--runmode", "single", "-c", SURICATA_YAML, "-l", out],
                       capture_output=True, check=True)
        for line in open(os.path.join(out, "eve.json")):
            ev = json.loads(line)
            if ev.get("event_type") != "ssh":
                continue
            ssh = ev["ssh"]
            for side, field in (("client", "hassh"), ("server", "hassh_server")):
                h = ssh.get(side, {}).get("hassh", {}).get("hash")
                if h:
                    emit(f, ev["src_port"], "ssh", field, h, f"suricata ssh.{side}.hassh")


def ja4plus(f, path):
    out = subprocess.run([JA4PLUS, "--format", "json", "--types", "ja4h,ja4ssh", "analyze", path],
                         capture_output=True, text=True, check=True).stdout
    per = collections.defaultdict(list)
    for line in out.splitlines():
        r = json.loads(line)
        per[(r["type"], r["src_port"])].append(r["fingerprint"])
    for (typ, port), vals in sorted(per.items()):
        if typ == "ja4h":
            for v in vals:
                emit(f, port, "http", "ja4h", v, "ja4plus (PyPI)")
        else:
            emit(f, port, "ssh", "ja4ssh", ",".join(vals), "ja4plus (PyPI)")


for f in sorted(os.listdir(DIR)):
    if not f.endswith(".pcap"):
        continue
    path = os.path.join(DIR, f)
    if f.startswith("ssh-"):
        ssh_tshark(f, path)
        suricata(f, path)
    http_tshark(f, path)
    ja4plus(f, path)

print("# file\tclient_port\tevent\tfield\tvalue\tsource")
for r in rows:
    print("\t".join(r))
