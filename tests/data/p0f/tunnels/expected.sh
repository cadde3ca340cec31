#!/bin/bash
# Expected p0f values for the corpus' tunnel captures (see decap.py).
set -e
CORPUS=${1:-$(dirname "$0")/../../../corpus}
/usr/bin/python3 decap.py "$CORPUS/foxio/pcap"
for f in *.decap.pcap; do
  n=${f%.decap.pcap}
  p0f -r "$f" -o /tmp/$n.full.log >/dev/null 2>&1
  grep -E "mod=(syn|syn\+ack|sendsyn probe|sendsyn response|mtu)\|" /tmp/$n.full.log > "$n.pcap.p0f.log" || true
  rm -f /tmp/$n.full.log "$f"
done
