#!/usr/bin/env bash
# Write tests/data/dhcp/<capture>.tshark.tsv for every capture there: per
# frame with a JA4D, the value of FoxIO's JA4+ Wireshark plugin and the
# fields tshark's own DHCP/DHCPv6 dissectors give (first occurrence).
#
# Usage: scripts/dhcp-expected.sh PLUGIN_DIR
#   PLUGIN_DIR holds 4.0/epan/ja4.so built from FoxIO's wireshark/source against
#   the installed Wireshark (tests/data/dhcp/README.md says how). tshark
#   ignores plugin directories when run as root, so it runs as `nobody`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plugins="$(realpath "${1:?plugin directory}")"
dir="$here/../tests/data/dhcp"
tmp="$(mktemp -d /tmp/decnet-dhcpexp.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
chmod a+rx "$tmp"
fields=(frame.number ja4.ja4d dhcp.hw.mac_addr dhcp.option.requested_ip_address dhcp.ip.your
    dhcp.option.hostname dhcp.option.vendor_class_id dhcpv6.duidllt.link_layer_addr
    dhcpv6.duidll.link_layer_addr dhcpv6.iaaddr.ip dhcpv6.client_domain dhcp.fqdn.name eth.src udp.srcport)
args=()
for f in "${fields[@]}"; do args+=(-e "$f"); done
for pcap in "$dir"/*.pcap; do
    name="$(basename "$pcap" .pcap)"
    cp "$pcap" "$tmp/" && chmod a+r "$tmp/$name.pcap"
    runuser -u nobody -- env WIRESHARK_PLUGIN_DIR="$plugins" tshark -r "$tmp/$name.pcap" \
        -Y ja4.ja4d -T fields -E occurrence=f "${args[@]}" >"$dir/$name.tshark.tsv"
    echo "$name: $(wc -l <"$dir/$name.tshark.tsv") frames with a JA4D" >&2
done
