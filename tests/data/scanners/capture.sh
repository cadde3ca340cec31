#!/bin/bash
# Captures real scanners and real client stacks between two network
# namespaces (nothing leaves them). Run as root from this directory:
#   bash capture.sh            # all captures
#   bash capture.sh nmap-sS    # one capture
# Then: bash expected.sh (runs p0f on every capture).
set -u
A=scanA; B=scanB               # attacker and target namespaces
VA=scva; VB=scvb
TGT=10.99.0.2                  # target; 10.99.0.3-9 are extra target hosts
ATK=10.99.0.1

setup() {
  ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null
  ip netns add $A; ip netns add $B
  ip link add $VA type veth peer name $VB
  ip link set $VA netns $A; ip link set $VB netns $B
  ip -n $A addr add $ATK/24 dev $VA
  for i in 2 3 4 5 6 7 8 9; do ip -n $B addr add 10.99.0.$i/24 dev $VB; done
  ip -n $A addr add fd99::1/64 dev $VA nodad
  ip -n $B addr add fd99::2/64 dev $VB nodad
  ip -n $A link set $VA up; ip -n $B link set $VB up
  ip -n $A link set lo up; ip -n $B link set lo up
  ip netns exec $A ethtool -K $VA tx off rx off tso off gso off gro off >/dev/null 2>&1
  ip netns exec $B ethtool -K $VB tx off rx off tso off gso off gro off >/dev/null 2>&1
  # Open ports on the target: 22, 80, 443, 8080.
  for p in 22 80 443 8080; do
    ip netns exec $B python3 -m http.server --bind :: $p >/dev/null 2>&1 &
  done
  sleep 2
  MAC_A=$(ip netns exec $A cat /sys/class/net/$VA/address)
  MAC_B=$(ip netns exec $B cat /sys/class/net/$VB/address)
}

teardown() {
  ip netns pids $B 2>/dev/null | xargs -r kill 2>/dev/null
  ip netns pids $A 2>/dev/null | xargs -r kill 2>/dev/null
  sleep 0.5
  ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null
}

# capture NAME COMMAND...: tcpdump on the target side while COMMAND runs
# in the attacker namespace.
capture() {
  local name=$1; shift
  ip netns exec $B tcpdump -i $VB -s0 -U -w "$name.pcap" tcp >/dev/null 2>&1 &
  local tpid=$!
  sleep 1
  echo "== $name: $*"
  ip netns exec $A "$@" >"/tmp/$name.out" 2>&1
  sleep 1
  kill -INT $tpid; wait $tpid 2>/dev/null
}

run() {
  case $1 in
  nmap-sS)   capture nmap-sS nmap -n -Pn -sS -p 1-150 $TGT ;;
  nmap-O)    capture nmap-O nmap -n -Pn -O -p 22,80,81 --max-os-tries 1 10.99.0.2-4 ;;
  nmap-sS6)  capture nmap-sS6 nmap -6 -n -Pn -sS -p 1-60 fd99::2 ;;
  nmap-O6)   capture nmap-O6 nmap -6 -n -Pn -O -p 22,80,81 --max-os-tries 1 fd99::2 ;;
  nmap-sT)   capture nmap-sT nmap -n -Pn -sT -p 1-150 $TGT ;;
  masscan)   capture masscan masscan $TGT -p1-150 --rate 500 --wait 1 \
               --adapter $VA --adapter-ip 10.99.0.100 --adapter-mac "$MAC_A" --router-mac "$MAC_B" ;;
  zmap)      : >/tmp/zmap-empty-blocklist
             capture zmap zmap -p 80 -i $VA -S $ATK -G "$MAC_B" -b /tmp/zmap-empty-blocklist \
               -P 8 -r 200 --cooldown-time 1 10.99.0.0/29 ;;
  hping3)    capture hping3 hping3 -S -p ++20 -c 60 -i u20000 $TGT ;;
  hping3-scan) capture hping3-scan hping3 -8 1-100 -S $TGT ;;
  nping)     capture nping nping --tcp -p 20-80 -c 1 --rate 200 $TGT ;;
  nping6)    capture nping6 nping -6 --tcp -p 20-50 -c 1 --rate 200 fd99::2 ;;
  curl)      capture curl bash -c "for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null http://$TGT:8080/; done" ;;
  curl6)     capture curl6 bash -c "for i in 1 2 3 4; do curl -s -o /dev/null http://[fd99::2]:8080/; done" ;;
  pnscan)    capture pnscan pnscan $TGT 1:150 ;;
  doscan)    capture doscan doscan -p 80 -c 20 10.99.0.0/29 ;;
  esac
}

ALL="nmap-sS nmap-O nmap-sS6 nmap-O6 nmap-sT masscan zmap hping3 hping3-scan nping nping6 curl curl6 pnscan doscan"
setup
trap teardown EXIT
for c in ${@:-$ALL}; do run "$c"; done
