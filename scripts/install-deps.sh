#!/usr/bin/env bash
# Installs what building and testing decnet-sniffer needs on a Debian machine.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
  build-essential pkg-config libpcap-dev   # build (libpcap for live capture)
  tshark p0f tcpdump iproute2 ethtool     # oracles and network-namespace tests
  nats-server                             # bus tests
  openssh-server openssh-client curl openssl nmap tcpreplay util-linux  # daemon tests (real peers)
  python3 python3-venv python3-scapy      # conformance script, DECNET end-to-end venv, evasion tests (attacker)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Suricata 7 (an oracle of tests/suricata_oracle.rs and a tool of bench/run.sh)
# is in bookworm-backports only: bookworm itself has 6.0.
if ! command -v suricata >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  list=/etc/apt/sources.list.d/bookworm-backports.list
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$list" >/dev/null
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports suricata >/dev/null
fi
command -v cargo >/dev/null || {
  echo "install-deps: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
}
