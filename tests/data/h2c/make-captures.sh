#!/usr/bin/env bash
# Makes the cleartext HTTP/2 (h2c) test captures of this directory with real
# programs in two throw-away network namespaces (10.77.0.1 the server,
# h2c_server.go on port 8080: Go's golang.org/x/net/http2/h2c, which takes
# both prior knowledge and the Upgrade, where nghttpd cannot answer an
# Upgrade; 10.77.0.2 the client), tcpdump on the client side, one
# connection per capture:
#
#   curl-prior-knowledge.pcap  curl --http2-prior-knowledge (cookie, referer,
#                              Accept-Language set)
#   curl-upgrade.pcap          curl --http2 over http: (Upgrade: h2c)
#   nghttp-prior-knowledge.pcap nghttp (direct HTTP/2 for http: URIs)
#   nghttp-upgrade.pcap        nghttp -u (Upgrade: h2c)
#   go-prior-knowledge.pcap    Go's golang.org/x/net/http2 Transport with
#                              AllowHTTP (h2c_get.go)
#
# Programs are Debian 12's: curl 7.88.1, nghttp2-client 1.52.0, golang-go 1.19 with golang-golang-x-net-dev 0.7.0.
# Usage (root): tests/data/h2c/make-captures.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/netns-lib.sh
need_root
apt_need tcpdump curl nghttp2-client golang-go golang-golang-x-net-dev

OUT=tests/data/h2c
SRV=10.77.0.1
PORT=8080
WORK=$(mktemp -d)
trap 'cleanup; rm -rf "$WORK"' EXIT

S="h2s$NS_TAG"
C="h2c$NS_TAG"
ns_add "$S"
ns_add "$C"
veth_pair "$S" srv0 "$C" cli0
addr "$S" srv0 "$SRV/24"
addr "$C" cli0 10.77.0.2/24

cp "$OUT/h2c_get.go" "$OUT/h2c_server.go" "$WORK/"
for prog in h2c_get h2c_server; do
    (cd "$WORK" && GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="$WORK/gocache" \
        go build -o "$prog" "$prog.go")
done
bg "$S" "$WORK/h2c_server" "$SRV:$PORT"
wait_port "$S" "$SRV" "$PORT"

URL="http://$SRV:$PORT/index.html"
one() { # NAME CMD...
    local name="$1"
    shift
    capture_start "$C" cli0 "$WORK/$name.pcap" tcp port "$PORT"
    nsx "$C" "$@" >/dev/null
    capture_stop
    cp "$WORK/$name.pcap" "$OUT/$name.pcap"
    log "$name: $(stat -c %s "$OUT/$name.pcap") bytes"
}
one curl-prior-knowledge curl -s --http2-prior-knowledge -b 'session=abc123; theme=dark' \
    -e http://referer.test/ -H 'Accept-Language: en-US,en;q=0.9' "$URL"
one curl-upgrade curl -s --http2 "$URL"
one nghttp-prior-knowledge nghttp "$URL"
one nghttp-upgrade nghttp -u "$URL"
one go-prior-knowledge "$WORK/h2c_get" "$URL"
