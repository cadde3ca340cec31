"""The attacker's side of tests/evasion_received.rs: opens a real TCP
connection to the decky with scapy and sends its first bytes the evasive
way CASE names. The source address is not configured in the client's
namespace (the decky reaches it through a static neighbour entry), so the
client's kernel ignores the replies instead of resetting the connection.

usage: evasion_client.py IFACE DST_MAC SRC DST CASE

CASE: tls-insertion, http-insertion, tls-fragments, tls-shuffled,
tls-even-odd, tunnel.
"""
import random
import ssl
import sys

from scapy.all import IP, TCP, AsyncSniffer, Ether, conf, fragment, raw, sendp

iface, dst_mac, src, dst, case = sys.argv[1:6]
conf.verb = 0


def client_hello(name):
    """The bytes Python's own TLS client sends first, for server `name`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def same_length(a, b):
    assert len(a) == len(b), (len(a), len(b))
    return a, b


def l2(pkt):
    return Ether(dst=dst_mac) / pkt


def send(pkts):
    # Paced a little, so that the capture on a loaded machine keeps up.
    sendp([l2(p) for p in pkts], iface=iface, inter=0.0002 if len(pkts) > 8 else 0)


def connect(dport, fragment_syn=False):
    """Three-way handshake; returns (our next seq, their next seq)."""
    sport = fresh.randint(20000, 60000)
    isn = fresh.randint(0, 2**31)
    sniff = AsyncSniffer(
        iface=iface,
        lfilter=lambda p: TCP in p and p[TCP].dport == sport and p[TCP].flags.S,
        count=1,
        timeout=5,
    )
    sniff.start()
    syn = IP(src=src, dst=dst) / TCP(
        sport=sport, dport=dport, seq=isn, flags="S", options=[("MSS", 1460), ("WScale", 7), ("NOP", None), ("SAckOK", b"")]
    )
    if fragment_syn:
        # The TCP header over three pieces (8 bytes each but the last).
        send(fragment(syn, fragsize=8))
    else:
        send([syn])
    sniff.join()
    got = sniff.results
    if not got:
        sys.exit("no SYN-ACK from the decky")
    synack = got[0][TCP]
    seq, ack = isn + 1, synack.seq + 1
    send([IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="A")])
    return sport, seq, ack


def segment(sport, dport, seq, ack, data, **kw):
    return IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags="PA", **kw) / data


def insertion(dport, decoy, real):
    """The decoy with a broken TCP checksum, then the real bytes at the
    same sequence numbers: the decky's stack drops the first copy."""
    sport, seq, ack = connect(dport)
    bad = IP(raw(segment(sport, dport, seq, ack, decoy)))
    bad[TCP].chksum ^= 0x5555
    send([bad, segment(sport, dport, seq, ack, real)])


def pieces(dport, data, order, size=1, fragment_syn=False, frag=None):
    sport, seq, ack = connect(dport, fragment_syn)
    chunks = [(i, data[i:i + size]) for i in range(0, len(data), size)]
    pkts = [segment(sport, dport, seq + i, ack, c) for i, c in order(chunks)]
    if frag:
        pkts = [f for p in pkts for f in fragment(p, fragsize=frag)]
    send(pkts)


# Ports and sequence numbers differ per run (earlier connections to the
# decky may linger); the orders of the pieces are the same in every run.
fresh = random.SystemRandom()
random.seed(18)
if case == "tls-insertion":
    decoy, real = same_length(client_hello("harmless.example"), client_hello("attacker.example"))
    insertion(443, decoy, real)
elif case == "http-insertion":
    req = "GET / HTTP/1.1\r\nHost: decky\r\nUser-Agent: %s\r\n\r\n"
    decoy, real = same_length((req % "harmless-agent/1.0").encode(), (req % "attacker-agent/6.6").encode())
    insertion(80, decoy, real)
elif case == "tls-fragments":
    # The SYN's TCP header and the ClientHello segment, each in IP
    # fragments of 8 (SYN) and 200 (hello) bytes.
    hello = client_hello("fragments.example")
    pieces(443, hello, lambda c: c, size=len(hello), fragment_syn=True, frag=200)
elif case == "tls-shuffled":
    hello = client_hello("shuffled.example")
    pieces(443, hello, lambda c: random.sample(c, len(c)))
elif case == "tls-even-odd":
    hello = client_hello("even-odd.example")
    pieces(443, hello, lambda c: c[0::2] + c[1::2])
elif case == "tunnel":
    # IP-in-IP to the decky whose inner packet claims to come from the
    # decky: "decky -> C2 host, SYN then a ClientHello". The decky has no
    # tunnel device: to it this is a datagram of protocol 4.
    c2 = "192.0.2.66"
    inner = IP(src=dst, dst=c2) / TCP(sport=40000, dport=443, seq=100, flags="S")
    hello = IP(src=dst, dst=c2) / TCP(sport=40000, dport=443, seq=101, ack=1, flags="PA") / client_hello("c2.example")
    send([IP(src=src, dst=dst, proto=4) / inner, IP(src=src, dst=dst, proto=4) / hello])
else:
    sys.exit("unknown case " + case)
