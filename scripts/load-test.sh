#!/usr/bin/env bash
# Load test of `cascade serve` on loopback with wrk (Debian's package): random users, the read
# key, one line of figures (requests/s, p50/p90/p99) and the server's per-stage means from
# /metrics. Usage: scripts/load-test.sh STORE [seconds] [connections] [users]; CONFIG=cascade.toml
# serves with that config file, SERVE_ARGS adds flags.
set -euo pipefail
db=${1:?store: an SQLite file or a postgres:// URL}; secs=${2:-30}; conns=${3:-8}; users=${4:-100000}
cascade=${CASCADE:-.build/release/cascade}; port=${PORT:-18090}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } >/dev/null
CASCADE_READ_KEY=read CASCADE_ADMIN_KEY=admin "$cascade" serve --store "$db" --port "$port" --reload-interval 0 ${CONFIG:+--config "$CONFIG"} ${SERVE_ARGS:-} &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
# Warm-up, then the measured run.
USERS=$users wrk -t"${THREADS:-2}" -c"$conns" -d5s -s scripts/wrk-recommend.lua "http://127.0.0.1:$port" >/dev/null
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
# CPU of the database's processes (PostgreSQL backends on this host; 0 for SQLite, which runs inside the server).
dbcpu() { local t=0 p; for p in $(pgrep -x postgres 2>/dev/null || true); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
before=$(cpu); dbbefore=$(dbcpu)
out=$(USERS=$users wrk -t"${THREADS:-2}" -c"$conns" -d"${secs}s" --latency -s scripts/wrk-recommend.lua "http://127.0.0.1:$port" | grep '^requests=')
after=$(cpu); dbafter=$(dbcpu)
reqs=$(echo "$out" | sed -E 's/^requests=([0-9]+).*/\1/')
# Server CPU per request (user + system), the figure that bounds throughput whatever else runs.
echo "$out server_cpu_ms_per_request=$(awk -v a="$after" -v b="$before" -v r="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (a - b) * 1000 / hz / r }') db_cpu_ms_per_request=$(awk -v a="$dbafter" -v b="$dbbefore" -v r="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (a - b) * 1000 / hz / r }')"
curl -s -H "Authorization: Bearer admin" "http://127.0.0.1:$port/metrics" | awk '
  /^cascade_stage_duration_seconds_sum/ { match($0, /stage="[^"]*"/); s = substr($0, RSTART+7, RLENGTH-8); sum[s] = $2 }
  /^cascade_stage_duration_seconds_count/ { match($0, /stage="[^"]*"/); s = substr($0, RSTART+7, RLENGTH-8); cnt[s] = $2 }
  END { for (s in sum) if (cnt[s] > 0) printf "stage=%s mean_ms=%.3f count=%d\n", s, 1000 * sum[s] / cnt[s], cnt[s] }' | sort
