#!/bin/sh
# Summarises a campaign log (fuzz/logs/TARGET.log written by campaign.sh):
# final executions, exec/s, corpus, coverage, and when coverage last grew.
#   fuzz/plateau.sh TARGET
cd "$(dirname "$0")"
log=logs/$1.log
perl -ne '
  if (/^\s*(\d+) #(\d+)\s+(NEW|REDUCE|pulse|INITED|DONE)\s+cov: (\d+) ft: (\d+) corp: (\d+)/) {
    ($s, $n, $cov, $ft, $corp) = ($1, $2, $4, $5, $6);
    if ($cov > $lastcov) { $lastcov = $cov; $grew = $s; }
    if ($ft > $lastft) { $lastft = $ft; $ftgrew = $s; }
    $inited = $cov if $3 eq "INITED";
  }
  $execs = $1 if /stat::number_of_executed_units: (\d+)/;
  $rate = $1 if /stat::average_exec_per_sec:\s+(\d+)/;
  $peak = $1 if /stat::peak_rss_mb:\s+(\d+)/;
  $crash = 1 if /(ERROR: libFuzzer|panicked at|deadly signal|Test unit written)/;
  END {
    printf "%s: %ds, %s execs, %s exec/s, corpus %s, cov %s (seed %s), ft %s, cov last grew at %ds, ft at %ds, peak rss %s MB%s\n",
      "'"$1"'", $s, $execs, $rate, $corp, $cov, $inited, $ft, $grew, $ftgrew, $peak, $crash ? ", CRASH" : "";
  }' "$log"
