#!/usr/bin/env python3
"""python-requests client on one keep-alive session: cookies, Referer,
Accept-Language, a body by Content-Length, a chunked body, an odd method.
usage: requests_client.py BASE_URL"""
import sys

import requests

base = sys.argv[1]
s = requests.Session()
s.headers["Accept-Language"] = "pt-BR,pt;q=0.8"
s.cookies.set("session", "abc123")
s.cookies.set("theme", "dark")
s.get(f"{base}/index.html", headers={"Referer": f"{base}/"})
s.post(f"{base}/form", data={"user": "alice", "pass": "x"})
s.post(f"{base}/upload", data=(chunk for chunk in [b"part1", b"part2-longer"]))
s.request("PROPFIND", f"{base}/dav/", headers={"Depth": "0"})
s.close()
