#!/usr/bin/env bash
# Recompute DIR/expected.tsv with tshark and Suricata 7 (JA4). Installs
# Suricata from bookworm-backports if it is missing.
# usage: expected.sh DIR [SURICATA_YAML]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
yaml="${2:-$here/suricata.yaml}"   # copy of tests/corpus/oracles/suricata.yaml

if ! command -v tshark >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q tshark >/dev/null
fi
if ! command -v suricata >/dev/null 2>&1 || ! suricata -V | grep -q 'version 7\.'; then
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list
    fi
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports suricata >/dev/null
fi
/usr/bin/python3 "$here/expected.py" "$dir" "$yaml"
