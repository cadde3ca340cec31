#!/usr/bin/env bash
# Captures of real client programs and attack tools for data/clients/clients.db.
#
# Usage (root): scripts/clients/capture.sh [CASE...]   (default: every case)
#
# Two throwaway namespaces joined by a veth pair: the servers at 10.77.0.1
# (openssl s_server TLS 1.3 on 443 and TLS 1.2 only on 8443, python's
# http.server on 80, OpenSSH sshd on 22), the client at 10.77.0.2. Each case
# runs one program once against one server and keeps only that connection's
# handshake (tcpdump on the client side, a packet cap for the noisy tools) as
# tests/data/clients/CASE.pcap. Programs are Debian 12 packages (see
# scripts/clients/README.md), Python libraries the Debian ones.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/netns-lib.sh
need_root
# The programs (Debian 12); AsyncSSH comes from PyPI (see README), Node.js
# from wherever `node` is.
apt_need tcpdump openssl curl wget python3-requests python3-httpx python3-aiohttp \
    python3-paramiko gnutls-bin golang-go openjdk-17-jdk-headless openssh-server \
    openssh-client dropbear-bin putty-tools hydra nmap sqlmap dirb whatweb gobuster \
    ncrack masscan zmap hping3 chromium testssl.sh firefox-esr

OUT=tests/data/clients
HERE=scripts/clients
SRV=10.77.0.1
CHROME_UA='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
WORK=$(mktemp -d)
trap 'cleanup; rm -rf "$WORK"' EXIT

S="cls$NS_TAG"
C="clc$NS_TAG"
ns_add "$S"
ns_add "$C"
veth_pair "$S" srv0 "$C" cli0
addr "$S" srv0 "$SRV/24"
addr "$C" cli0 10.77.0.2/24
hosts_file "$C" "$SRV decky.test"

# Servers.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=decky.test \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
bg "$S" openssl s_server -quiet -www -accept 443 -cert "$WORK/cert.pem" -key "$WORK/key.pem"
bg "$S" openssl s_server -quiet -www -accept 8443 -no_tls1_3 -cert "$WORK/cert.pem" -key "$WORK/key.pem"
mkdir -p "$WORK/www"
echo hello >"$WORK/www/index.html"
bg "$S" python3 -m http.server 80 --bind "$SRV" --directory "$WORK/www"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/hostkey"
cat >"$WORK/sshd_config" <<CONF
Port 22
HostKey $WORK/hostkey
UsePAM no
PasswordAuthentication yes
PidFile none
CONF
mkdir -p /run/sshd
bg "$S" /usr/sbin/sshd -D -f "$WORK/sshd_config"
wait_port "$S" "$SRV" 443
wait_port "$S" "$SRV" 8443
wait_port "$S" "$SRV" 80
wait_port "$S" "$SRV" 22

if [ -f "$HERE/get.go" ]; then
    (cd "$WORK" && cp "$OLDPWD/$HERE/get.go" . && GOCACHE="$WORK/gocache" GOPATH="$WORK/go" GO111MODULE=off go build -o go-get get.go) || true
fi
javac -d "$WORK" "$HERE/Get.java" 2>/dev/null || true
# Debian's interpreter and libraries, whatever python3 comes first on PATH.
PY=/usr/bin/python3
ASYNCSSH_PY="${ASYNCSSH_PY:-$PY}"
# sslyze comes from PyPI (see README): the one on PATH, or SSLYZE=/venv/bin/sslyze.
SSLYZE="${SSLYZE:-sslyze}"
# Chromium headless as tests/corpus/README.md runs it; --dump-dom makes it
# load one page and exit.
CHROMIUM=(chromium --headless --no-sandbox --disable-gpu --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$WORK/chromium" --ignore-certificate-errors --dump-dom)
# Firefox ESR headless: --screenshot loads one page and exits; on the
# self-signed certificate it stops at the error page, hence the timeout.
mkdir -p "$WORK/firefox"
FIREFOX=(env HOME="$WORK/firefox" timeout 15 firefox-esr --headless --no-remote
    --profile "$WORK/firefox" --screenshot "$WORK/firefox.png")
SRV_MAC=$(cat "/sys/class/net/srv0/address" 2>/dev/null || ip netns exec "$S" cat /sys/class/net/srv0/address)

# run CASE PACKETS FILTER -- CMD... : capture CMD's traffic matching FILTER
# (at most PACKETS packets) into $OUT/CASE.pcap.
run() {
    local name="$1" packets="$2" filter="$3"
    shift 4
    log "$name: $*"
    capture_start "$C" cli0 "$OUT/$name.pcap" -c "$packets" "$filter"
    timeout 60 ip netns exec "$C" "$@" >/dev/null 2>&1 </dev/null || true
    capture_stop
}

https="https://$SRV/"
http="http://$SRV/"
tls="tcp port 443"
tls12="tcp port 8443"
web="tcp port 80"
ssh="tcp port 22"

case_cmd() {
    case "$1" in
    # TLS clients (TLS 1.3 server; a few against the TLS 1.2-only one).
    curl-tls) run "$1" 40 "$tls" -- curl -sk -o /dev/null "$https" ;;
    curl-tls12) run "$1" 40 "$tls12" -- curl -sk -o /dev/null "https://$SRV:8443/" ;;
    wget-tls) run "$1" 40 "$tls" -- wget -q --no-check-certificate -O /dev/null "$https" ;;
    urllib-tls) run "$1" 40 "$tls" -- "$PY" "$HERE/py_get.py" urllib "$https" ;;
    requests-tls) run "$1" 40 "$tls" -- "$PY" "$HERE/py_get.py" requests "$https" ;;
    httpx-tls) run "$1" 40 "$tls" -- "$PY" "$HERE/py_get.py" httpx "$https" ;;
    aiohttp-tls) run "$1" 40 "$tls" -- "$PY" "$HERE/py_get.py" aiohttp "$https" ;;
    openssl-tls) run "$1" 40 "$tls" -- sh -c "openssl s_client -connect $SRV:443 </dev/null" ;;
    openssl-tls12) run "$1" 40 "$tls12" -- sh -c "openssl s_client -connect $SRV:8443 </dev/null" ;;
    gnutls-tls) run "$1" 40 "$tls" -- sh -c "gnutls-cli --insecure -p 443 $SRV </dev/null" ;;
    go-tls) run "$1" 40 "$tls" -- "$WORK/go-get" "$https" ;;
    node-tls) run "$1" 40 "$tls" -- node -e "require('https').get({host:'$SRV',rejectUnauthorized:false},r=>r.resume())" ;;
    java-tls) run "$1" 40 "$tls" -- java -cp "$WORK" Get "$https" ;;
    hydra-https) run "$1" 40 "$tls" -- hydra -l admin -p admin -t 1 -f -s 443 -S "$SRV" https-get / ;;
    # The same clients by host name: SNI changes JA4's first part.
    curl-tls-sni) run "$1" 40 "$tls" -- curl -sk -o /dev/null https://decky.test/ ;;
    openssl-tls-sni) run "$1" 40 "$tls" -- sh -c "openssl s_client -connect decky.test:443 -servername decky.test </dev/null" ;;
    urllib-tls-sni) run "$1" 40 "$tls" -- "$PY" "$HERE/py_get.py" urllib https://decky.test/ ;;
    requests-tls-sni) run "$1" 40 "$tls" -- "$PY" "$HERE/py_get.py" requests https://decky.test/ ;;
    go-tls-sni) run "$1" 40 "$tls" -- "$WORK/go-get" https://decky.test/ ;;
    wget-tls-sni) run "$1" 40 "$tls" -- wget -q --no-check-certificate -O /dev/null https://decky.test/ ;;
    gnutls-tls-sni) run "$1" 40 "$tls" -- sh -c "gnutls-cli --insecure -p 443 decky.test </dev/null" ;;
    chromium-tls) run "$1" 40 "$tls" -- "${CHROMIUM[@]}" "$https" ;;
    chromium-tls12) run "$1" 40 "$tls12" -- "${CHROMIUM[@]}" "https://$SRV:8443/" ;;
    firefox-tls) run "$1" 40 "$tls" -- "${FIREFOX[@]}" "$https" ;;
    # TLS scanners: only their first handshakes (the packet cap).
    testssl-tls) run "$1" 100 "$tls" -- testssl --quiet --color 0 --warnings off -p "$SRV:443" ;;
    sslyze-tls) run "$1" 60 "$tls" -- "$SSLYZE" --tlsv1_3 "$SRV:443" ;;
    nmap-ssl-enum) run "$1" 60 "$tls" -- nmap -Pn -n -p 443 --script ssl-enum-ciphers "$SRV" ;;
    # HTTP clients.
    chromium-http) run "$1" 20 "$web" -- "${CHROMIUM[@]}" "$http" ;;
    firefox-http) run "$1" 20 "$web" -- "${FIREFOX[@]}" "$http" ;;
    curl-http) run "$1" 20 "$web" -- curl -s -o /dev/null "$http" ;;
    wget-http) run "$1" 20 "$web" -- wget -q -O /dev/null "$http" ;;
    urllib-http) run "$1" 20 "$web" -- "$PY" "$HERE/py_get.py" urllib "$http" ;;
    requests-http) run "$1" 20 "$web" -- "$PY" "$HERE/py_get.py" requests "$http" ;;
    httpx-http) run "$1" 20 "$web" -- "$PY" "$HERE/py_get.py" httpx "$http" ;;
    aiohttp-http) run "$1" 20 "$web" -- "$PY" "$HERE/py_get.py" aiohttp "$http" ;;
    go-http) run "$1" 20 "$web" -- "$WORK/go-get" "$http" ;;
    node-http) run "$1" 20 "$web" -- node -e "require('http').get('$http',r=>r.resume())" ;;
    java-http) run "$1" 20 "$web" -- java -cp "$WORK" Get "$http" ;;
    hydra-http) run "$1" 20 "$web" -- hydra -l admin -p admin -t 1 -f "http-get://$SRV/" ;;
    sqlmap-http) run "$1" 30 "$web" -- sqlmap -u "${http}?id=1" --batch --flush-session --smart ;;
    nmap-http-title) run "$1" 30 "$web" -- nmap -Pn -n -p 80 --script http-title "$SRV" ;;
    dirb-http) run "$1" 20 "$web" -- dirb "$http" /dev/stdin -S ;;
    whatweb-http) run "$1" 20 "$web" -- whatweb -q "$http" ;;
    # Tools with a forged browser User-Agent (the mismatch captures).
    curl-forged-ua) run "$1" 20 "$web" -- curl -s -o /dev/null -A "$CHROME_UA" "$http" ;;
    requests-forged-ua) run "$1" 20 "$web" -- "$PY" "$HERE/py_get.py" requests "$http" "$CHROME_UA" ;;
    sqlmap-random-agent) run "$1" 30 "$web" -- sqlmap -u "${http}?id=1" --batch --flush-session --smart --random-agent ;;
    # SSH clients.
    openssh-ssh) run "$1" 30 "$ssh" -- ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "root@$SRV" true ;;
    paramiko-ssh) run "$1" 30 "$ssh" -- "$PY" "$HERE/py_ssh.py" "$SRV" ;;
    asyncssh-ssh) run "$1" 30 "$ssh" -- "$ASYNCSSH_PY" -c "import asyncio,asyncssh
async def m():
    try: await asyncssh.connect('$SRV', username='root', password='x', known_hosts=None)
    except Exception: pass
asyncio.run(m())" ;;
    dropbear-ssh) run "$1" 30 "$ssh" -- sh -c "dbclient -y -y root@$SRV true </dev/null" ;;
    plink-ssh) run "$1" 30 "$ssh" -- plink -batch -pw x "root@$SRV" true ;;
    hydra-ssh) run "$1" 30 "$ssh" -- hydra -l root -p x -t 1 -f "ssh://$SRV" ;;
    nmap-ssh2-enum) run "$1" 30 "$ssh" -- nmap -Pn -n -p 22 --script ssh2-enum-algos "$SRV" ;;
    # Scanners: the SYNs.
    nmap-sS) run "$1" 20 "tcp" -- nmap -Pn -n -sS -p 22,80,443,81 "$SRV" ;;
    nmap-sT) run "$1" 20 "tcp" -- nmap -Pn -n -sT -p 22,80,443,81 "$SRV" ;;
    nmap-O) run "$1" 80 "tcp" -- nmap -Pn -n -O -p 22,81 "$SRV" ;;
    nmap-sV) run "$1" 80 "tcp" -- nmap -Pn -n -sV -p 22,80 "$SRV" ;;
    hping3-syn) run "$1" 6 "tcp" -- hping3 -S -p 80 -c 2 "$SRV" ;;
    masscan-syn) run "$1" 10 "tcp" -- masscan -p 80 --banners "$SRV" --rate 10 --wait 1 --adapter cli0 --adapter-ip 10.77.0.3 --router-mac "$SRV_MAC" ;;
    zmap-syn) run "$1" 6 "tcp" -- zmap -p 80 -i cli0 -G "$SRV_MAC" -S 10.77.0.2 -B 1M -c 1 -b /dev/null "$SRV/32" ;;
    ncrack-ssh) run "$1" 30 "$ssh" -- ncrack --user root --pass x -g CL=1,cr=1 "ssh://$SRV" ;;
    gobuster-http) run "$1" 20 "$web" -- gobuster dir -q -u "$http" -w "$HERE/one-word.txt" ;;
    *) echo "unknown case $1" >&2; return 1 ;;
    esac
}

ALL=$(sed -n 's/^    \([A-Za-z0-9-]*\)) run .*/\1/p' "$0")
for c in ${@:-$ALL}; do
    case_cmd "$c"
done
