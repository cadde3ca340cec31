#!/usr/bin/env bash
# Whole-process benchmark: decnet-sniffer `read` against the read floor,
# Suricata, p0f and tshark (JA3 fields) on the bench workloads, and the
# ratios of issue 24 measured in the same run.
#
#   bench/run.sh                      # mixed, scan500k, bulk; 3 runs each
#   RUNS=5 WORKLOADS=mixed bench/run.sh
#   WORKLOADS="mixed scan bulk" bench/run.sh          # the full 5M-SYN storm
#   TOOLS="decnet floor" bench/run.sh
#   TOOLS="decnet decnet-mmap decnet-w2 floor" bench/run.sh   # read --mmap, --workers 2
#   BASELINE=old/decnet-sniffer TOOLS="baseline decnet floor" bench/run.sh   # before/after
#
# Files live in ${BENCH_DIR:-/tmp/decnet-bench} (generated when missing).
# The runs of one workload alternate between the tools (run 1 of each, then
# run 2 of each, ...), so that a neighbour's load falls on all of them.
# Each run is timed by bench/measure.py (wait4: user+sys CPU seconds at
# microsecond resolution, wall seconds, peak RSS). The table reports medians,
# packets per CPU second, events (output records) and each tool's CPU time
# relative to decnet-sniffer's; then the target ratios (bench/README.md).
# Results go to $BENCH_DIR/results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/decnet-bench}
RUNS=${RUNS:-3}
# External tools are slower; they may get fewer runs on a busy machine.
OTHER_RUNS=${OTHER_RUNS:-$RUNS}
WORKLOADS=${WORKLOADS:-"mixed scan500k bulk"}
TOOLS=${TOOLS:-"decnet floor suricata p0f tshark"}
PY=${PYTHON:-/usr/bin/python3}
# External tools that are not installed are left out (and said so).
tools=""
for tool in $TOOLS; do
    case $tool in
    suricata | p0f | tshark)
        command -v "$tool" >/dev/null || { echo "$tool: not installed, left out" >&2; continue; } ;;
    esac
    tools="$tools $tool"
done
TOOLS=$tools
mkdir -p "$BENCH_DIR"
state="$BENCH_DIR/decnet-state.json"

# --- inputs -----------------------------------------------------------------
[ -f "$state" ] || "$PY" "$here/state.py" "$state"
for w in $WORKLOADS; do
    f="$BENCH_DIR/$w.pcap"
    [ -f "$f" ] && continue
    echo "generating $f" >&2
    case $w in
    scan500k) "$PY" "$here/gen_scan.py" --syns 500000 "$f" ;;
    *) "$PY" "$here/gen_$w.py" "$f" ;;
    esac
done

# --- binaries ---------------------------------------------------------------
(cd "$repo" && cargo build --release --locked --bin decnet-sniffer --example read_loop >&2)
sniffer="$repo/target/release/decnet-sniffer"
read_loop="$repo/target/release/examples/read_loop"
# The floor: read() in 1 MiB blocks, walk the records, touch every cache
# line of every packet (bench/floor.c).
floor="$BENCH_DIR/floor"
cc -O2 -o "$floor" "$here/floor.c"
measure="$here/measure.py"

# --- one measured run ---------------------------------------------------------
# run TOOL FILE OUTDIR: runs the tool, leaves "cpu wall rss_kib events" in OUTDIR/m.
run_tool() {
    local tool=$1 file=$2 out=$3
    rm -rf "$out" && mkdir -p "$out"
    local t="$out/time"
    case $tool in
    decnet | decnet-w* | decnet-mmap | baseline)
        local extra=() bin=$sniffer
        case $tool in
        baseline) bin=${BASELINE:?BASELINE=/path/to/decnet-sniffer for the baseline tool} ;;
        decnet-w*) extra=(--workers "${tool#decnet-w}") ;;
        decnet-mmap) extra=(--mmap) ;;
        esac
        "$measure" "$t" "$bin" read --state "$state" \
            --log "$out/decnet.log" --json "$out/decnet.json" --no-progress \
            "${extra[@]}" "$file"
        events=$(wc -l <"$out/decnet.log")
        # What writing the same bytes costs by itself (the scan target).
        local bytes
        bytes=$(cat "$out/decnet.log" "$out/decnet.json" | wc -c)
        [ -n "${KEEP_OUTPUT:-}" ] || rm -f "$out/decnet.log" "$out/decnet.json"
        "$measure" "$out/dd" dd if=/dev/zero of="$out/dd.out" bs=1M count="$bytes" \
            iflag=count_bytes status=none
        rm -f "$out/dd.out" ;;
    floor)
        "$measure" "$t" "$floor" "$file" >/dev/null
        events=0 ;;
    read_loop)
        "$measure" "$t" "$read_loop" "$file" 2>/dev/null
        events=0 ;;
    suricata)
        "$measure" "$t" suricata -c "$here/suricata.yaml" \
            -S /dev/null -k none --runmode single -l "$out" -r "$file" \
            --set app-layer.protocols.tls.ja4-fingerprints=yes >/dev/null 2>&1
        events=$(wc -l <"$out/eve.json") ;;
    p0f)
        "$measure" "$t" p0f -r "$file" -o "$out/p0f.log" \
            >/dev/null 2>&1
        events=$(grep -c . "$out/p0f.log" || true) ;;
    tshark)
        "$measure" "$t" tshark -n -r "$file" \
            -Y "tls.handshake.type == 1 || tls.handshake.type == 2" -T fields \
            -e frame.time_epoch -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport \
            -e tls.handshake.ja3 -e tls.handshake.ja3s >"$out/tshark.tsv" 2>/dev/null
        events=$(wc -l <"$out/tshark.tsv") ;;
    esac
    read -r c e m <"$t"
    local dd_cpu=0
    [ -f "$out/dd" ] && read -r dd_cpu _ _ <"$out/dd"
    echo "$c $e $m $events $dd_cpu" >"$out/m"
    # The scan storm writes ~1 GB of events per 500k SYNs: keep only the
    # counts unless KEEP_OUTPUT is set.
    [ -n "${KEEP_OUTPUT:-}" ] || find "$out" -type f ! -name m ! -name time ! -name dd -delete
}

packets_of() {
    "$floor" "$1" | cut -d' ' -f1
}

# median FILE COLUMN: the median of one column of a runs file.
median() {
    "$PY" -c 'import statistics, sys
print(statistics.median(float(l.split()[int(sys.argv[2])]) for l in open(sys.argv[1]) if l.strip()))' "$1" "$2"
}

results="$BENCH_DIR/results.md"
{
    echo "| workload | tool | packets/CPU-s | packets/s (wall) | events | CPU s | wall s | peak RSS MiB | CPU vs decnet-sniffer |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
} >"$results.tmp"
ratios="$results.ratios"
: >"$ratios"

for w in $WORKLOADS; do
    file="$BENCH_DIR/$w.pcap"
    packets=$(packets_of "$file")
    for tool in $TOOLS; do : >"$BENCH_DIR/runs-$w-$tool.txt"; done
    for i in $(seq 1 "$RUNS"); do
        for tool in $TOOLS; do
            case $tool in decnet | decnet-* | baseline | floor | read_loop) ;; *) [ "$i" -le "$OTHER_RUNS" ] || continue ;; esac
            run_tool "$tool" "$file" "$BENCH_DIR/out-$w-$tool"
            cat "$BENCH_DIR/out-$w-$tool/m" >>"$BENCH_DIR/runs-$w-$tool.txt"
            echo "$w $tool run $i: $(cat "$BENCH_DIR/out-$w-$tool/m") (cpu wall rss_kib events dd_cpu)" >&2
        done
    done
    base_cpu=0
    case " $TOOLS " in *" decnet "*) base_cpu=$(median "$BENCH_DIR/runs-$w-decnet.txt" 0) ;; esac
    for tool in $TOOLS; do
        runs="$BENCH_DIR/runs-$w-$tool.txt"
        cpu=$(median "$runs" 0) wall=$(median "$runs" 1) rss=$(median "$runs" 2)
        events=$(median "$runs" 3) dd_cpu=$(median "$runs" 4)
        echo "$w $tool $cpu $rss $events $dd_cpu" >>"$ratios"
        "$PY" - "$w" "$tool" "$packets" "$cpu" "$wall" "$rss" "$events" "$base_cpu" \
            >>"$results.tmp" <<'PYEOF'
import sys
w, tool, packets, cpu, wall, rss, events, base = sys.argv[1:]
packets, cpu, wall, rss, events, base = map(float, (packets, cpu, wall, rss, events, base))
rate = packets / cpu if cpu > 0 else float("inf")
wall_rate = packets / wall if wall > 0 else float("inf")
ratio = f"{cpu / base:.2f}x" if base > 0 else "-"
print(f"| {w} | {tool} | {rate:,.0f} | {wall_rate:,.0f} | {events:,.0f} | {cpu:.3f} | {wall:.3f} | "
      f"{rss / 1024:.0f} | {ratio} |")
PYEOF
    done
done

# The targets of issue 24, from the medians above (bench/README.md).
"$PY" - "$ratios" "${MEMCAP_MIB:-256}" >>"$results.tmp" <<'PYEOF'
import sys
m = {}
for line in open(sys.argv[1]):
    w, tool, cpu, rss, events, dd = line.split()
    m[(w, tool)] = (float(cpu), float(rss), float(events), float(dd))
memcap = float(sys.argv[2])
rows = []
def ratio(what, num, den, target, ok):
    if den > 0:
        r = num / den
        rows.append(f"| {what} | {r:.2f} | {target} | {'met' if ok(r) else 'NOT met'} |")
for tool in ("baseline", "decnet"):
    for w in ("mixed", "bulk", "scan", "scan500k"):
        d, f = m.get((w, tool)), m.get((w, "floor"))
        if not d:
            continue
        name = f"{w}, {tool}"
        if f and w in ("mixed", "bulk"):
            limit = 5 if w == "mixed" else 1.5
            ratio(f"{name}: CPU / floor CPU", d[0], f[0], f"<= {limit}", lambda r, l=limit: r <= l)
        s = m.get((w, "suricata"))
        if s and w == "mixed":
            ratio(f"{name}: Suricata CPU / this CPU", s[0], d[0], ">= 8", lambda r: r >= 8)
        if f and w.startswith("scan") and d[2] > 0:
            per_event = d[0] / d[2] * 1e6
            floor_per_event = (f[0] + d[3]) / d[2] * 1e6
            rows.append(f"| {name}: CPU µs per SYN event / (floor + dd of the output) | "
                        f"{per_event:.2f} / {floor_per_event:.2f} | | |")
            ratio(f"{name}: CPU / (floor + dd) CPU", d[0], f[0] + d[3], "<= 3", lambda r: r <= 3)
        ratio(f"{name}: peak RSS / --memcap ({memcap:.0f} MiB)", d[1] / 1024, memcap, "<= 1",
              lambda r: r <= 1)
if rows:
    print()
    print("| target (issue 24) | measured | target | |")
    print("|---|---:|---|---|")
    print("\n".join(rows))
PYEOF
mv "$results.tmp" "$results"
rm -f "$ratios"
cat "$results"
