#!/usr/bin/env bash
# Regenerate the DHCP test captures in tests/data/dhcp/: real DHCP and DHCPv6
# clients (ISC dhclient, busybox udhcpc, dhcpcd, systemd-networkd) asking dnsmasq for leases in
# throwaway network namespaces, and systemd-networkd run on its own in a
# private mount namespace.
#
# Usage: sudo scripts/make-dhcp-captures.sh
# Env:   OUT=dir (default tests/data/dhcp)
#
# Topology: client namespace -- veth -- server namespace 10.77.0.1/24,
# fd77::1/64, offloads off, tcpdump on the server-side veth keeping only
# UDP 67/68/546/547. dnsmasq hands out fixed addresses per client MAC (the
# client veth gets a new MAC for each client), so a test can name deckies
# after them. Each client runs once: lease, then release where it can.
# The expected JA4D values (expected.tsv) come from FoxIO's Wireshark plugin,
# see tests/data/dhcp/README.md.

set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
. "$here/netns-lib.sh"
need_root

OUT="$(realpath -m "${OUT:-$here/../tests/data/dhcp}")"
mkdir -p "$OUT"
apt_need iproute2 ethtool tcpdump dnsmasq-base isc-dhcp-client udhcpc dhcpcd-base

work="$(mktemp -d /tmp/decnet-dhcpcap.XXXXXX)"
# dhcpcd keeps its DUID and leases in /var/lib/dhcpcd, outside any
# namespace: put back what was there.
DHCPCD_DB=/var/lib/dhcpcd
mkdir -p "$DHCPCD_DB" "$work/dhcpcd.saved"
cp -a "$DHCPCD_DB/." "$work/dhcpcd.saved/"
on_exit() {
    cleanup
    find "$DHCPCD_DB" -mindepth 1 -delete
    cp -a "$work/dhcpcd.saved/." "$DHCPCD_DB/"
    rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

CLI="dn-hcli-$NS_TAG"
SRV="dn-hsrv-$NS_TAG"
ns_add "$CLI"
ns_add "$SRV"
veth_pair "$CLI" veth-c "$SRV" veth-s
addr "$SRV" veth-s 10.77.0.1/24
addr "$SRV" veth-s fd77::1/64
# The client's link-local address must pass DAD before DHCPv6 can bind.
nsx "$CLI" sysctl -qw net.ipv6.conf.veth-c.accept_dad=0

# Fixed leases: client N gets MAC 02:77:00:00:00:0N, 10.77.0.5N, fd77::5N.
nsx "$SRV" dnsmasq --keep-in-foreground --port=0 --conf-file=/dev/null \
    --interface=veth-s --bind-interfaces --no-resolv --no-hosts \
    --dhcp-leasefile="$work/leases" --pid-file="$work/dnsmasq.pid" \
    --dhcp-range=10.77.0.100,10.77.0.150,1h --dhcp-range=fd77::100,fd77::150,64,1h \
    --dhcp-host=02:77:00:00:00:01,10.77.0.51 --dhcp-host=02:77:00:00:00:02,10.77.0.52 \
    --dhcp-host=02:77:00:00:00:03,10.77.0.53 --dhcp-host=02:77:00:00:00:04,10.77.0.54 \
    --enable-ra --dhcp-authoritative --log-dhcp --log-facility="$work/dnsmasq.log" &
BG_PIDS+=("$!")
sleep 1

# client_mac N : give the client veth the MAC of client N (link down/up).
client_mac() {
    nsx "$CLI" ip link set veth-c down
    nsx "$CLI" ip link set veth-c address "02:77:00:00:00:0$1"
    nsx "$CLI" ip link set veth-c up
    sleep 1.5
}

# capture NAME CMD... : run CMD (a function) while tcpdump records NAME.pcap.
capture() {
    local name="$1"
    shift
    capture_start "$SRV" veth-s "$work/$name.pcap" \
        udp port 67 or udp port 68 or udp port 546 or udp port 547
    "$@"
    capture_stop
    cp "$work/$name.pcap" "$OUT/$name.pcap"
    log "$name.pcap: $(tcpdump -r "$OUT/$name.pcap" 2>/dev/null | wc -l) packets"
}

dhclient_run() {
    local lf="$work/dhclient.leases" pf="$work/dhclient.pid"
    printf 'send host-name "dhclient-box";\nsend fqdn.fqdn "dhclient-box.test.";\n' >"$work/dhclient.conf"
    nsx "$CLI" timeout 20 dhclient -4 -1 -v -cf "$work/dhclient.conf" -sf /bin/true \
        -lf "$lf" -pf "$pf" veth-c || true
    nsx "$CLI" timeout 20 dhclient -4 -r -v -cf "$work/dhclient.conf" -sf /bin/true \
        -lf "$lf" -pf "$pf" veth-c || true
    nsx "$CLI" timeout 20 dhclient -6 -1 -v -sf /bin/true -lf "$work/dhclient6.leases" \
        -pf "$work/dhclient6.pid" veth-c || true
    nsx "$CLI" timeout 20 dhclient -6 -r -v -sf /bin/true -lf "$work/dhclient6.leases" \
        -pf "$work/dhclient6.pid" veth-c || true
}

udhcpc_run() {
    # -R: release on exit; -x: a host name option; -V: vendor class.
    nsx "$CLI" timeout 20 udhcpc -i veth-c -n -q -R -s /bin/true \
        -x hostname:udhcpc-box -V busybox-udhcpc || true
}

dhcpcd_run() {
    cat >"$work/dhcpcd.conf" <<'EOF'
hostname dhcpcd-box
fqdn both
option domain_name_servers, domain_name, domain_search, host_name
option classless_static_routes, interface_mtu, rapid_commit
require dhcp_server_identifier
EOF
    # One lease each (configured inside the throwaway namespace only).
    nsx "$CLI" timeout 20 dhcpcd --oneshot --nobackground -4 -f "$work/dhcpcd.conf" \
        -c /bin/true veth-c || true
    nsx "$CLI" timeout 20 dhcpcd --oneshot --nobackground -6 -f "$work/dhcpcd.conf" \
        -c /bin/true veth-c || true
}

networkd_run() {
    # systemd-networkd outside systemd: in a private mount namespace with
    # its own configuration and state directories, for 15 seconds. With no
    # udev here it would wait for udev to initialise the link forever; a
    # read-only /sys tells it (as in a container) that there is no udev.
    mkdir -p "$work/network"
    printf '[Match]\nName=veth-c\n\n[Network]\nDHCP=yes\n\n[DHCPv4]\nSendHostname=yes\nHostname=networkd-box\n' \
        >"$work/network/10-veth.network"
    chmod -R a+rX "$work/network"
    nsx "$CLI" unshare -m --propagation private sh -c '
        mount --bind "$1/network" /etc/systemd/network &&
        mount -t tmpfs tmpfs /run/systemd &&
        mkdir -p /run/systemd/netif && chown systemd-network: /run/systemd/netif &&
        mount -o remount,bind,ro /sys &&
        SYSTEMD_LOG_LEVEL=info timeout 15 /lib/systemd/systemd-networkd' sh "$work" || true
}

client_mac 1
capture dhclient dhclient_run
client_mac 2
capture udhcpc udhcpc_run
client_mac 3
capture dhcpcd dhcpcd_run
client_mac 4
capture networkd networkd_run
log "written to $OUT"
