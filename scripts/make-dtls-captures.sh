#!/usr/bin/env bash
# Regenerate the DTLS test captures in tests/data/captures/ (dtls-*.pcap): real
# OpenSSL DTLS 1.2 handshakes whose ClientHellos are sent in handshake
# fragments, recorded in throwaway network namespaces; the scapy variants
# derived from them; and dtls-expected.tsv with tshark's values.
#
# Usage: sudo scripts/make-dtls-captures.sh
# Env:   OUT=dir (default tests/data/captures), SKIP_ORACLES=1 to skip dtls-expected.tsv.
#
# Topology: client namespace 10.77.0.2 / fd77::2 -- veth -- server namespace
# 10.77.0.1 / fd77::1, offloads off, tcpdump on the server-side veth keeping
# only UDP. The server is `openssl s_server -dtls1_2` with a throwaway
# self-signed P-256 certificate; it answers the first ClientHello with a
# HelloVerifyRequest, so every handshake has two ClientHellos (message_seq 0,
# then 1 with the cookie). `-mtu 256` on the client makes OpenSSL fragment
# every handshake message to fit 256-byte datagrams.

set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
. "$here/netns-lib.sh"
need_root

OUT="$(realpath -m "${OUT:-$here/../tests/data/captures}")"
mkdir -p "$OUT"
apt_need iproute2 ethtool tcpdump openssl python3 python3-scapy tshark
PY=/usr/bin/python3

work="$(mktemp -d /tmp/decnet-dtlscap.XXXXXX)"
on_exit() {
    cleanup
    rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

CLI="dn-dcli-$NS_TAG"
SRV="dn-dsrv-$NS_TAG"
HOST=test.decnet.example
ns_add "$CLI"
ns_add "$SRV"
veth_pair "$CLI" veth-c "$SRV" veth-s
addr "$CLI" veth-c 10.77.0.2/24
addr "$CLI" veth-c fd77::2/64
addr "$SRV" veth-s 10.77.0.1/24
addr "$SRV" veth-s fd77::1/64

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=$HOST/O=DecNet Test" -keyout "$work/leaf.key" -out "$work/leaf.crt" 2>/dev/null

bg "$SRV" openssl s_server -dtls1_2 -accept 4433 -cert "$work/leaf.crt" -key "$work/leaf.key" \
    -quiet >>"$work/server.log" 2>&1
# s_server listens on UDP: wait for the socket.
for _ in $(seq 1 100); do
    nsx "$SRV" ss -Hlun "sport = :4433" 2>/dev/null | grep -q . && break
    sleep 0.1
done

# record NAME S_CLIENT_ARGS... : one handshake (and a line of data) into $OUT/NAME.pcap
record() {
    local name="$1"
    shift
    log "capture $name"
    capture_start "$SRV" veth-s "$work/$name.pcap" udp
    (echo hello; sleep 1) | nsx "$CLI" timeout 10 openssl s_client -dtls1_2 -mtu 256 \
        -servername "$HOST" "$@" >>"$work/client.log" 2>&1 || log "$name: client exited with $?"
    capture_stop
    cp "$work/$name.pcap" "$OUT/$name.pcap"
}

# require_fragments NAME MIN : every ClientHello in NAME.pcap must come in at
# least MIN fragments (checked with tshark, not with this project).
require_fragments() {
    local n
    n="$(tshark -r "$OUT/$1.pcap" -Y 'dtls.handshake.type == 1 && dtls.handshake.message_seq == 0' \
        -T fields -e frame.number 2>/dev/null | wc -l)"
    if [ "$n" -lt "$2" ]; then
        echo "$1: first ClientHello in $n fragment(s), want >= $2" >&2
        exit 1
    fi
    log "$1: first ClientHello in $n fragments"
}

# OpenSSL 3.0's default DTLS 1.2 ClientHello: 208 bytes, 2 fragments.
record dtls-openssl-mtu256 -connect 10.77.0.1:4433
require_fragments dtls-openssl-mtu256 2
# The same over IPv6.
record dtls-openssl-ipv6 -connect '[fd77::1]:4433'
require_fragments dtls-openssl-ipv6 2
# A larger ClientHello (every cipher, more groups, a long ALPN list): 431
# bytes, 3 fragments; 451 with the cookie.
record dtls-openssl-big -connect 10.77.0.1:4433 -cipher 'ALL:@SECLEVEL=0' \
    -groups X25519:P-256:X448:P-521:P-384:ffdhe2048:ffdhe3072:ffdhe4096 \
    -alpn h2,http/1.1,coap,webrtc,c-webrtc,stun.turn,sip/2.0,x-decnet-test-a,x-decnet-test-b,x-decnet-test-c
require_fragments dtls-openssl-big 3
cleanup

log "derived captures"
"$PY" "$here/captures/dtls_variants.py" "$OUT/dtls-openssl-big.pcap" "$OUT"

if [ "${SKIP_ORACLES:-0}" != 1 ]; then
    "$PY" "$here/captures/dtls_expected.py" "$OUT" >"$OUT/dtls-expected.tsv"
fi
ls -l "$OUT"/dtls-*.pcap >&2
