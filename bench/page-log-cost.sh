#!/usr/bin/env bash
# What the served-page log costs a server under load: the README's load test
# (scripts/load-test.sh) run alternately without the log (--page-log-queue 0) and with it (the
# default), PAIRS times, on one store. One line per run: pair=N log=off|on followed by the load
# test's own fields (requests/s, latency percentiles, server CPU per request).
#
# usage: bench/page-log-cost.sh STORE [seconds] [connections] [users]   (STORE: SQLite file or postgres:// URL)
#   PAIRS=3   THREADS=1 (wrk threads; leave the cores to the server)
# Needs a release build and a trained store; time nothing else meanwhile.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
store=${1:?store: an SQLite file or a postgres:// URL}; secs=${2:-20}; conns=${3:-4}; users=${4:-100000}
for pair in $(seq 1 "${PAIRS:-3}"); do
  for mode in off on; do
    args=""; [[ $mode == off ]] && args="--page-log-queue 0"
    line=$(THREADS=${THREADS:-1} SERVE_ARGS="$args" scripts/load-test.sh "$store" "$secs" "$conns" "$users" 2>/dev/null | grep '^requests=')
    echo "pair=$pair log=$mode $line"
  done
done
