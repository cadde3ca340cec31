#!/usr/bin/env bash
# Installs and starts what the bus tests need: Debian's nats-server on
# loopback (with JetStream), and openssl for the TLS test. Idempotent: a server already answering on the
# port is reused.
#
# Usage from .ci/run:
#     eval "$(bash scripts/ci-services.sh)"
# stdout carries only `export DECNET_TEST_NATS_URL=...`; progress goes to
# stderr. Tests that must stop and restart a server start their own
# nats-server on a free loopback port; they only need the binary.
set -euo pipefail

port="${DECNET_TEST_NATS_PORT:-14222}"
state="${DECNET_TEST_NATS_DIR:-${TMPDIR:-/tmp}/decnet-ci-nats}"
url="nats://127.0.0.1:${port}"

log() { echo "ci-services: $*" >&2; }

find_server() {
    command -v nats-server 2>/dev/null && return 0
    for p in /usr/sbin/nats-server /usr/bin/nats-server /usr/local/bin/nats-server; do
        [ -x "$p" ] && { echo "$p"; return 0; }
    done
    return 1
}

# A NATS server greets every connection with an INFO line.
answers_nats() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
        line=""
        IFS= read -r -t 2 line <&3 || true
        [[ "$line" == INFO* ]]
    ) 2>/dev/null
}

apt_install() {
    log "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends "$@" >&2
    fi
}

bin="$(find_server || true)"
if [ -z "$bin" ]; then
    apt_install nats-server
    bin="$(find_server)"
fi
# The TLS test makes a throwaway CA with the openssl command.
command -v openssl >/dev/null || apt_install openssl
log "nats-server: $bin ($("$bin" --version 2>&1 | head -n1))"

if answers_nats; then
    log "reusing the NATS server on 127.0.0.1:${port}"
else
    mkdir -p "$state/js"
    # Detached so it outlives this script; -P lets a later run find it.
    setsid "$bin" -a 127.0.0.1 -p "$port" -js -sd "$state/js" \
        -P "$state/nats.pid" -l "$state/nats.log" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 100); do
        answers_nats && break
        sleep 0.1
    done
    if ! answers_nats; then
        log "nats-server did not start; log follows"
        cat "$state/nats.log" >&2 || true
        exit 1
    fi
    log "started nats-server (pid $(cat "$state/nats.pid" 2>/dev/null || echo '?'))"
fi
log "NATS listens on ${url} (JetStream on, store ${state}/js)"
echo "export DECNET_TEST_NATS_URL=${url}"
