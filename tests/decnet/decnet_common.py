"""Shared helpers for the DECNET end-to-end suite (tests/decnet/run.sh):
captures, DECNET state files written with DECNET's own code, our `read`,
and DECNET's ingester and profiler over a fresh SQLite database."""

import asyncio
import ipaddress
import json
import logging
import os
import sqlite3
import subprocess
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parents[2]

# Captures read by the suite: the bundled demo (with its deckies) and
# captures of real programs from the test data and the FoxIO corpus (their
# deckies are the servers our `read` sees without a state file).
CAPTURES = [
    "data/demo/demo.pcap",
    "tests/data/captures/tls-openssl-tls13.pcap",
    "tests/data/captures/tls-chromium-pq.pcap",
    "tests/data/captures/tls-go.pcap",
    "tests/data/captures/tls-curl-ipv6.pcap",
    "tests/data/quic/quic-v1-ipv4.pcap",
    "tests/data/quic/quic-v1-ipv6.pcap",
    "tests/data/quic/ipv6-link-local.pcap",
    "tests/data/scanners/nmap-sS.pcap",
    "tests/data/scanners/curl.pcap",
    "tests/corpus/foxio/pcap/http1-with-cookies.pcapng",
    "tests/corpus/foxio/pcap/http-empty-useragent.pcap",
    "tests/corpus/foxio/pcap/tls-handshake.pcapng",
    "tests/corpus/foxio/pcap/ssh-r.pcap",
]

# DECNET reads these at import time.
os.environ.setdefault("DECNET_TESTING", "1")
os.environ.setdefault("DECNET_DB_TYPE", "sqlite")
os.environ["DECNET_BUS_ENABLED"] = "false"
# Nothing may leave the machine: DECNET's GeoIP/ASN/intel enrichment would
# download its data sets.
for _k in ("DECNET_GEOIP_ENABLED", "DECNET_ASN_ENABLED", "DECNET_INTEL_ENABLED"):
    os.environ[_k] = "false"
# A throwaway database's admin account (DECNET requires one at start).
os.environ.setdefault("DECNET_ADMIN_PASSWORD", "e2e-throwaway-admin-pw")
os.environ.setdefault("DECNET_JWT_SECRET", "e2e-throwaway-jwt-secret-0123456789abcdef")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def read_capture(binary, pcap, out_dir, state=None, extra=()):
    """Our `read` on `pcap`; returns (log lines, JSON records)."""
    log, js = out_dir / "out.log", out_dir / "out.json"
    for p in (log, js):
        p.unlink(missing_ok=True)
    cmd = [str(binary), "read", str(pcap), "--log", str(log), "--json", str(js)]
    if state:
        cmd += ["--state", str(state)]
    run(cmd + list(extra))
    lines = log.read_text().splitlines() if log.exists() else []
    records = [json.loads(l) for l in js.read_text().splitlines()] if js.exists() else []
    return lines, records


def deckies_of(binary, pcap, out_dir):
    """The servers our `read` sees without a state file (every server is
    then a decky, named by its address)."""
    probe = out_dir / "probe"
    probe.mkdir(exist_ok=True)
    _, records = read_capture(binary, pcap, probe)
    return sorted({r["decky"] for r in records})


def write_state(path, decky_ips, interface="eth0"):
    """decnet-state.json written by DECNET's own DecnetConfig/save_state."""
    import decnet.config as dconfig
    from decnet.models import DeckyConfig, DecnetConfig

    deckies = [
        DeckyConfig(
            name=f"decky-{i + 1:02d}",
            ip=ip,
            services=["ssh", "http"],
            distro="debian",
            base_image="debian:bookworm-slim",
            hostname=f"host-{i + 1:02d}",
        )
        for i, ip in enumerate(decky_ips)
    ]
    first = ipaddress.ip_address(decky_ips[0])
    net = ipaddress.ip_network(f"{first}/{24 if first.version == 4 else 64}", strict=False)
    cfg = DecnetConfig(
        mode="unihost",
        interface=interface,
        subnet=str(net),
        gateway=str(next(net.hosts())),
        deckies=deckies,
    )
    with patch.object(dconfig, "STATE_FILE", Path(path)):
        dconfig.save_state(cfg, Path("/opt/decnet/docker-compose.yml"))
    return {d.ip: d.name for d in deckies}


def capture_state(binary, rel, work):
    """(state path, {ip: decky}) for one capture."""
    pcap = ROOT / rel
    state = work / "decnet-state.json"
    if rel == "data/demo/demo.pcap":
        demo = json.loads((ROOT / "data/demo/decnet-state.json").read_text())
        ips = [d["ip"] for d in demo["config"]["deckies"]]
    else:
        ips = deckies_of(binary, pcap, work)
    assert ips, f"{rel}: no server seen"
    return state, write_state(state, ips)


class WarningCatcher(logging.Handler):
    """Every record at WARNING or above, from any logger."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


async def _ingest_and_profile(json_path, db_path):
    from decnet.web.db.factory import get_repository
    from decnet.web import ingester
    from decnet.profiler import worker as profiler

    repo = get_repository(db_path=str(db_path))
    await repo.initialize()

    # Drive the real worker as DECNET's tests/web/test_ingester.py does:
    # its sleep ends the loop once the file is read.
    calls = 0

    async def fake_sleep(_secs):
        nonlocal calls
        calls += 1
        if calls >= 2:
            raise asyncio.CancelledError()

    log_file = json_path.with_suffix(".log")
    with patch.dict(os.environ, {"DECNET_INGEST_LOG_FILE": str(log_file)}):
        with patch.object(ingester, "_sleep", side_effect=fake_sleep):
            try:
                await ingester.log_ingestion_worker(repo)
            except asyncio.CancelledError:
                pass

    # One profiler pass; no PTR look-ups (no traffic leaves the machine).
    async def no_ptrs(ips):
        return {ip: None for ip in ips}

    with patch.object(profiler, "_resolve_ptrs_for", side_effect=no_ptrs):
        await profiler._incremental_update(repo, profiler._WorkerState())
    await repo.engine.dispose()


def ingest_and_profile(json_path, db_path):
    """DECNET's ingester over `json_path` into a fresh SQLite database at
    `db_path`, then one profiler pass. Returns the warnings logged."""
    catcher = WarningCatcher()
    root = logging.getLogger()
    root.addHandler(catcher)
    try:
        asyncio.run(_ingest_and_profile(json_path, db_path))
    finally:
        root.removeHandler(catcher)
    return catcher.records


def db_summary(db_path):
    """What DECNET's database holds: logs, bounties by type, distinct JA3
    and JA4 values, attackers."""
    con = sqlite3.connect(db_path)
    try:
        logs = con.execute("select count(*) from logs").fetchone()[0]
        bounties = {}
        values = {}
        for btype, payload in con.execute("select bounty_type, payload from bounty"):
            try:
                p = json.loads(payload)
            except ValueError:
                p = {}
            # Fingerprint bounties by their fingerprint_type (ja3, ja4l, ...).
            kind = p.get("fingerprint_type", btype) if isinstance(p, dict) else btype
            bounties[kind] = bounties.get(kind, 0) + 1
            for key in ("ja3", "ja3s", "ja4", "ja4s", "ja4l", "ja4h", "ja4_quic", "hassh"):
                v = p.get(key) if isinstance(p, dict) else None
                if v:
                    values.setdefault(key, set()).add(v)
        attackers = sorted(r[0] for r in con.execute("select ip from attackers"))
    finally:
        con.close()
    return {"logs": logs, "bounties": bounties, "values": values, "attackers": attackers}
