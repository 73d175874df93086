#!/usr/bin/env bash
# MovieLens-100K click-through judge, end to end and in one run: the judge's split, its LightGBM
# peer, and Cascade's DCN-V2 and DeepFM over several seeds, every prediction file scored by the
# judge's own scorer (../shared/bench/ctr_judge.py). One line per system: system=... auc= gauc=
# logloss= calibration=.
#
# usage: bench/ctr-judge.sh [OUTDIR]        (default /tmp/cascade-ctr)
#   SEEDS="42 1 2 3 4 5"   model seeds
#   MODELS="dcnv2 deepfm"  registry names
#   FLAGS="..."            training flags (default: the regularised setting of the README)
#   PEER_PY=python         a Python with lightgbm==4.7.0 (default ~/.cache/cascade/lgb-venv/bin/python;
#                          skipped with a note when it has no lightgbm)
# Needs a release build: swift build -c release --product cascade
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
judge=${JUDGE:-$root/../shared/bench}
out=${1:-/tmp/cascade-ctr}
seeds=${SEEDS:-42 1 2 3 4 5}
models=${MODELS:-dcnv2 deepfm}
flags=${FLAGS:---dropout 0.3 --lr 0.0005 --dim 8 --weight-average 0.999 --embedding-l2 0.001}
peer_py=${PEER_PY:-$HOME/.cache/cascade/lgb-venv/bin/python}
cascade=$root/.build/release/cascade
[[ -x $cascade ]] || { echo "no $cascade: run swift build -c release --product cascade" >&2; exit 1; }

ml=$(bash "$judge/fetch-ml100k.sh")
python3 "$judge/ctr_judge.py" split "$ml" "$out" >&2
if [[ -x $peer_py ]] && "$peer_py" -c 'import lightgbm' 2>/dev/null; then
  "$peer_py" "$judge/ctr_judge.py" peers "$out"
else
  echo "note=no_lightgbm peer_py=$peer_py (python3 -m venv ~/.cache/cascade/lgb-venv && ~/.cache/cascade/lgb-venv/bin/pip install numpy pandas lightgbm==4.7.0)"
fi
for seed in $seeds; do
  for m in $models; do
    pred=$out/pred_cascade-$m-seed$seed.csv
    # shellcheck disable=SC2086
    "$cascade" eval rank --train "$out/train.csv" --valid "$out/valid.csv" --test "$out/test.csv" \
      --model "$m" $flags --seed "$seed" --out "$pred" > "$out/log_cascade-$m-seed$seed.txt"
    python3 "$judge/ctr_judge.py" score "$out" "$pred"
  done
done
