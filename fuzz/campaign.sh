#!/bin/sh
# Runs fuzz targets one after another, each for its own time, under nice:
#   fuzz/campaign.sh TARGET:SECS [TARGET:SECS ...]
# Each libFuzzer log line is prefixed with the seconds since the target
# started (fuzz/logs/TARGET.log), so the plateau (time of the last coverage
# gain) can be read off with fuzz/plateau.sh. MAXLEN_<target> overrides the
# default -max_len of 65536.
set -e
cd "$(dirname "$0")"
for spec in "$@"; do
    t=${spec%%:*}; secs=${spec#*:}
    bin=target/x86_64-unknown-linux-gnu/release/$t
    mkdir -p corpus/$t artifacts/$t logs
    eval maxlen=\${MAXLEN_$t:-65536}
    echo "$(date -u +%H:%M:%S) $t ${secs}s max_len $maxlen" >> logs/campaign.log
    nice -n 10 "$bin" corpus/$t -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$maxlen" -print_final_stats=1 -artifact_prefix=artifacts/$t/ 2>&1 |
        perl -ne 'BEGIN { $| = 1; $t0 = time } printf "%5d %s", time - $t0, $_' \
        > logs/$t.log || true
    echo "$(date -u +%H:%M:%S) $t done: $(ls artifacts/$t | wc -l) artifacts" >> logs/campaign.log
done
