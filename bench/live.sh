#!/usr/bin/env bash
# Live-capture benchmark: `decnet-sniffer run` captures on one end of a veth
# pair inside a private network namespace while tcpreplay sends a workload
# into the other end.
#
#   bench/live.sh                              # mixed, scan500k, bulk; 3 runs; --topspeed
#   RUNS=5 LIVE_WORKLOADS=mixed bench/live.sh
#   LIVE_RATE=300000 bench/live.sh             # tcpreplay --pps 300000 instead of --topspeed
#   LIVE_ARGS="--buffer-size 268435456" bench/live.sh   # extra daemon flags
#   NO_BUILD=1 bench/live.sh                   # skip `cargo build --release`
#
# Needs root, iproute2, tcpreplay, curl. Workloads live in
# ${BENCH_DIR:-/tmp/decnet-bench} and are generated when missing
# (scan500k: `gen_scan.py --syns 500000`). Per run it reports packets sent
# (tcpreplay), packets that reached the ring and were dropped there (the
# daemon's /metrics: kernel_received, kernel_dropped, interface_dropped),
# packets the engine processed, events written (lines of the RFC 5424 log),
# the daemon's CPU seconds during the replay (utime+stime from
# /proc/PID/stat, read before the replay starts and once the daemon has
# processed the last packet) and the rates achieved. The table holds
# medians; every run is kept in $BENCH_DIR/live-runs-WORKLOAD.txt and the
# table in $BENCH_DIR/live-results.md. The namespace (and with it the veth
# pair) is deleted on exit, whatever the exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/decnet-bench}
RUNS=${RUNS:-3}
WORKLOADS=${LIVE_WORKLOADS:-"mixed scan500k bulk"}
RATE=${LIVE_RATE:-topspeed}
PORT=${LIVE_METRICS_PORT:-9109}
PY=${PYTHON:-/usr/bin/python3}
read -r -a extra_args <<<"${LIVE_ARGS:-}"

[ "$(id -u)" = 0 ] || { echo "live.sh: needs root (netns, veth, raw sockets)" >&2; exit 1; }
for tool in ip tcpreplay curl; do
    command -v "$tool" >/dev/null || { echo "live.sh: $tool not found" >&2; exit 1; }
done
case $RATE in
topspeed) rate_args=(--topspeed) ;;
*[!0-9]* | "") echo "live.sh: LIVE_RATE is topspeed or packets/s" >&2; exit 1 ;;
*) rate_args=(--pps "$RATE") ;;
esac

mkdir -p "$BENCH_DIR"
state="$BENCH_DIR/decnet-state.json"
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

# NO_BUILD=1: use target/release/decnet-sniffer as it is.
[ -n "${NO_BUILD:-}" ] || (cd "$repo" && cargo build --release --locked --bin decnet-sniffer >&2)
sniffer="$repo/target/release/decnet-sniffer"

# --- namespace and veth pair -------------------------------------------------
ns="decnet-live-$$"
daemon=""
cleanup() {
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
        kill -TERM "$daemon" 2>/dev/null || true
        wait "$daemon" 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
# No IPv6 on the pair: router solicitations and MLD reports of the links
# themselves would pass the capture filter and blur the counts.
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
# replay0 is tcpreplay's end, cap0 the sensor's. The largest veth MTU, so
# every frame of the workloads fits; offloads off, so the sensor sees the
# frames exactly as sent.
nsx ip link add replay0 mtu 65535 type veth peer name cap0 mtu 65535
for dev in lo replay0 cap0; do nsx ip link set "$dev" up; done
if command -v ethtool >/dev/null; then
    for dev in replay0 cap0; do
        nsx ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    done
fi

# --- helpers -----------------------------------------------------------------
metrics() { nsx curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics"; }
# metric NAME FILE: the value of an unlabelled metric, or the sum of a labelled one.
metric() {
    awk -v m="decnet_sniffer_$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d\n", s }' "$2"
}
# Packets the veth pair itself dropped so far (the sender's tx, the capture
# end's rx): losses before the capture ring.
veth_drops() {
    nsx cat /sys/class/net/replay0/statistics/tx_dropped /sys/class/net/cap0/statistics/rx_dropped |
        awk '{ s += $1 } END { print s }'
}
# CPU seconds (utime+stime) of PID so far.
cpu_of() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# run_once FILE OUT: one daemon, one replay; writes to OUT/line
# "sent failed tcpreplay_s tcpreplay_pps kernel_received kernel_dropped
#  if_dropped veth_dropped engine_packets events cpu_s cpu_replay_s
#  processed_at_replay_end"
run_once() {
    local file=$1 out=$2
    rm -rf "$out" && mkdir -p "$out"
    # `ip netns exec` execs the daemon: $! is the daemon's own PID.
    ip netns exec "$ns" "$sniffer" run --iface cap0 --state "$state" --bus off \
        --log "$out/decnet.log" --json "$out/decnet.json" \
        --metrics "127.0.0.1:$PORT" "${extra_args[@]}" 2>"$out/daemon.err" &
    daemon=$!
    local i
    for i in $(seq 1 100); do
        metrics >/dev/null 2>&1 && break
        kill -0 "$daemon" 2>/dev/null || { cat "$out/daemon.err" >&2; return 1; }
        sleep 0.1
    done
    metrics >/dev/null || { echo "live.sh: no metrics from the daemon" >&2; return 1; }
    local cpu0 cpu1 veth0 veth1
    cpu0=$(cpu_of "$daemon")
    veth0=$(veth_drops)

    # --preload-pcap: the file is read into memory first, so the disk does
    # not set the rate.
    nsx tcpreplay -i replay0 --preload-pcap "${rate_args[@]}" "$file" >"$out/tcpreplay.txt" 2>&1
    # Where the daemon stood when the last packet was sent: its CPU time
    # during the replay (its share of a core) and what it had processed
    # (counters are published once a second: up to 1 s stale).
    local cpu_replay done_at_end
    cpu_replay=$(echo "$(cpu_of "$daemon") - $cpu0" | bc)
    done_at_end=$(metrics | awk '$1 == "decnet_sniffer_packets_total" { print $2 }')

    # Wait until the engine has seen the last packet: the kernel hands over a
    # partly filled ring block after 100 ms and counters are published every
    # second, so stop once the packet count holds still for 2 s.
    local last=-1 now stable=0
    for i in $(seq 1 120); do
        sleep 0.5
        # A daemon that died (or was interrupted with the replay) ends the run.
        kill -0 "$daemon" 2>/dev/null || {
            echo "live.sh: the daemon exited during the run" >&2
            tail -n 5 "$out/daemon.err" >&2
            return 1
        }
        metrics >"$out/metrics.txt" || continue
        now=$(metric packets_total "$out/metrics.txt")
        if [ "$now" = "$last" ]; then
            stable=$((stable + 1))
            [ "$stable" -ge 4 ] && break
        else
            stable=0 last=$now
        fi
    done
    cpu1=$(cpu_of "$daemon")
    veth1=$(veth_drops)
    kill -TERM "$daemon"
    wait "$daemon" || echo "live.sh: daemon exited with status $?" >&2
    daemon=""

    # tcpreplay: "Actual: N packets (B bytes) sent in S seconds",
    # "Rated: ... P pps", "Failed packets: F".
    local sent secs pps failed
    sent=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$out/tcpreplay.txt")
    secs=$(sed -n 's/^Actual: .* sent in \([0-9.]*\) seconds.*/\1/p' "$out/tcpreplay.txt")
    pps=$(sed -n 's/^Rated: .*, \([0-9.]*\) pps.*/\1/p' "$out/tcpreplay.txt")
    failed=$(sed -n 's/^.*Failed packets: *\([0-9]*\).*/\1/p' "$out/tcpreplay.txt")
    echo "${sent:-0} ${failed:-0} ${secs:-0} ${pps:-0}" \
        "$(metric kernel_received_packets_total "$out/metrics.txt")" \
        "$(metric kernel_dropped_packets_total "$out/metrics.txt")" \
        "$(metric interface_dropped_packets_total "$out/metrics.txt")" \
        "$((veth1 - veth0))" \
        "$(metric packets_total "$out/metrics.txt")" \
        "$(wc -l <"$out/decnet.log")" \
        "$(echo "$cpu1 - $cpu0" | bc)" "$cpu_replay" "${done_at_end:-0}" >"$out/line"
    [ -n "${KEEP_OUTPUT:-}" ] || rm -f "$out/decnet.log" "$out/decnet.json"
}

results="$BENCH_DIR/live-results.md"
{
    echo "| workload | rate | sent | sent pps | veth drops | ring received | kernel drops | engine packets | events | daemon CPU s | packets/CPU-s | CPU µs/packet | daemon CPU during replay | processed by replay end |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$results.tmp"

for w in $WORKLOADS; do
    file="$BENCH_DIR/$w.pcap"
    runs="$BENCH_DIR/live-runs-$w.txt"
    echo "# sent failed tcpreplay_s tcpreplay_pps kernel_received kernel_dropped if_dropped veth_dropped engine_packets events cpu_s cpu_replay_s processed_at_replay_end" >"$runs"
    for i in $(seq 1 "$RUNS"); do
        # Not in a subshell: the EXIT trap must know the daemon's PID.
        run_once "$file" "$BENCH_DIR/live-out-$w"
        line=$(cat "$BENCH_DIR/live-out-$w/line")
        echo "$line" >>"$runs"
        echo "$w run $i: $line" >&2
    done
    "$PY" - "$runs" "$w" "$RATE" >>"$results.tmp" <<'PYEOF'
import statistics, sys
path, w, rate = sys.argv[1:]
rows = [list(map(float, l.split())) for l in open(path) if l.strip() and not l.startswith("#")]
sent, failed, secs, pps, recv, drop, ifdrop, veth, pkts, events, cpu, cpu_replay, done = (
    statistics.median(c) for c in zip(*rows))
# The daemon's share of one core while tcpreplay was sending.
share = f"{100 * cpu_replay / secs:.0f}%" if secs > 0 else "-"
per_cpu = f"{pkts / cpu:,.0f}" if cpu > 0 else "-"
us_per_packet = f"{cpu / pkts * 1e6:.2f}" if pkts > 0 else "-"
print(f"| {w} | {rate} | {sent:,.0f} | {pps:,.0f} | {veth:,.0f} | {recv:,.0f} | {drop + ifdrop:,.0f} | "
      f"{pkts:,.0f} | {events:,.0f} | {cpu:.2f} | {per_cpu} | {us_per_packet} | {share} | {done:,.0f} |")
PYEOF
done
mv "$results.tmp" "$results"
cat "$results"
