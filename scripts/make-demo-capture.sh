#!/usr/bin/env bash
# Make data/demo/demo.pcap: real traffic between an "attacker" namespace and a
# namespace holding three decky addresses, replaying what a DECNET honeypot sees:
# an nmap SYN scan, HTTP requests (cookies, Referer, Accept-Language, a POST),
# TLS handshakes (openssl s_client TLS 1.3 and 1.2, curl), failed SSH logins
# over IPv4 and IPv6, HTTP over IPv6, and one outbound connection from a decky
# to the attacker (an implant calling home). Also writes data/demo/decnet-state.json
# naming the deckies in DECNET's state-file format (docs/spec.md section 3).
#
# Usage: sudo scripts/make-demo-capture.sh [OUTDIR]   (default: data/demo)
# Env:   SKIP_ORACLES=1 to skip OUTDIR/expected.tsv (TLS values from tshark/Suricata).
# Needs root; installs what is missing from Debian. Everything it creates
# (namespaces, processes, temporary files) is removed on exit.
#
# Addresses (only inside the namespaces made here):
#   attacker  10.77.0.66   fd77::66
#   decky-01  10.77.0.11              HTTP :80, SSH :22
#   decky-02  10.77.0.12              TLS :443 (openssl s_server, self-signed)
#   decky-03  10.77.0.13   fd77::13   SSH :22, HTTP :8080 (IPv4 and IPv6)

set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
. "$here/netns-lib.sh"
need_root

outdir="$(realpath -m "${1:-$here/../data/demo}")"
mkdir -p "$outdir"
apt_need iproute2 ethtool tcpdump nmap openssl curl openssh-server openssh-client python3

work="$(mktemp -d /tmp/decnet-demo.XXXXXX)"
on_exit() {
    cleanup
    rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

ATK="dn-atk-$NS_TAG"
DKY="dn-dky-$NS_TAG"
ns_add "$ATK"
ns_add "$DKY"
veth_pair "$ATK" eth0 "$DKY" eth0
addr "$ATK" eth0 10.77.0.66/24
addr "$ATK" eth0 fd77::66/64
addr "$DKY" eth0 10.77.0.11/24
addr "$DKY" eth0 10.77.0.12/24
addr "$DKY" eth0 10.77.0.13/24
addr "$DKY" eth0 fd77::13/64
hosts_file "$ATK" "10.77.0.12 shop.decky-02.example"

PY=/usr/bin/python3

# --- services in the decky namespace -------------------------------------------
mkdir -p "$work/www" "$work/www/admin" "$work/loot"
printf '<html><head><title>Intranet</title></head><body>Welcome</body></html>\n' >"$work/www/index.html"
printf 'User-agent: *\nDisallow: /admin/\n' >"$work/www/robots.txt"
printf '<html><body>login</body></html>\n' >"$work/www/admin/index.html"
printf 'beacon-ok\n' >"$work/loot/beacon"

# decky-01: HTTP on port 80
bg "$DKY" "$PY" -m http.server --bind 10.77.0.11 --directory "$work/www" 80 >>"$work/services.log" 2>&1
# decky-03: HTTP on 8080, IPv4 and IPv6 (two listeners)
bg "$DKY" "$PY" -m http.server --bind 10.77.0.13 --directory "$work/www" 8080 >>"$work/services.log" 2>&1
bg "$DKY" "$PY" -m http.server --bind fd77::13 --directory "$work/www" 8080 >>"$work/services.log" 2>&1

# decky-02: TLS with a throwaway self-signed certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=shop.decky-02.example/O=Decky Shop Ltd" \
    -addext "subjectAltName=DNS:shop.decky-02.example,IP:10.77.0.12" \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
bg "$DKY" openssl s_server -quiet -www -accept 10.77.0.12:443 -cert "$work/tls.crt" -key "$work/tls.key" >>"$work/services.log" 2>&1

# decky-01 and decky-03: OpenSSH with a throwaway host key
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh_host_ed25519_key"
cat >"$work/sshd_config" <<EOF
Port 22
ListenAddress 10.77.0.11
ListenAddress 10.77.0.13
ListenAddress fd77::13
HostKey $work/ssh_host_ed25519_key
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOF
bg "$DKY" /usr/sbin/sshd -D -e -f "$work/sshd_config" >>"$work/services.log" 2>&1

# attacker: a web server the implant calls home to
bg "$ATK" "$PY" -m http.server --bind 10.77.0.66 --directory "$work/loot" 8000 >>"$work/services.log" 2>&1

wait_port "$DKY" 10.77.0.11 80
wait_port "$DKY" 10.77.0.13 8080
wait_port "$DKY" 10.77.0.12 443
wait_port "$DKY" 10.77.0.13 22
wait_port "$ATK" 10.77.0.66 8000

# A client key that the server does not accept: the login attempt fails.
ssh-keygen -q -t ed25519 -N '' -f "$work/attacker_key"

# --- capture ------------------------------------------------------------------
pcap="$work/demo.pcap"
capture_start "$DKY" eth0 "$pcap"

a() { nsx "$ATK" "$@"; }

log "nmap SYN scan"
a nmap -sS -Pn -n -T4 -p 21,22,23,80,443,445,3389,8080 10.77.0.11 >/dev/null
a nmap -sS -Pn -n -T4 -p 22,80,443 10.77.0.12 >/dev/null

log "HTTP requests"
a curl -s -o /dev/null http://10.77.0.11/
a curl -s -o /dev/null http://10.77.0.11/robots.txt
a curl -s -o /dev/null -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36' \
    -H 'Accept: text/html,application/xhtml+xml' -H 'Accept-Language: de-DE,de;q=0.9,en;q=0.8' \
    -e 'http://10.77.0.11/' -b 'session=8f14e45fceea167a; theme=dark' http://10.77.0.11/admin/
a curl -s -o /dev/null -X POST -H 'Accept-Language: ru-RU,ru;q=0.9' -b 'PHPSESSID=deadbeef0001' \
    -e 'http://10.77.0.11/admin/' -d 'user=admin&pass=admin123' http://10.77.0.11/admin/login.php
a curl -s -o /dev/null -A 'sqlmap/1.7.2#stable (https://sqlmap.org)' "http://10.77.0.11/index.php?id=1%27%20OR%201=1--"
a curl -s -o /dev/null -X PROPFIND -H 'Depth: 1' http://10.77.0.11/
a curl -s -o /dev/null http://10.77.0.13:8080/
a curl -s -o /dev/null -g -H 'Accept-Language: fr-FR' 'http://[fd77::13]:8080/admin/'

log "TLS handshakes"
echo | a openssl s_client -connect 10.77.0.12:443 -servername shop.decky-02.example >/dev/null 2>&1 || true
echo | a openssl s_client -tls1_2 -connect 10.77.0.12:443 -servername shop.decky-02.example >/dev/null 2>&1 || true
a curl -sk -o /dev/null https://shop.decky-02.example/

log "SSH login attempts (fail)"
for target in root@10.77.0.11 admin@10.77.0.13 'root@fd77::13'; do
    a ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o IdentitiesOnly=yes -i "$work/attacker_key" -o ConnectTimeout=5 \
        "$target" true >/dev/null 2>&1 || true
done

# A scanner-style SSH client: a bare Go banner, then it hangs up.
a "$PY" -c 'import socket,time
s=socket.create_connection(("10.77.0.11",22),5); s.recv(256); s.sendall(b"SSH-2.0-Go\r\n"); time.sleep(0.2); s.close()'

log "outbound: decky-02 calls home"
nsx "$DKY" curl -s -o /dev/null -A 'curl/7.88.1' --interface 10.77.0.12 http://10.77.0.66:8000/beacon

capture_stop
cp "$pcap" "$outdir/demo.pcap"

cat >"$outdir/decnet-state.json" <<'EOF'
{
  "config": {
    "interface": "eth0",
    "deckies": [
      {"name": "decky-01", "ip": "10.77.0.11", "services": ["http", "ssh"]},
      {"name": "decky-02", "ip": "10.77.0.12", "services": ["https"]},
      {"name": "decky-03", "ip": "10.77.0.13", "ipv6": "fd77::13", "services": ["ssh", "http"]}
    ]
  },
  "compose_path": "/opt/decnet/docker-compose.yml"
}
EOF

log "wrote $outdir/demo.pcap ($(stat -c %s "$outdir/demo.pcap") bytes) and $outdir/decnet-state.json"

# TLS values of the demo from tshark and Suricata (never from this project).
if [ "${SKIP_ORACLES:-0}" != 1 ]; then
    "$here/captures/expected.sh" "$outdir"
fi
