#!/usr/bin/env python3
"""Test clients that need more control than curl/wget/ssh give.
usage: clients.py SCENARIO HOST PORT"""
import socket
import sys
import time

scenario, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])


def connect():
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def drain(s, until=None, timeout=2.0):
    s.settimeout(timeout)
    data = b""
    try:
        while until is None or until not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


if scenario == "ssh-odd-banners":
    # (a) a banner with NUL, control bytes and invalid UTF-8, after the server's
    s = connect()
    drain(s, b"\n")
    s.sendall(b"SSH-2.0-Evil\x00\x01\x1b[31m\xff\xfe tool\r\n")
    drain(s, timeout=1.0)
    s.close()
    time.sleep(0.3)
    # (b) a banner without newline, then the client goes away
    s = connect()
    s.sendall(b"SSH-2.0-nonewline")
    drain(s, b"\n")
    time.sleep(0.3)
    s.close()
    time.sleep(0.3)
    # (c) an HTTP request to an SSH server: reported as the client's banner
    s = connect()
    drain(s, b"\n")
    s.sendall(b"GET / HTTP/1.0\r\nHost: ssh.example\r\n\r\n")
    drain(s, timeout=1.0)
    s.close()
    time.sleep(0.3)
    # (d) a banner split over three segments
    s = connect()
    for part in (b"SSH-2.0-Spl", b"itBanner_1.0 com", b"ment\r\n"):
        s.sendall(part)
        time.sleep(0.2)
    drain(s, timeout=1.0)
    s.close()
    time.sleep(0.3)
    # (e) a client that speaks first, before the server's banner, and not SSH
    s = connect()
    s.sendall(b"GET /probe HTTP/1.1\r\nHost: early.example\r\n\r\n")
    drain(s, timeout=1.0)
    s.close()
elif scenario == "http-split-pipelined":
    # A request head split over three segments, then three pipelined
    # requests in one segment (one with a body), then a request whose
    # header block is 40 KiB (reported by no one: too long), then a last one.
    s = connect()
    head = (
        b"PROPFIND /dav/ HTTP/1.1\r\nHost: split.example\r\nUser-Agent: splitter/1.0\r\n"
        b"Accept-Language: fr-CH, fr;q=0.9\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n"
    )
    for part in (head[:7], head[7:60], head[60:]):
        s.sendall(part)
        time.sleep(0.2)
    drain(s, b"ok\n")
    s.sendall(
        b"GET /a HTTP/1.1\r\nHost: pipe.example\r\nCookie: z=26; a=1\r\n\r\n"
        b"POST /b HTTP/1.1\r\nHost: pipe.example\r\nContent-Length: 5\r\nReferer: http://pipe.example/a\r\n\r\nhello"
        b"FOO /c HTTP/1.0\r\nHost: pipe.example\r\nConnection: keep-alive\r\n\r\n"
    )
    time.sleep(0.5)
    drain(s, timeout=1.0)
    big = b"GET /big HTTP/1.1\r\nHost: pipe.example\r\n" + b"".join(
        b"X-Filler-%04d: %s\r\n" % (i, b"v" * 60) for i in range(512)
    ) + b"\r\n"
    s.sendall(big)
    drain(s, b"ok\n")
    s.sendall(b"DELETE /d HTTP/1.1\r\nHost: pipe.example\r\nUser-Agent: last/2\r\n\r\n")
    drain(s, b"ok\n")
    s.close()
else:
    sys.exit(f"unknown scenario {scenario}")
