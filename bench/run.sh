#!/usr/bin/env bash
# Whole-process benchmark: decnet-sniffer `read` against Suricata, p0f,
# tshark (JA3 fields) and a bare read loop on the bench workloads.
#
#   bench/run.sh                      # all workloads, 3 runs each
#   RUNS=5 WORKLOADS=mixed bench/run.sh
#   TOOLS="decnet read_loop" bench/run.sh
#   TOOLS="decnet decnet-w2 decnet-w4" bench/run.sh   # read --workers 2, 4
#
# Files live in ${BENCH_DIR:-/tmp/decnet-bench} (generated when missing).
# Each tool runs $RUNS times under /usr/bin/time; the table reports medians
# of CPU seconds (user+sys), wall seconds and peak RSS, packets per CPU
# second, events (output records) and each tool's CPU time relative to
# decnet-sniffer's. Results also go to $BENCH_DIR/results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/decnet-bench}
RUNS=${RUNS:-3}
# External tools are slower; they may get fewer runs on a busy machine.
OTHER_RUNS=${OTHER_RUNS:-$RUNS}
WORKLOADS=${WORKLOADS:-"mixed scan bulk"}
TOOLS=${TOOLS:-"decnet read_loop suricata p0f tshark"}
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$BENCH_DIR"
state="$BENCH_DIR/decnet-state.json"

# --- inputs -----------------------------------------------------------------
[ -f "$state" ] || "$PY" "$here/state.py" "$state"
for w in $WORKLOADS; do
    f="$BENCH_DIR/$w.pcap"
    [ -f "$f" ] && continue
    echo "generating $f" >&2
    "$PY" "$here/gen_$w.py" "$f"
done

# --- binaries ---------------------------------------------------------------
(cd "$repo" && cargo build --release --locked --bin decnet-sniffer --example read_loop >&2)
sniffer="$repo/target/release/decnet-sniffer"
read_loop="$repo/target/release/examples/read_loop"

# --- one measured run ---------------------------------------------------------
# run TOOL FILE OUTDIR: runs the tool, leaves "cpu wall rss_kib events" in OUTDIR/m.
run_tool() {
    local tool=$1 file=$2 out=$3
    rm -rf "$out" && mkdir -p "$out"
    local t="$out/time"
    case $tool in
    decnet | decnet-w*)
        local workers=1
        [ "$tool" = decnet ] || workers=${tool#decnet-w}
        /usr/bin/time -f "%U %S %e %M" -o "$t" "$sniffer" read --state "$state" \
            --log "$out/decnet.log" --json "$out/decnet.json" --no-progress \
            --workers "$workers" "$file"
        events=$(wc -l <"$out/decnet.log") ;;
    read_loop)
        /usr/bin/time -f "%U %S %e %M" -o "$t" "$read_loop" "$file" 2>/dev/null
        events=0 ;;
    suricata)
        /usr/bin/time -f "%U %S %e %M" -o "$t" suricata -c "$here/suricata.yaml" \
            -S /dev/null -k none --runmode single -l "$out" -r "$file" \
            --set app-layer.protocols.tls.ja4-fingerprints=yes >/dev/null 2>&1
        events=$(wc -l <"$out/eve.json") ;;
    p0f)
        /usr/bin/time -f "%U %S %e %M" -o "$t" p0f -r "$file" -o "$out/p0f.log" \
            >/dev/null 2>&1
        events=$(grep -c . "$out/p0f.log" || true) ;;
    tshark)
        /usr/bin/time -f "%U %S %e %M" -o "$t" tshark -n -r "$file" \
            -Y "tls.handshake.type == 1 || tls.handshake.type == 2" -T fields \
            -e frame.time_epoch -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport \
            -e tls.handshake.ja3 -e tls.handshake.ja3s >"$out/tshark.tsv" 2>/dev/null
        events=$(wc -l <"$out/tshark.tsv") ;;
    esac
    read -r u s e m <"$t"
    echo "$(echo "$u + $s" | bc) $e $m $events" >"$out/m"
    # The scan storm writes ~9 GB of events per run: keep only the counts
    # unless KEEP_OUTPUT is set.
    [ -n "${KEEP_OUTPUT:-}" ] || find "$out" -type f ! -name m ! -name time -delete
}

packets_of() {
    "$read_loop" "$1" 2>&1 | sed -n 's/^packets read: \([0-9]*\) .*/\1/p'
}

results="$BENCH_DIR/results.md"
{
    echo "| workload | tool | packets/CPU-s | packets/s (wall) | events | CPU s | wall s | peak RSS MiB | CPU vs decnet-sniffer |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
} >"$results.tmp"

for w in $WORKLOADS; do
    file="$BENCH_DIR/$w.pcap"
    packets=$(packets_of "$file")
    base_cpu=""
    for tool in $TOOLS; do
        n=$RUNS
        case $tool in decnet | decnet-w* | read_loop) ;; *) n=$OTHER_RUNS ;; esac
        : >"$BENCH_DIR/runs-$w-$tool.txt"
        for i in $(seq 1 "$n"); do
            run_tool "$tool" "$file" "$BENCH_DIR/out-$w-$tool"
            cat "$BENCH_DIR/out-$w-$tool/m" >>"$BENCH_DIR/runs-$w-$tool.txt"
            echo "$w $tool run $i: $(cat "$BENCH_DIR/out-$w-$tool/m") (cpu wall rss_kib events)" >&2
        done
        # Medians of each column.
        read -r cpu wall rss events < <("$PY" - "$BENCH_DIR/runs-$w-$tool.txt" <<'PYEOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(*(statistics.median(c) for c in zip(*rows)))
PYEOF
)
        [ "$tool" = decnet ] && base_cpu=$cpu
        "$PY" - "$w" "$tool" "$packets" "$cpu" "$wall" "$rss" "$events" "${base_cpu:-0}" \
            >>"$results.tmp" <<'PYEOF'
import sys
w, tool, packets, cpu, wall, rss, events, base = sys.argv[1:]
packets, cpu, wall, rss, events, base = map(float, (packets, cpu, wall, rss, events, base))
rate = packets / cpu if cpu > 0 else float("inf")
wall_rate = packets / wall if wall > 0 else float("inf")
ratio = f"{cpu / base:.2f}x" if base > 0 else "-"
print(f"| {w} | {tool} | {rate:,.0f} | {wall_rate:,.0f} | {events:,.0f} | {cpu:.2f} | {wall:.2f} | "
      f"{rss / 1024:.0f} | {ratio} |")
PYEOF
    done
done
mv "$results.tmp" "$results"
cat "$results"
