#!/bin/bash
# Runs Debian's p0f 3.09b on every capture here; keeps its syn, syn+ack and
# mtu lines as the expected values of tests/p0f_conformance.rs, and its
# uptime, host change and ip sharing lines (NAME.p0f-hosts.log) for
# tests/p0f_uptime_conformance.rs and tests/p0f_host_change_conformance.rs.
set -e
for f in *.pcap; do
  n=${f%.pcap}
  rm -f /tmp/$n.full.log
  p0f -r "$f" -o /tmp/$n.full.log >/dev/null 2>&1
  grep -E "mod=(syn|syn\+ack|sendsyn probe|sendsyn response|mtu)\|" /tmp/$n.full.log > "$n.p0f.log" || true
  grep -E "mod=(uptime|host change|ip sharing)\|" /tmp/$n.full.log > "$n.p0f-hosts.log" || true
  rm -f /tmp/$n.full.log
done
