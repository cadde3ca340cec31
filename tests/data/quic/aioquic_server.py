#!/usr/bin/env python3
"""Minimal QUIC server on aioquic's API: completes handshakes, answers
nothing. Used only to make test captures (see make_captures.sh).

usage: aioquic_server.py HOST PORT CERT KEY ALPN[,ALPN...] [retry]
(`retry`: answer every first Initial with a Retry packet, RFC 9000 8.1.2.)
"""
import asyncio
import sys

from aioquic.asyncio import serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.packet import QuicProtocolVersion


async def main(host: str, port: int, cert: str, key: str, alpns: list[str], retry: bool) -> None:
    config = QuicConfiguration(is_client=False, alpn_protocols=alpns)
    config.load_cert_chain(cert, key)
    # Accept both versions; a v2 client stays on v2.
    config.supported_versions = [QuicProtocolVersion.VERSION_2, QuicProtocolVersion.VERSION_1]
    await serve(host, port, configuration=config, retry=retry)
    await asyncio.Future()


if __name__ == "__main__":
    retry = len(sys.argv) > 6 and sys.argv[6] == "retry"
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split(","), retry))
