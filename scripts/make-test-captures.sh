#!/usr/bin/env bash
# Regenerate the TLS test captures in tests/data/captures/ from real clients in
# throwaway network namespaces, derive the reordered/overlapping and VLAN-tagged
# variants with scapy, and recompute expected.tsv with tshark and Suricata.
#
# Usage: sudo scripts/make-test-captures.sh [NAME...]
#   NAME: chromium curl-split3 curl-split2 curl-ipv6 openssl13 openssl12 gnutls
#         go starttls (default: all); the derived files and expected.tsv are
#         always rebuilt from what is in the output directory.
# Env:   OUT=dir (default tests/data/captures), SKIP_ORACLES=1 to skip expected.tsv.
#
# Topology: client namespace 10.77.0.2 / fd77::2 -- veth -- server namespace
# 10.77.0.1 / fd77::1, offloads off, tcpdump on the server-side veth keeping
# only TCP. The server is openssl s_server (-www) with a throwaway two-level
# chain (test CA -> leaf test.decnet.example); the client resolves
# test.decnet.example through its own /etc/hosts.

set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
. "$here/netns-lib.sh"
need_root

OUT="$(realpath -m "${OUT:-$here/../tests/data/captures}")"
mkdir -p "$OUT"
apt_need iproute2 ethtool tcpdump openssl curl python3 python3-scapy tshark gnutls-bin
PY=/usr/bin/python3

all=(chromium curl-split3 curl-split2 curl-ipv6 openssl13 openssl12 gnutls go starttls)
if [ "$#" -gt 0 ]; then want=("$@"); else want=("${all[@]}"); fi

work="$(mktemp -d /tmp/decnet-testcap.XXXXXX)"
on_exit() {
    cleanup
    rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

CLI="dn-cli-$NS_TAG"
SRV="dn-srv-$NS_TAG"
HOST=test.decnet.example
ns_add "$CLI"
ns_add "$SRV"
veth_pair "$CLI" veth-c "$SRV" veth-s
addr "$CLI" veth-c 10.77.0.2/24
addr "$CLI" veth-c fd77::2/64
addr "$SRV" veth-s 10.77.0.1/24
addr "$SRV" veth-s fd77::1/64
hosts_file "$CLI" "10.77.0.1 $HOST" "10.77.0.1 mail.decnet.example"

# --- throwaway certificates: a test CA and a leaf it signed -----------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=DecNet Test CA/O=DecNet Test" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$HOST/O=DecNet Test/C=DE" -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:mail.decnet.example,IP:10.77.0.1,IP:fd77::1\n' "$HOST" >"$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
    -days 365 -extfile "$work/leaf.ext" -out "$work/leaf.crt" 2>/dev/null

start_tls_server() {
    bg "$SRV" openssl s_server -quiet -www -accept 443 \
        -cert "$work/leaf.crt" -key "$work/leaf.key" -cert_chain "$work/ca.crt" >>"$work/server.log" 2>&1
    TLS_SERVER_PID=$BG_PID
    wait_port "$SRV" 0.0.0.0 443
}
start_tls_server

# record NAME CMD... : capture one scenario into $OUT/NAME.pcap
record() {
    local name="$1"
    shift
    log "capture $name"
    capture_start "$SRV" veth-s "$work/$name.pcap" tcp
    "$@" || log "$name: client exited with $?"
    capture_stop
    cp "$work/$name.pcap" "$OUT/$name.pcap"
}

c() { nsx "$CLI" "$@"; }

# require_segments NAME MIN : the first ClientHello in NAME.pcap must span at
# least MIN TCP segments (checked with tshark, not with this project).
require_segments() {
    local n
    n="$(tshark -r "$OUT/$1.pcap" -Y 'tls.handshake.type == 1' -T fields -e tcp.segment.count 2>/dev/null | head -1)"
    if [ "${n:-1}" -lt "$2" ]; then
        echo "$1: ClientHello spans ${n:-1} segment(s), want >= $2" >&2
        exit 1
    fi
    log "$1: ClientHello spans $n segments"
}

set_client_mtu() { nsx "$CLI" ip link set veth-c mtu "$1"; }

# An MTU below 1280 takes IPv6 off the interface: put the address back.
restore_client_mtu() {
    set_client_mtu 1500
    nsx "$CLI" ip -6 addr show dev veth-c | grep -q 'fd77::2/' || addr "$CLI" veth-c fd77::2/64
}

chromium_get() {
    local profile="$1"
    nsx "$CLI" env HOME="$profile" timeout 60 chromium --headless --no-sandbox --disable-gpu \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --ignore-certificate-errors \
        --host-resolver-rules="MAP $HOST 10.77.0.1" --dump-dom "https://$HOST/" >/dev/null 2>>"$work/chromium.log"
}

do_chromium() {
    apt_need chromium
    # Chromium's ~1.8 KB post-quantum (X25519MLKEM768) ClientHello needs two
    # segments at MTU 1500.
    record tls-chromium-pq chromium_get "$(mktemp -d "$work/chromium.XXXXXX")"
    require_segments tls-chromium-pq 2
}

do_curl_split3() {
    # curl (OpenSSL) pads its ClientHello to 517 bytes; MTU 300 gives MSS 260
    # (248 with timestamps): the 522-byte record needs three segments.
    set_client_mtu 300
    record tls-curl-split3 c curl -sk -o /dev/null --http1.1 "https://$HOST/"
    require_segments tls-curl-split3 3
    restore_client_mtu
}

do_curl_split2() {
    # MTU 540 (MSS 500, 488 with timestamps): two segments.
    set_client_mtu 540
    record tls-curl-split2 c curl -sk -o /dev/null --http1.1 "https://$HOST/"
    require_segments tls-curl-split2 2
    restore_client_mtu
}

do_curl_ipv6() {
    record tls-curl-ipv6 c curl -sk -o /dev/null --http1.1 --resolve "$HOST:443:[fd77::1]" "https://$HOST/"
}

do_openssl13() {
    record tls-openssl-tls13 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec $CLI \
        openssl s_client -connect 10.77.0.1:443 -servername $HOST -alpn http/1.1 -ign_eof >/dev/null 2>&1"
}

do_openssl12() {
    # TLS 1.2: the server's Certificate chain travels in clear.
    record tls-openssl-tls12 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec $CLI \
        openssl s_client -tls1_2 -connect 10.77.0.1:443 -servername $HOST -ign_eof >/dev/null 2>&1"
}

do_gnutls() {
    apt_need gnutls-bin
    record tls-gnutls sh -c "(printf 'GET / HTTP/1.0\r\n\r\n'; sleep 1) | ip netns exec $CLI \
        timeout 10 gnutls-cli --insecure -p 443 $HOST >/dev/null 2>&1"
}

do_go() {
    if ! command -v go >/dev/null 2>&1; then
        apt_need golang-go || true
    fi
    if ! command -v go >/dev/null 2>&1; then
        log "go: no Go toolchain, skipping tls-go"
        return 0
    fi
    cat >"$work/goget.go" <<'EOF'
// Tiny HTTPS GET with Go's crypto/tls (certificate not verified).
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}
	resp, err := (&http.Client{Transport: tr}).Get(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
EOF
    (cd "$work" && GO111MODULE=off GOCACHE="$work/gocache" GOPATH="$work/gopath" HOME="$work" \
        go build -o "$work/goget" goget.go)
    record tls-go c "$work/goget" "https://$HOST/"
}

do_starttls() {
    bg "$SRV" "$PY" "$here/captures/smtp_starttls_server.py" 10.77.0.1 25 \
        "$work/leaf.crt" "$work/leaf.key" 1 >>"$work/smtp.log" 2>&1
    local smtp_pid=$BG_PID
    wait_port "$SRV" 10.77.0.1 25
    record tls-starttls-smtp sh -c "(sleep 1; printf 'EHLO client.example\r\nQUIT\r\n'; sleep 1) | ip netns exec $CLI \
        timeout 10 openssl s_client -starttls smtp -connect 10.77.0.1:25 -servername mail.decnet.example \
        -name client.example -ign_eof >/dev/null 2>&1"
    stop_pid "$smtp_pid"
}

for w in "${want[@]}"; do
    case "$w" in
        chromium) do_chromium ;;
        curl-split3) do_curl_split3 ;;
        curl-split2) do_curl_split2 ;;
        curl-ipv6) do_curl_ipv6 ;;
        openssl13) do_openssl13 ;;
        openssl12) do_openssl12 ;;
        gnutls) do_gnutls ;;
        go) do_go ;;
        starttls) do_starttls ;;
        *) echo "unknown capture: $w" >&2; exit 2 ;;
    esac
done
cleanup

# --- derived captures (scapy) ------------------------------------------------------
log "derived captures"
if [ -f "$OUT/tls-curl-split3.pcap" ]; then
    "$PY" "$here/captures/edit_pcap.py" reorder-dup "$OUT/tls-curl-split3.pcap" "$OUT/tls-curl-reordered-dup.pcap"
    "$PY" "$here/captures/edit_pcap.py" overlap-conflict "$OUT/tls-curl-split3.pcap" "$OUT/tls-curl-overlap-conflict.pcap"
fi
if [ -f "$OUT/tls-openssl-tls12.pcap" ]; then
    "$PY" "$here/captures/edit_pcap.py" vlan "$OUT/tls-openssl-tls12.pcap" "$OUT/tls-openssl-tls12-vlan.pcap"
    "$PY" "$here/captures/edit_pcap.py" qinq "$OUT/tls-openssl-tls12.pcap" "$OUT/tls-openssl-tls12-qinq.pcap"
fi

# --- expected values from tshark and Suricata --------------------------------------
if [ "${SKIP_ORACLES:-0}" != 1 ]; then
    "$here/captures/expected.sh" "$OUT"
fi
ls -l "$OUT"/*.pcap >&2
