#!/bin/bash
# Captures of real HTTP clients, with their own and with forged User-Agents,
# against python's http.server between two network namespaces, and p0f
# 3.09b's own log of each (the reference for tests/p0f_http_conformance.rs).
# Nothing leaves the namespaces. Run as root from the repository root:
#   bash scripts/capture_p0f_http.sh [OUTDIR]   (default tests/data/p0f_http)
# Needs: curl wget python3 golang nmap tcpdump p0f (installed if missing).

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
source "$HERE/netns-lib.sh"
need_root
apt_need curl wget python3 golang-go nmap tcpdump p0f

OUT="$(realpath -m "${1:-tests/data/p0f_http}")"
mkdir -p "$OUT"
C="p0fc$NS_TAG" S="p0fs$NS_TAG"
CLI=10.77.0.1 SRV=10.77.0.2 PORT=8000
FORGED='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
trap cleanup EXIT

ns_add "$C"
ns_add "$S"
veth_pair "$C" p0fc0 "$S" p0fs0
addr "$C" p0fc0 $CLI/24
addr "$S" p0fs0 $SRV/24
WORK="$(mktemp -d)"
mkdir -p "$WORK/www" && echo hello >"$WORK/www/index.html"
bg "$S" python3 -m http.server --bind $SRV --directory "$WORK/www" $PORT
wait_port "$S" $SRV $PORT
URL="http://$SRV:$PORT/"

# A Go net/http client, built once (standard library only).
cat >"$WORK/goget.go" <<'EOF'
package main

import (
	"net/http"
	"os"
)

func main() {
	req, _ := http.NewRequest("GET", os.Args[1], nil)
	if len(os.Args) > 2 {
		req.Header.Set("User-Agent", os.Args[2])
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
}
EOF
(cd "$WORK" && GOCACHE="$WORK/gocache" GO111MODULE=off go build -o goget goget.go)

# A raw http.client request with chosen header order: how a script that
# copies another client's headers but forgets its User-Agent looks.
cat >"$WORK/ordered.py" <<'EOF'
import http.client, sys
host, port, ua, order = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
values = {
    "Host": f"{host}:{port}", "User-Agent": ua, "Accept": "*/*",
    "Connection": "Keep-Alive", "Accept-Encoding": "identity",
}
c = http.client.HTTPConnection(host, port)
c.putrequest("GET", "/", skip_host=True, skip_accept_encoding=True)
for name in order.split(","):
    c.putheader(name, values[name])
c.endheaders()
c.getresponse().read()
c.close()
EOF

# one NAME CMD... : capture CMD run in the client namespace.
one() {
    local name="$1"
    shift
    log "$name"
    capture_start "$S" p0fs0 "$OUT/$name.pcap" tcp port $PORT
    nsx "$C" "$@" >/dev/null 2>&1 || log "$name: client exited non-zero"
    capture_stop
    rm -f "$OUT/$name.p0f.log" # p0f appends to an existing log
    p0f -r "$OUT/$name.pcap" -o "$OUT/$name.p0f.log" >/dev/null 2>&1
}

one curl curl -s "$URL"
one curl-forged curl -s -A "$FORGED" "$URL"
one wget wget -q -O /dev/null "$URL"
one wget-forged wget -q -O /dev/null -U "$FORGED" "$URL"
one urllib python3 -c "import urllib.request as u; u.urlopen('$URL').read()"
one urllib-forged python3 -c "import urllib.request as u; u.urlopen(u.Request('$URL', headers={'User-Agent': '''$FORGED'''})).read()"
one go "$WORK/goget" "$URL"
one go-forged "$WORK/goget" "$URL" "$FORGED"
one nmap-http-title nmap -n -Pn -sT -p $PORT --script http-title $SRV
one nmap-http-title-forged nmap -n -Pn -sT -p $PORT --script http-title --script-args "http.useragent=$FORGED" $SRV
# curl's and wget's header order as p0f.fp knows them, with a browser's
# User-Agent: p0f calls these dishonest.
one curl-order-forged python3 "$WORK/ordered.py" $SRV $PORT "$FORGED" User-Agent,Host,Accept
one wget-order-forged python3 "$WORK/ordered.py" $SRV $PORT "$FORGED" User-Agent,Accept,Host,Connection
one wget-order-own python3 "$WORK/ordered.py" $SRV $PORT "Wget/1.21.3" User-Agent,Accept,Host,Connection
# Two connections a second apart from one host: p0f reads the client's
# uptime from the second SYN against the first. Linux randomises each
# connection's timestamp offset unless tcp_timestamps is 2 (this namespace's
# own setting).
nsx "$C" sysctl -qw net.ipv4.tcp_timestamps=2
nsx "$S" sysctl -qw net.ipv4.tcp_timestamps=2
one uptime-curl-twice sh -c "curl -s $URL; sleep 1; curl -s $URL"
rm -rf "$WORK"
# Logs name the capture's own times; keep them as p0f wrote them.
ls -l "$OUT"
