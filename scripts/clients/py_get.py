"""One GET with a Python HTTP library: py_get.py LIB URL [USER-AGENT].
Certificates are not checked (test servers only)."""
import asyncio
import ssl
import sys

lib, url = sys.argv[1], sys.argv[2]
ua = sys.argv[3] if len(sys.argv) > 3 else None
headers = {"User-Agent": ua} if ua else {}
if lib == "urllib":
    import urllib.request
    req = urllib.request.Request(url, headers=headers)
    urllib.request.urlopen(req, context=ssl._create_unverified_context()).read()
elif lib == "requests":
    import requests
    requests.get(url, verify=False, headers=headers)
elif lib == "httpx":
    import httpx
    httpx.get(url, verify=False, headers=headers)
elif lib == "aiohttp":
    import aiohttp

    async def get():
        async with aiohttp.ClientSession(headers=headers) as s:
            async with s.get(url, ssl=False) as r:
                await r.read()

    asyncio.run(get())
else:
    sys.exit(f"unknown library {lib}")
