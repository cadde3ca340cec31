#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the conformance corpus and tests/data.
set -e
exec python3 "$(dirname "$0")/seed.py" "$@"
