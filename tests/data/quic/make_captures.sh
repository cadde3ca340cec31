#!/bin/sh
# Makes the QUIC and IPv6 link-local test captures of this directory with
# real programs in two throw-away network namespaces, then writes the
# expected values with tshark (never with decnet-sniffer).
#
# Needs: root, iproute2, tcpdump, ethtool, tshark, openssl, and aioquic
# (`python3 -m venv /tmp/aq && /tmp/aq/bin/pip install aioquic`; set PY).
#
#   quic-v1-ipv4.pcap        aioquic v1 client -> server, 10.77.0.1:443
#   quic-v1-ipv6.pcap        the same over IPv6, [fd77::1]:443
#   quic-v2-ipv4.pcap        QUIC version 2 (RFC 9369), 10.77.0.1:443
#   quic-split-hello.pcap    a ~3 KB ClientHello (many ALPN values) spread
#                            over several Initial packets, to port 8443
#   ipv6-link-local.pcap     ARP + IPv4 ping, then ping6 between link-local
#                            addresses (NDP included): one side with an
#                            EUI-64 address, the other stable-privacy
set -eu
PY=${PY:-/tmp/aq/bin/python}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
S=quicS C=quicC
cleanup() {
    [ -f "$TMP/srv.pid" ] && kill "$(cat "$TMP/srv.pid")" 2>/dev/null || true
    ip netns del $S 2>/dev/null || true
    ip netns del $C 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

capture() { # file command...
    out=$1; shift
    ip netns exec $S tcpdump -i qv-s -s 0 -U -w "$TMP/cap.pcap" >/dev/null 2>&1 &
    dump=$!
    sleep 1
    "$@"
    sleep 1
    kill -INT $dump; wait $dump || true
    cp "$TMP/cap.pcap" "$HERE/$out"
}

ip netns add $S
ip netns add $C
ip link add qv-s netns $S type veth peer name qv-c netns $C
for ns in $S $C; do
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip netns exec $S ip link set qv-s address 02:00:00:77:00:01
ip netns exec $C ip link set qv-c address 00:1b:21:3c:4d:5e
# The client side: EUI-64 link-local address; the server side: stable privacy.
ip netns exec $C sysctl -qw net.ipv6.conf.qv-c.addr_gen_mode=0
ip netns exec $S sysctl -qw net.ipv6.conf.qv-s.stable_secret=2001:db8:1234:5678:9abc:def0:1234:5678
ip netns exec $S sysctl -qw net.ipv6.conf.qv-s.addr_gen_mode=2
ip netns exec $S ip addr add 10.77.0.1/24 dev qv-s
ip netns exec $C ip addr add 10.77.0.2/24 dev qv-c
ip netns exec $S ip addr add fd77::1/64 dev qv-s nodad
ip netns exec $C ip addr add fd77::2/64 dev qv-c nodad
for ns in $S $C; do ip netns exec $ns ip link set lo up; done
ip netns exec $S ip link set qv-s up
ip netns exec $C ip link set qv-c up
ip netns exec $S ethtool -K qv-s tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec $C ethtool -K qv-c tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
sleep 2

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=quic.test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1

start_server() { # host port
    ip netns exec $S "$PY" "$HERE/aioquic_server.py" "$1" "$2" "$TMP/cert.pem" "$TMP/key.pem" \
        "h3,proto-001-padding-to-make-the-hello-large" &
    echo $! > "$TMP/srv.pid"
    sleep 2
}
stop_server() { kill "$(cat "$TMP/srv.pid")"; wait "$(cat "$TMP/srv.pid")" 2>/dev/null || true; rm -f "$TMP/srv.pid"; }
client() { ip netns exec $C timeout 10 "$PY" "$HERE/aioquic_client.py" "$@"; }

start_server 10.77.0.1 443
capture quic-v1-ipv4.pcap client 10.77.0.1 443 v1.quic.test 1 h3
capture quic-v2-ipv4.pcap client 10.77.0.1 443 v2.quic.test 2 h3,hq-interop
stop_server
start_server fd77::1 443
capture quic-v1-ipv6.pcap client fd77::1 443 v6.quic.test 1 h3
stop_server
# ~3 KB of ALPN: the ClientHello cannot fit one 1200-byte Initial.
ALPNS=$(seq -f "proto-%03g-padding-to-make-the-hello-large" 1 60 | paste -sd, -)
start_server 10.77.0.1 8443
capture quic-split-hello.pcap client 10.77.0.1 8443 split.quic.test 1 "$ALPNS"
stop_server

# Link-local: the client pings the server over IPv4 (ARP teaches its MAC
# with 10.77.0.2), then over IPv6 link-local both ways (NDP first).
SLL=$(ip netns exec $S ip -6 -o addr show dev qv-s scope link | awk '{print $4}' | cut -d/ -f1)
CLL=$(ip netns exec $C ip -6 -o addr show dev qv-c scope link | awk '{print $4}' | cut -d/ -f1)
ip netns exec $S ip neigh flush dev qv-s
ip netns exec $C ip neigh flush dev qv-c
ll() {
    ip netns exec $C ping -c 1 -W 1 10.77.0.1 >/dev/null
    ip netns exec $C ping -6 -c 2 -W 1 "$SLL%qv-c" >/dev/null
    ip netns exec $S ping -6 -c 1 -W 1 "$CLL%qv-s" >/dev/null
}
capture ipv6-link-local.pcap ll
echo "server link-local $SLL, client link-local $CLL" > "$HERE/ipv6-link-local.addresses"

# Expected values, from tshark.
cd "$HERE"
for f in quic-v1-ipv4 quic-v1-ipv6 quic-v2-ipv4; do
    tshark -r $f.pcap -Y 'quic && tls.handshake.type == 1' -T fields -E separator=/t \
        -e ip.src -e ipv6.src -e udp.srcport -e udp.dstport -e quic.version \
        -e tls.handshake.extensions_server_name -e tls.handshake.ja3 > $f.tshark.tsv
done
tshark -r quic-split-hello.pcap -d udp.port==8443,quic -Y 'quic && tls.handshake.type == 1' \
    -T fields -E separator=/t -e ip.src -e ipv6.src -e udp.srcport -e udp.dstport -e quic.version \
    -e tls.handshake.extensions_server_name -e tls.handshake.ja3 > quic-split-hello.tshark.tsv
tshark -r quic-split-hello.pcap -d udp.port==8443,quic -Y 'quic.long.packet_type == 0 && udp.srcport != 8443' \
    -T fields -e frame.number -e quic.packet_number -e quic.frame_type > quic-split-hello.initials.tsv
tshark -r ipv6-link-local.pcap -Y 'ipv6.src == fe80::/10' -T fields -E separator=/t \
    -e frame.number -e eth.src -e ipv6.src -e ipv6.dst -e ipv6.src_slaac_mac -e icmpv6.type \
    -e icmpv6.nd.ns.target_address > ipv6-link-local.tshark.tsv
tshark -r ipv6-link-local.pcap -Y arp -T fields -E separator=/t \
    -e frame.number -e arp.src.hw_mac -e arp.src.proto_ipv4 > ipv6-link-local.arp.tsv
ls -l "$HERE"
