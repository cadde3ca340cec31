#!/usr/bin/env bash
# Regenerate the DTLS 1.3 (RFC 9147) test captures in tests/data/dtls13/:
# real wolfSSL DTLS 1.3 handshakes (its example client against its example
# server) recorded in throwaway network namespaces, and expected.tsv with the
# values independent tools compute on them (scripts/captures/dtls13_expected.py).
#
# Usage: sudo scripts/make-dtls13-captures.sh
# Env:   OUT=dir (default tests/data/dtls13)
#        WOLFSSL_BUILD=dir  build wolfSSL there and keep it (default: a
#                           temporary directory, removed at the end)
#        JA4_PLUGIN_DIR=dir FoxIO's JA4 Wireshark plugin for expected.tsv
#                           (tests/data/dtls13/README.md says how it is built);
#                           without it those rows are left out
#        SKIP_ORACLES=1     do not rewrite expected.tsv
#
# No Debian 12 package has a DTLS 1.3 client (wolfSSL 5.5.4 is packaged
# without --enable-dtls13; OpenSSL 3.0 and GnuTLS have none), so wolfSSL is
# built from source: the C sources bundled in the crates.io crate
# `wolfssl-sys` 5.3.0 (wolfSSL 5.9.4), fetched with `cargo fetch`.
#
# Topology: client namespace 10.77.0.2 -- veth -- server namespace 10.77.0.1,
# offloads off, tcpdump on the server-side veth keeping only UDP. The server
# is `examples/server/server -u -v 4` with a throwaway self-signed P-256
# certificate; the client `examples/client/client -u -v 4 -d -x` sends one
# line of data, which the server answers, so every capture also holds the
# encrypted records (DTLSCiphertext, unified header, RFC 9147 4) of both
# sides, ACKs included.

set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=netns-lib.sh
. "$here/netns-lib.sh"
need_root

OUT="$(realpath -m "${OUT:-$here/../tests/data/dtls13}")"
mkdir -p "$OUT"
apt_need iproute2 ethtool tcpdump openssl tshark python3 gcc make autoconf automake libtool
WOLFSSL_CRATE=wolfssl-sys
WOLFSSL_CRATE_VERSION=5.3.0
WOLFSSL_CONFIGURE=(--enable-dtls --enable-dtls13 --enable-dtlscid --enable-dtls-frag-ch
    --enable-debug --disable-shared --enable-static --disable-crypttests --disable-benchmark)

work="$(mktemp -d /tmp/decnet-dtls13cap.XXXXXX)"
on_exit() {
    cleanup
    rm -rf "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM
build="${WOLFSSL_BUILD:-$work/wolfssl}"

# wolfssl_source : the wolfSSL C sources of the wolfssl-sys crate, through
# cargo (a throwaway manifest depending on it; the crate lands in cargo's
# registry cache).
wolfssl_source() {
    local m="$work/fetch"
    mkdir -p "$m/src"
    printf '[package]\nname = "fetch-wolfssl"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
        "$WOLFSSL_CRATE" "$WOLFSSL_CRATE_VERSION" >"$m/Cargo.toml"
    : >"$m/src/lib.rs"
    cargo fetch --manifest-path "$m/Cargo.toml" >&2
    local src
    src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$WOLFSSL_CRATE-$WOLFSSL_CRATE_VERSION"/wolfssl-src | head -n1)"
    [ -f "$src/configure.ac" ] || { echo "no wolfSSL sources in the $WOLFSSL_CRATE crate" >&2; exit 1; }
    echo "$src"
}

if [ ! -x "$build/examples/client/client" ] || [ ! -x "$build/examples/server/server" ]; then
    log "building wolfSSL (${WOLFSSL_CONFIGURE[*]}) in $build"
    rm -rf "$build"
    cp -r "$(wolfssl_source)" "$build"
    (
        cd "$build"
        ./autogen.sh >"$work/autogen.log" 2>&1
        ./configure "${WOLFSSL_CONFIGURE[@]}" >"$work/configure.log" 2>&1
        grep -q 'DTLS v1.3: *yes' "$work/configure.log" || { echo "configure: no DTLS 1.3" >&2; exit 1; }
        nice make -j2 examples/client/client examples/server/server >"$work/make.log" 2>&1
    )
fi
# The examples look for ./certs/dh2048.pem to find their home directory (the
# crate ships no certificate files); ours are passed explicitly.
[ -f "$build/certs/dh2048.pem" ] ||
    openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$build/certs/dh2048.pem"

# Both examples run from there (every other path here is absolute).
cd "$build"

HOST=test.decnet.example
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=$HOST/O=DecNet Test" -keyout "$work/leaf.key" -out "$work/leaf.crt" 2>/dev/null

CLI="dn-w13c-$NS_TAG"
SRV="dn-w13s-$NS_TAG"
ns_add "$CLI"
ns_add "$SRV"
veth_pair "$CLI" veth-c "$SRV" veth-s
addr "$CLI" veth-c 10.77.0.2/24
addr "$SRV" veth-s 10.77.0.1/24

# record NAME "SERVER_ARGS" CLIENT_ARGS... : one handshake, one line of data
# each way, into $OUT/NAME.pcap; the client's debug log kept in $work.
record() {
    local name="$1" server_args="$2"
    shift 2
    log "capture $name"
    capture_start "$SRV" veth-s "$work/$name.pcap" udp
    # shellcheck disable=SC2086 # server_args is a word list
    bg "$SRV" ./examples/server/server -u -v 4 -b -p 4433 -d \
        -c "$work/leaf.crt" -k "$work/leaf.key" $server_args >"$work/$name.server.log" 2>&1
    local server=$BG_PID
    for _ in $(seq 1 100); do
        nsx "$SRV" ss -Hlun "sport = :4433" 2>/dev/null | grep -q . && break
        sleep 0.1
    done
    nsx "$CLI" timeout 20 ./examples/client/client -u -v 4 -h 10.77.0.1 -p 4433 -d -x "$@" \
        >"$work/$name.client.log" 2>&1 || {
        echo "$name: client exited with $?" >&2
        tail -n 20 "$work/$name.client.log" >&2
        exit 1
    }
    grep -q '^SSL version is DTLSv1.3' "$work/$name.client.log" ||
        { echo "$name: no DTLS 1.3 handshake" >&2; exit 1; }
    stop_pid "$server"
    capture_stop
    cp "$work/$name.pcap" "$OUT/$name.pcap"
}

# The plain handshake: no HelloRetryRequest (the server's stateless cookie
# exchange turned off), one ClientHello.
record dtls13-wolfssl-plain "-J n" -S "$HOST"
# The server's default: a HelloRetryRequest carrying a cookie; the second
# ClientHello (message_seq 1) echoes it (extension 44).
record dtls13-wolfssl-hrr-cookie "" -S "$HOST"
# A post-quantum key share: the client first offers no key share (to keep its
# ClientHello in one datagram), the server's HelloRetryRequest names the
# group, and the second ClientHello (about 1.9 KB with the ML-KEM-1024 key
# share) comes in two handshake fragments in two datagrams.
record dtls13-wolfssl-hrr-pq "-J n" --pqc SecP384r1MLKEM1024
# Connection ids (RFC 9146/9147): extension 54 in the ClientHello; after the
# handshake every record has a unified header carrying the peer's CID.
record dtls13-wolfssl-cid "-J n --cid srvcid" --cid clicid -S "$HOST"
cleanup

if [ "${SKIP_ORACLES:-0}" != 1 ]; then
    python3 "$here/captures/dtls13_expected.py" "$OUT" ${JA4_PLUGIN_DIR:+"$JA4_PLUGIN_DIR"} \
        >"$OUT/expected.tsv"
fi
ls -l "$OUT"/*.pcap >&2
