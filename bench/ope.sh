#!/usr/bin/env bash
# Will it win? Arms estimated offline, checked against the simulator's truth.
# `cascade experiment simulate --explore E` serves every user of a simulated world by the base
# funnel with epsilon exploration (each slot, with probability E, shows one of the next
# POOL candidates of its ranking; every shown item's inclusion propensity is logged), then
# estimates each arm of the experiment below from that log alone: IPS, self-normalised IPS
# and doubly robust (the ranker as the direct model), per slot under the position-based model
# with the position curve a debiased ranker learns from the world's log. One line per world and
# arm: the arm's true CTR on the logged requests (true_ctr), in the closed loop where it serves
# its own users (loop_true_ctr), and the estimates with the doubly robust 95% interval, the
# effective sample size and the share of the arm's items the log could have shown (support).
# Then the same log through a store, as a deployment keeps it (models trained on the world's
# history, the exploring run's events and served pages): `cascade experiment estimate` on it
# prints the store path's estimates (path=store) for the same arms.
#
# usage: bench/ope.sh
#   WORLDS="42 7"  USERS=2000  ROUNDS=3  EVENTS=200000  ITEMS=5000  EXPLORE=0.2  POOL=40
#   ARGS="..."     further options of `cascade experiment simulate`
# Needs a release build: swift build -c release --product cascade
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cascade=$root/.build/release/cascade
[[ -x $cascade ]] || { echo "no $cascade: run swift build -c release --product cascade" >&2; exit 1; }
cfg=$(mktemp /tmp/cascade-ope.XXXXXX.json)
dir=$(mktemp -d /tmp/cascade-ope.XXXXXX)
trap 'rm -rf "$cfg" "$dir"' EXIT
cat > "$cfg" <<'JSON'
{ "buckets": 99,
  "layers": [ { "name": "funnel", "experiments": [ { "name": "ope", "arms": [
    { "name": "recall-order", "buckets": "0-32", "overrides": { "rank.enabled": false } },
    { "name": "ranked", "buckets": "33-65", "overrides": { "rank.enabled": true } },
    { "name": "ranked-click-only", "buckets": "66-98",
      "overrides": { "fusion.like": 0, "fusion.finish": 0, "fusion.watch_time": 0 } } ] } ] } ] }
JSON
for w in ${WORLDS:-42 7}; do
  db=$dir/world-$w.sqlite
  "$cascade" experiment simulate --config "$cfg" --seed "$w" --users "${USERS:-2000}" --items "${ITEMS:-5000}" \
    --events "${EVENTS:-200000}" --rounds "${ROUNDS:-3}" --metric ctr --explore "${EXPLORE:-0.2}" \
    --explore-pool "${POOL:-40}" --db "$db" ${ARGS:-} 2>"$dir/log" | sed -n 's/^estimate /world='"$w"' path=memory /p'
  from=$(sed -n 's/.*--from \([0-9]*\).*/\1/p' "$dir/log" | tail -1)
  "$cascade" experiment estimate --db "$db" --config "$cfg" --from "$from" --explore-pool "${POOL:-40}" 2>/dev/null \
    | sed 's/^/world='"$w"' path=store /'
done
