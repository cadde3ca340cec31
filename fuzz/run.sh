#!/bin/sh
# Runs one fuzz target for SECS seconds on its seeded corpus (see seed.sh):
#   fuzz/run.sh TARGET SECS
# Crashes go to fuzz/artifacts/TARGET/; the libFuzzer log to fuzz/logs/.
set -e
cd "$(dirname "$0")"
t=$1; secs=${2:-180}
bin=target/x86_64-unknown-linux-gnu/release/$t
mkdir -p corpus/$t artifacts/$t logs
exec "$bin" corpus/$t -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -max_len=${MAXLEN:-65536} -print_final_stats=1 -artifact_prefix=artifacts/$t/ \
    > logs/$t.log 2>&1
