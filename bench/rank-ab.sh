#!/usr/bin/env bash
# The ranked funnel against recall order in the closed loop (`cascade experiment simulate`):
# two arms in one layer, `{"rank.enabled": false}` (the merged recall order) and
# `{"rank.enabled": true}` (pre-rank, rank, fuse), served to the same simulated world's users
# for a few rounds, on several world seeds. One line per world and arm, the loop's own fields
# (measured CTR and north star with intervals, p against the control) plus the simulator's
# truth: true_ctr, true_northstar and the oracle page's oracle_ctr, oracle_northstar, oracle_ratio.
#
# usage: bench/rank-ab.sh
#   WORLDS="42 7"   world seeds          USERS=2000  ROUNDS=3  EVENTS=200000  ITEMS=5000
#   ARGS="..."      further options of `cascade experiment simulate`
# Needs a release build: swift build -c release --product cascade
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cascade=$root/.build/release/cascade
[[ -x $cascade ]] || { echo "no $cascade: run swift build -c release --product cascade" >&2; exit 1; }
cfg=$(mktemp /tmp/cascade-rank-ab.XXXXXX.json)
trap 'rm -f "$cfg"' EXIT
cat > "$cfg" <<'JSON'
{ "buckets": 100,
  "layers": [ { "name": "funnel", "experiments": [ { "name": "rank", "arms": [
    { "name": "recall-order", "buckets": "0-49", "overrides": { "rank.enabled": false } },
    { "name": "ranked", "buckets": "50-99", "overrides": { "rank.enabled": true } } ] } ] } ] }
JSON
for w in ${WORLDS:-42 7}; do
  "$cascade" experiment simulate --config "$cfg" --seed "$w" --users "${USERS:-2000}" --items "${ITEMS:-5000}" \
    --events "${EVENTS:-200000}" --rounds "${ROUNDS:-3}" --metric ctr ${ARGS:-} 2>/dev/null | sed "s/^/world=$w /"
done
