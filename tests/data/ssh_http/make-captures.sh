#!/usr/bin/env bash
# Record the SSH and HTTP test captures of this directory from real programs
# in throwaway network namespaces, then recompute expected.tsv with
# independent tools (tshark, Suricata, the ja4plus package from PyPI).
#
# Usage: sudo tests/data/ssh_http/make-captures.sh
# Env:   OUT=dir (default: this directory), SKIP_ORACLES=1 to skip expected.tsv.
#
# Topology (scripts/netns-lib.sh): client namespace 10.77.0.2 / fd77::2 --
# veth, offloads off -- server namespace 10.77.0.1 / fd77::1; tcpdump on the
# server-side veth keeps TCP only. Servers: OpenSSH's sshd on ports 22 and
# 2222 with a throwaway host key and a throwaway client key; a Python
# HTTP/1.1 keep-alive server (http_server.py) on ports 80 and 8080.

set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source=../../../scripts/netns-lib.sh
. "$root/scripts/netns-lib.sh"
need_root

OUT="$(realpath -m "${OUT:-$here}")"
mkdir -p "$OUT"
apt_need iproute2 ethtool tcpdump openssh-server openssh-client curl wget python3 python3-venv tshark

work="$(mktemp -d /tmp/decnet-sshhttp.XXXXXX)"
on_exit() {
    cleanup
    rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Python clients and oracles from PyPI, in a throwaway virtual environment.
/usr/bin/python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q paramiko requests ja4plus
PY="$work/venv/bin/python"

CLI="dn-cli-$NS_TAG"
SRV="dn-srv-$NS_TAG"
ns_add "$CLI"
ns_add "$SRV"
veth_pair "$CLI" veth-c "$SRV" veth-s
addr "$CLI" veth-c 10.77.0.2/24
addr "$CLI" veth-c fd77::2/64
addr "$SRV" veth-s 10.77.0.1/24
addr "$SRV" veth-s fd77::1/64

# --- servers ------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C decnet-test-host -f "$work/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C decnet-test-client -f "$work/client_ed25519"
cp "$work/client_ed25519.pub" "$work/authorized_keys"
cat >"$work/sshd_config" <<CONF
HostKey $work/host_ed25519
ListenAddress 0.0.0.0
ListenAddress ::
Port 22
Port 2222
PidFile none
PermitRootLogin prohibit-password
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
PrintMotd no
CONF
mkdir -p /run/sshd
bg "$SRV" /usr/sbin/sshd -D -e -f "$work/sshd_config" 2>>"$work/sshd.log"
bg "$SRV" "$PY" "$here/http_server.py" :: 80
bg "$SRV" "$PY" "$here/http_server.py" :: 8080
wait_port "$SRV" 10.77.0.1 22
wait_port "$SRV" 10.77.0.1 2222
wait_port "$SRV" 10.77.0.1 80
wait_port "$SRV" 10.77.0.1 8080

SSH=(ssh -F /dev/null -i "$work/client_ed25519" -o BatchMode=yes
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

record() { # record NAME CMD... : one capture around one client run
    local name="$1"
    shift
    log "capture $name"
    capture_start "$SRV" veth-s "$work/$name.pcap" tcp
    nsx "$CLI" "$@" >/dev/null
    capture_stop
    cp "$work/$name.pcap" "$OUT/$name.pcap"
}

# --- SSH ----------------------------------------------------------------------------
# More than 200 SSH packets: one JA4SSH window closes before the flow ends.
record ssh-openssh-22 "${SSH[@]}" -p 22 root@10.77.0.1 \
    'for i in $(seq 1 300); do echo line $i; sleep 0.005; done'
record ssh-openssh-2222-ipv6 "${SSH[@]}" -p 2222 root@fd77::1 'echo hello'
record ssh-paramiko-2222 "$PY" "$here/paramiko_client.py" 10.77.0.1 2222 "$work/client_ed25519"
record ssh-odd-banners "$PY" "$here/clients.py" ssh-odd-banners 10.77.0.1 22

# --- HTTP ---------------------------------------------------------------------------
record http-curl curl -s -o /dev/null -b 'session=abc; lang=en' -e 'http://ref.example/start' \
    -H 'Accept-Language: de-DE,de;q=0.9,en;q=0.5' 'http://10.77.0.1:8080/index.html?q=1' \
    --next -s -o /dev/null -X PROPFIND -H 'Depth: 1' http://10.77.0.1:8080/dav/ \
    --next -s -o /dev/null -X FOO http://10.77.0.1:8080/foo \
    --next -s -o /dev/null -g 'http://[fd77::1]:8080/v6'
record http-wget wget -q -O /dev/null --header 'Cookie: wsid=42; a=b' \
    --referer http://ref.example/ --header 'Accept-Language: ja' http://10.77.0.1/wget.txt
record http-requests "$PY" "$here/requests_client.py" http://10.77.0.1:8080
record http-split-pipelined-ipv6 "$PY" "$here/clients.py" http-split-pipelined fd77::1 8080

# --- expected values from independent tools ------------------------------------------
if [ "${SKIP_ORACLES:-}" != 1 ]; then
    "$PY" "$here/expected.py" "$OUT" "$work/venv/bin/ja4plus" >"$OUT/expected.tsv"
    log "wrote $OUT/expected.tsv"
fi
