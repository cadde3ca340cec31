#!/usr/bin/env bash
# Regenerate tests/data/quic/quic-retry.pcap: an aioquic client's handshake
# with an aioquic server that answers the first Initial with a Retry, so the
# client sends its ClientHello twice (new Destination Connection ID, the
# server's token), in throwaway network namespaces; and
# quic-retry.tshark.tsv and quic-retry.packets.tsv, tshark's view of them
# (tshark 4.0 decrypts the second Initial but takes its CRYPTO data for a
# retransmission of the first: same offset, same length).
#
# Usage: sudo scripts/make-quic-retry-capture.sh
# Needs aioquic: python3 -m venv /tmp/aq && /tmp/aq/bin/pip install aioquic (PY=...).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
. "$here/netns-lib.sh"
need_root
PY="${PY:-/tmp/aq/bin/python}"
dir="$(realpath "$here/../tests/data/quic")"
apt_need iproute2 ethtool tcpdump openssl tshark
work="$(mktemp -d /tmp/decnet-quicretry.XXXXXX)"
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

CLI="dn-qcli-$NS_TAG"
SRV="dn-qsrv-$NS_TAG"
ns_add "$CLI"
ns_add "$SRV"
veth_pair "$CLI" veth-c "$SRV" veth-s
addr "$CLI" veth-c 10.77.0.2/24
addr "$SRV" veth-s 10.77.0.1/24
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=quic.test -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
bg "$SRV" "$PY" "$dir/aioquic_server.py" 10.77.0.1 443 "$work/cert.pem" "$work/key.pem" h3 retry
sleep 2
capture_start "$SRV" veth-s "$work/cap.pcap" udp port 443
nsx "$CLI" timeout 10 "$PY" "$dir/aioquic_client.py" 10.77.0.1 443 retry.quic.test 1 h3
capture_stop
cp "$work/cap.pcap" "$dir/quic-retry.pcap"
cd "$dir"
tshark -r quic-retry.pcap -Y 'quic && tls.handshake.type == 1' -T fields -E separator=/t \
    -e frame.number -e udp.srcport -e quic.dcid -e quic.token_length -e quic.version \
    -e tls.handshake.extensions_server_name -e tls.handshake.ja3 >quic-retry.tshark.tsv
# Every long-header packet: frame, type (0 Initial, 3 Retry), DCID, SCID,
# token length, CRYPTO offset and length.
tshark -r quic-retry.pcap -Y 'quic.long.packet_type == 0 || quic.long.packet_type == 3' \
    -T fields -E occurrence=f -e frame.number -e quic.long.packet_type -e quic.dcid -e quic.scid \
    -e quic.token_length -e quic.crypto.offset -e quic.crypto.length >quic-retry.packets.tsv
cat quic-retry.tshark.tsv quic-retry.packets.tsv
