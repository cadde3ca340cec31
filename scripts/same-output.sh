#!/usr/bin/env bash
# Compares the output of two decnet-sniffer binaries, byte for byte, on every
# capture of the repository (tests/corpus, tests/data, data/demo) and, when
# they exist, on the benchmark workloads in $BENCH_DIR (bench/README.md).
#
# Usage: scripts/same-output.sh OLD_BIN NEW_BIN [EXTRA_READ_ARGS...]
# Exits 0 when every log and JSON file is identical, 1 otherwise (the
# differing captures are listed). A change that must keep every output byte
# (refactoring, performance work) runs this against the binary before it.
set -euo pipefail
old="$1" new="$2"; shift 2
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="${BENCH_DIR:-/tmp/decnet-bench}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

captures=()
while IFS= read -r -d '' f; do captures+=("$f"); done < <(
  find "$root/tests/corpus" "$root/tests/data" "$root/data/demo" -type f \
    \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)
for w in mixed bulk scan500k; do
  [ -f "$bench/$w.pcap" ] && captures+=("$bench/$w.pcap")
done

run() { # BIN CAPTURE OUT_PREFIX
  local state=()
  case "$2" in
    */data/demo/*) state=(--state "$root/data/demo/decnet-state.json") ;;
    "$bench"/*) state=(--state "$bench/decnet-state.json") ;;
  esac
  rm -f "$3.log" "$3.json"
  "$1" read --no-progress "${state[@]}" "${@:4}" --log "$3.log" --json "$3.json" "$2" \
    >/dev/null 2>"$3.err" || echo "exit $?" >>"$3.err"
}

differ=0 same=0
for c in "${captures[@]}"; do
  run "$old" "$c" "$work/old" "$@"
  run "$new" "$c" "$work/new" "$@"
  if cmp -s "$work/old.log" "$work/new.log" && cmp -s "$work/old.json" "$work/new.json"; then
    same=$((same + 1))
  else
    differ=$((differ + 1))
    echo "DIFFERS: ${c#"$root"/} ($(diff "$work/old.log" "$work/new.log" | grep -c '^[<>]' || true) log lines)"
  fi
done
echo "same-output: $same identical, $differ differing, of ${#captures[@]} captures"
[ "$differ" -eq 0 ]
