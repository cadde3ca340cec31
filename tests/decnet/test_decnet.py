"""DECNET 1.0.0's own code consumes every event of ours, completely.

Run by tests/decnet/run.sh (a venv with decnet==1.0.0 from PyPI):
- DECNET's ingester (log_ingestion_worker) and one profiler pass over our
  JSON, into a fresh SQLite database through DECNET's repository;
- DECNET's correlation parser and collector parse_rfc5424 on every line;
- DECNET's BusServer receiving `read --bus` and `run --bus` publications.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import decnet_common as c  # noqa: E402

BINARY = Path(os.environ.get("DECNET_SNIFFER_BIN", c.ROOT / "target/debug/decnet-sniffer"))
# The event types our sniffer publishes on DECNET's bus (docs/spec.md section 7).
BUS_TYPES = {
    "tls_session", "tcp_flow_timing", "tcp_syn_fingerprint", "ssh_client_banner",
    "ssh_kex_fingerprint", "quic_client_hello", "http_request_fingerprint",
    "ipv6_link_local_leak", "client_mismatch",
}
# Warnings DECNET logs about its own installation, not about our data: its
# wheel lacks the prober's p0f v2 databases.
OWN_WARNINGS = ("p0f-v2: missing required DB file",)


def openers(pcap, deckies):
    """Who opened a connection, from tshark's decoding of the packets: TCP
    SYNs, UDP datagrams and ICMPv6 echo requests sent to a decky, and SYNs a
    decky sent outward."""
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=\t",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", "tcp.flags", "-e", "udp.srcport", "-e", "icmpv6.type"],
        check=True, capture_output=True, text=True).stdout
    found = set()
    for row in out.splitlines():
        f = (row.split("\t") + [""] * 7)[:7]
        # The outer addresses (tunnels list several, comma-separated).
        src = (f[0] or f[1]).split(",")[0]
        dst = (f[2] or f[3]).split(",")[0]
        if not src or not dst:
            continue
        syn = bool(f[4]) and (int(f[4], 16) & 0x12) == 0x02
        opens = syn or bool(f[5]) or f[6] == "128"
        if dst in deckies and opens:
            found.add(src)
        elif syn and src in deckies and dst not in deckies:
            found.add(src)
    return found


class Pipeline(unittest.TestCase):
    """Every capture through our `read`, then DECNET's ingester and profiler."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="decnet-e2e-"))
        cls.runs = []
        for i, rel in enumerate(c.CAPTURES):
            work = cls.tmp / f"{i:02d}"
            work.mkdir()
            state, deckies = c.capture_state(BINARY, rel, work)
            lines, records = c.read_capture(BINARY, c.ROOT / rel, work, state)
            warnings = c.ingest_and_profile(work / "out.json", work / "db.sqlite")
            cls.runs.append({
                "rel": rel, "deckies": deckies, "lines": lines, "records": records,
                "warnings": warnings, "db": c.db_summary(work / "db.sqlite"),
                "state": state, "work": work,
            })

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_state_files_are_decnets(self):
        from decnet.models import DecnetConfig
        for r in self.runs:
            data = json.loads(r["state"].read_text())
            DecnetConfig(**data["config"])
            self.assertEqual(
                {d["ip"]: d["name"] for d in data["config"]["deckies"]}, r["deckies"], r["rel"])

    def test_every_line_becomes_a_logs_row(self):
        total = 0
        for r in self.runs:
            self.assertTrue(r["lines"], r["rel"])
            self.assertEqual(len(r["lines"]), len(r["records"]), r["rel"])
            self.assertEqual(r["db"]["logs"], len(r["records"]), r["rel"])
            total += len(r["records"])
        print(f"\n  {total} lines, {total} logs rows", file=sys.stderr)

    def test_nothing_warns(self):
        for r in self.runs:
            bad = [w.getMessage() for w in r["warnings"]
                   if not w.getMessage().startswith(OWN_WARNINGS)]
            self.assertEqual(bad, [], r["rel"])

    def test_bounty_types_of_decnets_own_sniffer(self):
        kinds = set()
        for r in self.runs:
            kinds |= set(r["db"]["bounties"])
        for want in ("ja3", "ja4l", "tls_certificate", "ja4_quic", "ja4h"):
            self.assertIn(want, kinds)

    def test_ja4h_bounties_carry_remote_port(self):
        import sqlite3
        seen = 0
        for r in self.runs:
            con = sqlite3.connect(r["work"] / "db.sqlite")
            for (payload,) in con.execute("select payload from bounty"):
                p = json.loads(payload)
                if p.get("fingerprint_type") == "ja4h":
                    self.assertTrue(str(p.get("remote_port") or "").isdigit(), p)
                    seen += 1
            con.close()
        self.assertGreater(seen, 0)

    def test_attackers_are_the_hosts_that_opened_connections(self):
        for r in self.runs:
            want = openers(c.ROOT / r["rel"], r["deckies"])
            self.assertEqual(set(r["db"]["attackers"]), want, r["rel"])

    def test_decnets_parsers_lose_only_values_holding_a_bracket(self):
        from decnet.collector.worker import parse_rfc5424
        from decnet.correlation.parser import parse_line
        checked = 0
        for r in self.runs:
            for line, rec in zip(r["lines"], r["records"]):
                self.assertEqual(rec["raw_line"], line)
                ev = parse_line(line)
                col = parse_rfc5424(line)
                self.assertIsNotNone(ev, line)
                self.assertIsNotNone(col, line)
                self.assertEqual(ev.event_type, rec["event_type"])
                self.assertEqual(col["event_type"], rec["event_type"])
                for name, value in rec["fields"].items():
                    if "]" in value:
                        continue
                    self.assertEqual(ev.fields.get(name), value, (name, line))
                    self.assertEqual(col["fields"].get(name), value, (name, line))
                    checked += 1
        self.assertGreater(checked, 1000)


class Brackets(unittest.TestCase):
    """Values holding `]` (IPv6 remote_addr, headers_ordered, a `]` in
    Accept-Language) go last: DECNET's parsers keep everything else."""

    def test_hostile_request(self):
        from decnet.collector.worker import parse_rfc5424
        from decnet.correlation.parser import parse_line
        from scapy.layers.inet6 import IPv6
        from scapy.layers.inet import TCP
        from scapy.layers.l2 import Ether
        from scapy.utils import wrpcap

        req = (b"GET /x HTTP/1.1\r\nHost: a]b\r\nAccept-Language: x]\r\n"
               b"User-Agent: u\r\nCookie: k=v]\r\n\r\n")
        c_, s_ = "fd77::2", "fd77::1"
        # Both MACs given: scapy never resolves (nor sends) anything.
        to_s = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
        to_c = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        pkts = [
            to_s / IPv6(src=c_, dst=s_) / TCP(sport=40000, dport=80, flags="S", seq=1),
            to_c / IPv6(src=s_, dst=c_) / TCP(sport=80, dport=40000, flags="SA", seq=9, ack=2),
            to_s / IPv6(src=c_, dst=s_) / TCP(sport=40000, dport=80, flags="A", seq=2, ack=10),
            to_s / IPv6(src=c_, dst=s_) / TCP(sport=40000, dport=80, flags="PA", seq=2, ack=10) / req,
        ]
        work = Path(tempfile.mkdtemp(prefix="decnet-br-"))
        try:
            wrpcap(str(work / "b.pcap"), pkts)
            state = work / "decnet-state.json"
            c.write_state(state, [s_])
            lines, records = c.read_capture(BINARY, work / "b.pcap", work, state)
            http = [(l, r) for l, r in zip(lines, records)
                    if r["event_type"] == "http_request_fingerprint"]
            self.assertEqual(len(http), 1)
            line, rec = http[0]
            f = rec["fields"]
            self.assertIn("]", f["ja4h"])  # the Accept-Language tag
            self.assertEqual(f["remote_addr"], "[fd77::2]:40000")
            self.assertEqual(f["remote_port"], "40000")
            for parsed in (parse_line(line).fields, parse_rfc5424(line)["fields"]):
                for name in ("src_ip", "src_port", "dst_ip", "dst_port", "method", "path",
                             "proto", "user_agent", "remote_port"):
                    self.assertEqual(parsed.get(name), f[name], (name, line))
            # The record keeps the line's order.
            names = [p.split("=", 1)[0] for p in line.split("[relay@55555 ", 1)[1].split('" ')]
            self.assertEqual(names, list(f))
        finally:
            shutil.rmtree(work, ignore_errors=True)


async def _collect(sock, produce, want, timeout=30.0):
    """DECNET's BusServer on `sock`, one subscriber of decky.*.traffic;
    `produce()` (a coroutine) publishes; returns the events once `want`
    have arrived (or the time is up)."""
    from decnet.bus.unix_client import UnixSocketBus
    from decnet.bus.unix_server import BusServer

    server = BusServer(sock, group=None)
    await server.start()
    sub_bus = UnixSocketBus(sock, client_name="e2e-subscriber")
    await sub_bus.connect()
    sub = sub_bus.subscribe("decky.*.traffic")
    await asyncio.sleep(0.3)  # the SUB frame reaches the server
    got = []

    async def reader():
        async for ev in sub:
            got.append(ev)
            if len(got) >= want:
                return

    task = asyncio.create_task(reader())
    await produce()
    try:
        await asyncio.wait_for(task, timeout)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.5)  # anything beyond `want` shows up too
    await sub_bus.close()
    await server.close()
    return got


def traffic_records(records):
    return [r for r in records if r["event_type"] in BUS_TYPES]


class Bus(unittest.TestCase):
    def check(self, events, records, deckies):
        want = traffic_records(records)
        self.assertEqual(len(events), len(want))
        key = lambda t, p: (t, json.dumps(p, sort_keys=True))
        got = sorted(key(e.type, e.payload) for e in events)
        self.assertEqual(got, sorted(key(r["event_type"], r["fields"]) for r in want))
        for e in events:
            self.assertRegex(e.topic, r"^decky\.[^.]+\.traffic$")
        names = {e.topic.split(".")[1] for e in events}
        self.assertTrue(names <= set(deckies.values()), names)

    def test_read_publishes_every_traffic_event(self):
        work = Path(tempfile.mkdtemp(prefix="decnet-bus-"))
        try:
            state = work / "decnet-state.json"
            demo = json.loads((c.ROOT / "data/demo/decnet-state.json").read_text())
            deckies = c.write_state(state, [d["ip"] for d in demo["config"]["deckies"]])
            sock = work / "bus.sock"
            pcap = c.ROOT / "data/demo/demo.pcap"
            _, records = c.read_capture(BINARY, pcap, work, state)

            async def produce():
                p = await asyncio.create_subprocess_exec(
                    str(BINARY), "read", str(pcap), "--state", str(state),
                    "--log", str(work / "b.log"), "--json", str(work / "b.json"),
                    "--bus", f"decnet:{sock}")
                self.assertEqual(await p.wait(), 0)

            events = asyncio.run(_collect(sock, produce, len(traffic_records(records))))
            self.check(events, records, deckies)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_run_publishes_every_traffic_event(self):
        if os.geteuid() != 0 or not shutil.which("tcpreplay"):
            self.skipTest("needs root and tcpreplay")
        ns = f"dne2e{os.getpid() % 10000}"
        work = Path(tempfile.mkdtemp(prefix="decnet-run-"))
        sh = lambda *a: subprocess.run(a, check=True, capture_output=True)
        try:
            sh("ip", "netns", "add", f"{ns}s")
            sh("ip", "netns", "add", f"{ns}r")
            sh("ip", "link", "add", f"{ns}a", "type", "veth", "peer", "name", f"{ns}b")
            sh("ip", "link", "set", f"{ns}a", "netns", f"{ns}s")
            sh("ip", "link", "set", f"{ns}b", "netns", f"{ns}r")
            for n, i in ((f"{ns}s", f"{ns}a"), (f"{ns}r", f"{ns}b")):
                sh("ip", "netns", "exec", n, "ip", "link", "set", i, "up")
                # No IPv6 of their own on the wire: only the replayed frames.
                sh("ip", "netns", "exec", n, "sysctl", "-qw", f"net.ipv6.conf.{i}.disable_ipv6=1")
            state = work / "decnet-state.json"
            demo = json.loads((c.ROOT / "data/demo/decnet-state.json").read_text())
            deckies = c.write_state(state, [d["ip"] for d in demo["config"]["deckies"]],
                                    interface=f"{ns}a")
            pcap = c.ROOT / "data/demo/demo.pcap"
            _, records = c.read_capture(BINARY, pcap, work, state)
            sock = work / "bus.sock"
            log, js = work / "run.log", work / "run.json"

            async def produce():
                with open(work / "stderr", "wb") as err:
                    d = await asyncio.create_subprocess_exec(
                        "ip", "netns", "exec", f"{ns}s", str(BINARY), "run", "--iface", f"{ns}a",
                        "--state", str(state), "--log", str(log), "--json", str(js),
                        "--bus", f"decnet:{sock}", stderr=err)
                deadline = time.time() + 20
                while b"capturing on" not in (work / "stderr").read_bytes():
                    self.assertLess(time.time(), deadline, (work / "stderr").read_text())
                    await asyncio.sleep(0.1)
                r = await asyncio.create_subprocess_exec(
                    "ip", "netns", "exec", f"{ns}r", "tcpreplay", "-q", "-i", f"{ns}b",
                    "--mbps", "20", str(pcap),
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
                self.assertEqual(await r.wait(), 0)
                await asyncio.sleep(1.0)
                d.send_signal(signal.SIGTERM)
                self.assertEqual(await d.wait(), 0, (work / "stderr").read_text())

            events = asyncio.run(_collect(sock, produce, len(traffic_records(records)), 40))
            run_records = [json.loads(l) for l in js.read_text().splitlines()]
            # Live, the daemon's own JSON is the reference: same events as
            # `read` of the capture, each published with its fields.
            self.assertEqual(len(traffic_records(run_records)), len(traffic_records(records)))
            self.check(events, run_records, deckies)
        finally:
            for n in (f"{ns}s", f"{ns}r"):
                subprocess.run(["ip", "netns", "del", n], capture_output=True)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
