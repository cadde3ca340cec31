#!/usr/bin/env python3
"""Minimal QUIC client on aioquic's API: one handshake, then close. Used
only to make test captures (see make_captures.sh).

usage: aioquic_client.py HOST PORT SNI VERSION(1|2) ALPN[,ALPN...]
"""
import asyncio
import ssl
import sys

from aioquic.asyncio import connect
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.packet import QuicProtocolVersion


async def main(host: str, port: int, sni: str, version: str, alpns: list[str]) -> None:
    config = QuicConfiguration(is_client=True, alpn_protocols=alpns, server_name=sni)
    config.verify_mode = ssl.CERT_NONE
    v = QuicProtocolVersion.VERSION_2 if version == "2" else QuicProtocolVersion.VERSION_1
    config.supported_versions = [v]
    async with connect(host, port, configuration=config) as conn:
        await conn.ping()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split(",")))
