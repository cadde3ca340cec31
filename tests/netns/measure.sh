#!/usr/bin/env bash
# Which interface of a DECNET host sees which traffic?
#
#   measure.sh PREFIX [macvlan|ipvlan]
#
# Builds the replica (replica.sh), captures with tcpdump on the parent NIC
# (eth0) and on the host-side helper (decnet_<mode>0) in the host namespace,
# sends TCP connections along every path a sensor cares about, and prints one
# line per (interface, path):
#
#   seen IFACE PATH PACKETS_TO_SERVER PACKETS_TO_CLIENT
#
# Exit status 2 means the kernel lacks the requested link type.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
p=$1 mode=${2:-macvlan}
helper="decnet_${mode}0"
work=$(mktemp -d)
cleanup() {
    local pid
    for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
    "$here/replica.sh" down "$p" || true
    [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

if ! "$here/replica.sh" up "$p" 3 "$mode" 2>"$work/up.err"; then
    if grep -q "Unknown device type" "$work/up.err"; then
        echo "unsupported $mode: this kernel has no $mode link type" >&2
        exit 2
    fi
    cat "$work/up.err" >&2
    exit 1
fi

A=$("$here/replica.sh" addr "$p" atk)
H=$("$here/replica.sh" addr "$p" host)
D1=$("$here/replica.sh" addr "$p" d1)
D2=$("$here/replica.sh" addr "$p" d2)
A6=$("$here/replica.sh" addr6 "$p" atk)
D16=$("$here/replica.sh" addr6 "$p" d1)

# One TCP listener per decky and on the attacker (port 8080), answering once per connection.
serve() {
    ip netns exec "$1" python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080)); s.listen(16)
while True:
    c, _ = s.accept(); c.recv(100); c.sendall(b"pong\n"); c.close()
' &
}
for ns in "$p-d1" "$p-d2" "$p-atk"; do serve "$ns"; done

for ifc in eth0 "$helper"; do
    ip netns exec "$p-host" tcpdump -i "$ifc" -n -U -w "$work/$ifc.pcap" tcp port 8080 \
        2>"$work/$ifc.tcpdump.err" &
done
# tcpdump says "listening on" once its filter is attached.
for ifc in eth0 "$helper"; do
    for _ in $(seq 50); do grep -q "listening on" "$work/$ifc.tcpdump.err" && break; sleep 0.1; done
done

connect() { # NS DST
    ip netns exec "$1" python3 -c '
import socket, sys, time
for _ in range(50):  # the listener may still be starting
    try:
        c = socket.create_connection((sys.argv[1], 8080), timeout=3); break
    except ConnectionRefusedError:
        time.sleep(0.1)
c.sendall(b"ping"); c.recv(100); c.close()
' "$2"
}
connect "$p-atk" "$D1"   # inbound: attacker -> decky
connect "$p-atk" "$D16"  # the same over IPv6
connect "$p-d1" "$A"     # outbound: decky -> outside host (implant calling home)
connect "$p-d1" "$D2"    # internal: decky -> decky
connect "$p-host" "$D1"  # the host itself -> decky, through the helper
# TPACKET_V3 hands a block to tcpdump when it fills or its 1 s timeout fires.
sleep 1.5
for ifc in eth0 "$helper"; do ip netns exec "$p-host" pkill -INT -f "tcpdump -i $ifc " || true; done
wait_for_exit() { for _ in $(seq 50); do pgrep -f "tcpdump -i $1 " >/dev/null || return 0; sleep 0.1; done; }
for ifc in eth0 "$helper"; do wait_for_exit "$ifc"; done

count() { # IFACE SRC DST
    tcpdump -r "$work/$1.pcap" -n "src host $2 and dst host $3" 2>/dev/null | wc -l
}
for ifc in eth0 "$helper"; do
    in_c=$(tcpdump -r "$work/$ifc.pcap" -n "src host $A and dst host $D1 and dst port 8080" 2>/dev/null | wc -l)
    in_s=$(tcpdump -r "$work/$ifc.pcap" -n "src host $D1 and dst host $A and src port 8080" 2>/dev/null | wc -l)
    out_c=$(tcpdump -r "$work/$ifc.pcap" -n "src host $D1 and dst host $A and dst port 8080" 2>/dev/null | wc -l)
    out_s=$(tcpdump -r "$work/$ifc.pcap" -n "src host $A and dst host $D1 and src port 8080" 2>/dev/null | wc -l)
    int_c=$(count "$ifc" "$D1" "$D2")
    int_s=$(count "$ifc" "$D2" "$D1")
    in6_c=$(count "$ifc" "$A6" "$D16")
    in6_s=$(count "$ifc" "$D16" "$A6")
    host_c=$(count "$ifc" "$H" "$D1")
    host_s=$(count "$ifc" "$D1" "$H")
    echo "seen $ifc inbound $in_c $in_s"
    echo "seen $ifc inbound6 $in6_c $in6_s"
    echo "seen $ifc outbound $out_c $out_s"
    echo "seen $ifc internal $int_c $int_s"
    echo "seen $ifc host $host_c $host_s"
done
