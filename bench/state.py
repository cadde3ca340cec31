#!/usr/bin/env python3
"""decnet-state.json for the bench workloads: 50 deckies with IPv4 and IPv6
addresses. The generators map every server they write onto these."""

import json
import sys

N_DECKIES = 50


def decky_v4(i):
    return f"10.200.0.{i + 1}"


def decky_v6(i):
    return f"fd00:200::{i + 1:x}"


def decky_v4_bytes(i):
    return bytes([10, 200, 0, i + 1])


def decky_v6_bytes(i):
    return bytes.fromhex("fd000200000000000000000000000000")[:15] + bytes([i + 1])


def write(path):
    deckies = [
        {"name": f"bench-{i + 1:02d}", "ip": decky_v4(i), "ipv6": decky_v6(i),
         "services": ["ssh", "http", "https"]}
        for i in range(N_DECKIES)
    ]
    doc = {"config": {"interface": "eth0", "deckies": deckies},
           "compose_path": "/opt/decnet/docker-compose.yml"}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    write(sys.argv[1])
