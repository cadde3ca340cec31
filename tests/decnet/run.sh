#!/usr/bin/env bash
# DECNET end to end (tests/decnet/README.md): DECNET 1.0.0's ingester,
# profiler, parsers and bus consume every event of ours.
#
# A virtual environment with DECNET from PyPI (tests/decnet/requirements.txt)
# is made under target/decnet-venv on the first run and kept while the
# requirements are unchanged. DECNET_SNIFFER_BIN names the binary (default:
# target/debug/decnet-sniffer, built here if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=${DECNET_VENV:-$root/target/decnet-venv}
req=tests/decnet/requirements.txt
stamp=$venv/.requirements

if ! cmp -s "$req" "$stamp" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$stamp"
fi

bin=${DECNET_SNIFFER_BIN:-$root/target/debug/decnet-sniffer}
if [ -z "${DECNET_SNIFFER_BIN:-}" ]; then
    cargo build --locked --quiet --bin decnet-sniffer
fi
export DECNET_SNIFFER_BIN=$bin
if [ "${1:-}" = "--side-by-side" ]; then
    exec "$venv/bin/python" tests/decnet/side_by_side.py
fi
# DECNET's loggers print every record to stderr; the verdicts come from unittest.
exec "$venv/bin/python" tests/decnet/test_decnet.py "$@"
