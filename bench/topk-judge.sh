#!/usr/bin/env bash
# MovieLens-100K top-K judge, end to end and in one run: the judge's split, its classical peers
# (popularity, EASE, implicit ALS and BPR), the neural peers (RecBole SASRec and LightGCN), and
# Cascade's default funnel and sequential channels alone, every recommendation file scored by the
# judge's own scorer (../shared/bench/topk_judge.py). One line per system and split:
#   split=NAME system=NAME k=10 users= recall10= ndcg10= hit10= coverage10= [fit_s=]
# Splits: "judge" (the judge's defaults: last 20% of each user's ratings) and "positive" (ratings
# >= 4 only, last 10%), the second split the README reports beside the first.
#
# usage: bench/topk-judge.sh [OUTDIR]            (default /tmp/cascade-topk)
#   SPLITS="judge positive"   which splits
#   SYSTEMS="peers neural cascade"   which groups of systems
#   CHANNELS="sasrec comirec"        Cascade channels also scored alone
# Needs a release build (swift build -c release --product cascade); the peers need the venvs of
# ../shared/bench/peers-setup.sh and neural-peers-setup.sh (made on first use).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
judge=${JUDGE:-$root/../shared/bench}
out=${1:-/tmp/cascade-topk}
splits=${SPLITS:-judge positive}
systems=${SYSTEMS:-peers neural cascade}
channels=${CHANNELS:-sasrec comirec}
cascade=$root/.build/release/cascade
[[ -x $cascade ]] || { echo "no $cascade: run swift build -c release --product cascade" >&2; exit 1; }
ml=$(bash "$judge/fetch-ml100k.sh")
inter=$(ls "$ml"/*.inter 2>/dev/null | head -1 || true)
[[ -n $inter ]] || inter=$ml

# The judge's own score line, with the split in front and the system renamed.
score() {  # split system recs [extra fields]
  python3 "$judge/topk_judge.py" score "$dir" "$3" | tail -1 | sed "s/^system=[^ ]*/split=$1 system=$2/; s/\$/${4:+ $4}/"
}

for s in $splits; do
  dir=$out/$s
  mkdir -p "$dir"
  case $s in
    judge) python3 "$judge/topk_judge.py" split "$inter" "$dir" >&2 ;;
    positive) python3 "$judge/topk_judge.py" split "$inter" "$dir" --test-frac 0.1 --min-rating 4 >&2 ;;
    *) echo "unknown split $s" >&2; exit 2 ;;
  esac

  if [[ " $systems " == *" peers "* ]]; then
    py=$(bash "$judge/peers-setup.sh")/bin/python
    "$py" "$judge/topk_judge.py" peers "$dir" | sed "s/^system=/split=$s system=/"
  fi

  if [[ " $systems " == *" neural "* ]]; then
    npy=$(bash "$judge/neural-peers-setup.sh")/bin/python
    "$npy" "$judge/neural_peers.py" "$dir" --models sasrec,lightgcn | tee "$dir/neural.txt" >&2
    for m in sasrec lightgcn; do
      fit=$(grep -o "system=[^ ]*$m[^ ]* fit_s=[0-9.]*" "$dir/neural.txt" | grep -o "fit_s=[0-9.]*" | head -1 || true)
      score "$s" "recbole-$m" "$dir/recs_$m.csv" "$fit"
    done
  fi

  if [[ " $systems " == *" cascade "* ]]; then
    db=$dir/cascade.sqlite
    rm -f "$db" "$db-wal" "$db-shm"
    "$cascade" import --db "$db" --format csv --events "$dir/train.csv" >&2
    # The default funnel first (what `cascade train` trains), then each channel not among the
    # defaults trained on its own, so the default funnel's line never includes it.
    start=$(date +%s.%N)
    "$cascade" train --db "$db" > "$dir/train.log" 2>&1
    fit=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$start")
    "$cascade" recommend --db "$db" --users-from "$dir/test.csv" --n 50 --out "$dir/recs_cascade.csv" >&2
    score "$s" cascade-default "$dir/recs_cascade.csv" "fit_s=$fit"
    defaults=$("$cascade" train --help | tr -d '\n ' | grep -o 'default:[a-z,]*' | head -1 || true)
    for c in $channels; do
      if [[ ,${defaults#default:}, != *",$c,"* ]]; then
        "$cascade" train --db "$db" --channels "$c" >> "$dir/train.log" 2>&1
      fi
      "$cascade" recommend --db "$db" --users-from "$dir/test.csv" --n 50 --channel "$c" --out "$dir/recs_cascade-$c.csv" >&2
      score "$s" "cascade-$c" "$dir/recs_cascade-$c.csv"
    done
  fi
done
