#!/bin/bash
# Captures that make p0f 3.09b's HTTP module add to its host change / IP
# sharing scores (fp_http.c score_nat): a Via header, a User-Agent naming
# another OS than the SYN, an application that p0f.fp says does not run on
# the SYN's OS, a server whose Date jumps, a server whose signature changes.
# Scripted raw requests and responses over real Linux TCP between two network
# namespaces (so p0f matches the SYNs as Linux); nothing leaves them. p0f's
# own log of each is the reference for tests/p0f_host_change_conformance.rs.
# Run as root from the repository root:
#   bash scripts/capture_p0f_http_nat.sh [OUTDIR]   (default tests/data/p0f_http)
# Needs: python3 tcpdump nmap p0f (installed if missing).

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
source "$HERE/netns-lib.sh"
need_root
apt_need python3 tcpdump nmap p0f

OUT="$(realpath -m "${1:-tests/data/p0f_http}")"
mkdir -p "$OUT"
C="p0nc$NS_TAG" S="p0ns$NS_TAG"
CLI=10.78.0.1 SRV=10.78.0.2
trap cleanup EXIT

ns_add "$C"
ns_add "$S"
veth_pair "$C" p0nc0 "$S" p0ns0
addr "$C" p0nc0 $CLI/24
addr "$S" p0ns0 $SRV/24
WORK="$(mktemp -d)"

# server.py PORT KIND...: the Nth connection gets response KIND[N] (cycling):
# a head in the order p0f.fp knows for that server, Date shifted by the
# kind's offset in seconds.
cat >"$WORK/server.py" <<'EOF'
import socket, sys, time
from email.utils import formatdate
port, kinds = int(sys.argv[1]), sys.argv[2:]
HEADS = {
    "nginx": ["Server: nginx/1.22.1", "Date: {date}", "Content-Type: text/html",
              "Content-Length: 6", "Connection: close"],
    "apache": ["Date: {date}", "Server: Apache/2.4.57 (Debian)",
               "Content-Length: 6", "Connection: close", "Content-Type: text/html"],
    "iis": ["Content-Length: 6", "Content-Type: text/html", "Server: Microsoft-IIS/10.0",
            "Date: {date}", "Connection: close"],
    "unknown": ["Server: toy/1", "Date: {date}", "Connection: close"],
}
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        got = c.recv(4096)
        if not got:
            break
        data += got
    kind, _, shift = kinds[n % len(kinds)].partition("@")
    n += 1
    date = formatdate(time.time() + int(shift or 0), usegmt=True)
    head = "\r\n".join(h.format(date=date) for h in HEADS[kind])
    c.sendall(("HTTP/1.1 200 OK\r\n" + head + "\r\n\r\nhello\n").encode())
    c.close()
EOF

# client.py HOST PORT KIND...: one connection per KIND, a request head in the
# order p0f.fp knows for that client, half a second apart.
cat >"$WORK/client.py" <<'EOF'
import socket, sys, time
host, port, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
WIN_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
H = f"{host}:{port}"
HEADS = {
    # curl's own order and User-Agent, through a proxy that says so.
    "via": ["User-Agent: curl/7.88.1", f"Host: {H}", "Accept: */*",
            "Via: 1.1 proxy.example"],
    "xff": ["User-Agent: curl/7.88.1", f"Host: {H}", "Accept: */*",
            "X-Forwarded-For: 192.0.2.7"],
    "curl": ["User-Agent: curl/7.88.1", f"Host: {H}", "Accept: */*"],
    # Chrome 51+'s order with a Windows Chrome User-Agent: honest for p0f's
    # HTTP signature, but the SYN is Linux.
    "chrome-win": [f"Host: {H}", "Connection: keep-alive", "Upgrade-Insecure-Requests: 1",
                   f"User-Agent: {WIN_CHROME}", "Accept: text/html,*/*;q=0.8",
                   "Accept-Encoding: gzip, deflate, sdch", "Accept-Language: en-US,en;q=0.9"],
    # The same with a Linux Chrome User-Agent: nothing to report.
    "chrome-linux": [f"Host: {H}", "Connection: keep-alive", "Upgrade-Insecure-Requests: 1",
                     "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                     "Accept: text/html,*/*;q=0.8", "Accept-Encoding: gzip, deflate, sdch",
                     "Accept-Language: en-US,en;q=0.9"],
    # MSIE 8's order: p0f.fp says MSIE runs only on Windows.
    "msie": ["Accept: */*", "Accept-Language: en-us",
             "User-Agent: Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
             "Accept-Encoding: gzip, deflate", f"Host: {H}", "Connection: Keep-Alive"],
}
for kind in kinds:
    c = socket.create_connection((host, port))
    c.sendall(("GET / HTTP/1.1\r\n" + "\r\n".join(HEADS[kind]) + "\r\n\r\n").encode())
    while c.recv(4096):
        pass
    c.close()
    time.sleep(0.5)
EOF

# one NAME PORT "SERVER KINDS" "CLIENT KINDS"
one() {
    local name="$1" port="$2" skinds="$3" ckinds="$4"
    log "$name"
    # shellcheck disable=SC2086
    bg "$S" python3 "$WORK/server.py" "$port" $skinds
    local spid="$BG_PID"
    wait_port "$S" $SRV "$port"
    capture_start "$S" p0ns0 "$OUT/$name.pcap" tcp port "$port"
    # shellcheck disable=SC2086
    nsx "$C" python3 "$WORK/client.py" $SRV "$port" $ckinds || log "$name: client failed"
    capture_stop
    stop_pid "$spid"
    rm -f "$OUT/$name.p0f.log" # p0f appends to an existing log
    p0f -r "$OUT/$name.pcap" -o "$OUT/$name.p0f.log" >/dev/null 2>&1
}

one nat-via 8101 "nginx" "curl via curl xff"
one nat-ua-vs-os 8102 "nginx" "chrome-linux chrome-win chrome-linux chrome-win"
one nat-app-vs-os 8103 "nginx" "curl msie msie msie"
one nat-date 8104 "nginx nginx@3600 nginx@-600 nginx@-595" "curl curl curl curl"
one nat-srv-sig 8105 "nginx apache apache unknown iis" "curl curl curl curl curl"
# A tool's SYNs from a host whose OS p0f knows: p0f checks NMap's `sys`
# (@unix,@win) against it (process.c verify_tool_class), moving the window.
tool_after_os() {
    log tool-after-os
    bg "$S" python3 "$WORK/server.py" 8106 nginx
    local spid="$BG_PID"
    wait_port "$S" $SRV 8106
    capture_start "$S" p0ns0 "$OUT/tool-after-os.pcap" tcp port 8106
    nsx "$C" python3 "$WORK/client.py" $SRV 8106 curl curl
    nsx "$C" nmap -n -Pn -O --max-retries 0 -p 8106 $SRV >/dev/null 2>&1 || log "nmap failed"
    nsx "$C" python3 "$WORK/client.py" $SRV 8106 curl curl
    capture_stop
    stop_pid "$spid"
    rm -f "$OUT/tool-after-os.p0f.log"
    p0f -r "$OUT/tool-after-os.pcap" -o "$OUT/tool-after-os.p0f.log" >/dev/null 2>&1
}
tool_after_os
rm -rf "$WORK"
ls -l "$OUT"/nat-* "$OUT"/tool-after-os.*
