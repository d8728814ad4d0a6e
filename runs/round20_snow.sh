#!/usr/bin/env bash
# Snow round 20 (runs/round20-snow-rule.txt) end to end: the gate's model folders, tuning on training backgrounds
# beside the shipped model, the real photos' strengths, the mechanical pick; the shipped model and the pick on the
# fresh sets (seed 32323); the rule as code; per snow-free photo.
set -euo pipefail
grid=(0.0002 0.0003 0.0004 0.0006 0.0008 0.001)
for g in "${grid[@]}"; do
  d=runs/gate33-$g
  mkdir -p $d
  cp src/weatherclean/weights/desnownet-light/model.safetensors $d/
  python -c "import json,sys; c=json.load(open('src/weatherclean/weights/desnownet-light/config.json')); c['picture_gate']=float(sys.argv[2]); json.dump(c, open(sys.argv[1] + '/config.json', 'w'), indent=2, sort_keys=True)" $d $g
done
c=(bundled=desnownet-light)
for g in "${grid[@]}"; do c+=("g$g=runs/gate33-$g"); done
out=runs/scores/round20-snow-tune
[ -f $out.json ] || python scripts/score_snow_styles.py "${c[@]}" --data data/snow_tune31 --json $out.json > $out.txt 2>&1
real=runs/scores/round20-snow-real-gate.txt
[ -f $real ] || python scripts/picture_gate_probe.py desnownet-light ../shared/data/real/snow_photos/images \
  --floors "${grid[@]}" > $real
pick=""; best=""
for g in "${grid[@]}"; do
  python scripts/check_rule.py snow-pooled $out.json --candidate g$g > runs/scores/round20-snow-tune-rule-g$g.txt || continue
  col=$(( $(printf '%s\n' "${grid[@]}" | grep -nx "$g" | cut -d: -f1) ))
  full=$(grep '^| photos at full strength' $real | awk -F'|' -v c=$((col + 3)) '{print $c}' | awk '{print $1}')
  [ "$full" -ge 10 ] || continue
  mean=$(sed -n "s/^g$g: mean gain (Y) \([-+0-9.]*\) dB.*/\1/p" $out.txt)
  echo "g$g qualifies: mean gain $mean dB over the tuning sets, $full of 11 real photos at full strength"
  if [[ -z $best ]] || python -c "import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))" "$mean" "$best"; then
    pick=$g; best=$mean
  fi
done
if [[ -z $pick ]]; then echo "tuning picked nothing: nothing ships" | tee -a $out.txt; exit 0; fi
echo "picked: g$pick (mean gain $best dB)" | tee -a $out.txt
bash runs/make_sets_a20.sh
[ -f runs/scores/round20-snow.json ] || python scripts/score_snow_styles.py bundled=desnownet-light \
  "r20=runs/gate33-$pick" --data data/snow32 --json runs/scores/round20-snow.json > runs/scores/round20-snow.txt 2>&1
python scripts/check_rule.py snow-pooled runs/scores/round20-snow.json --candidate r20 > runs/scores/round20-snow-rule.txt || true
python scripts/unchanged_photos.py snow bundled=desnownet-light "r20=runs/gate33-$pick" --photos data/snow/heldout_clean \
  > runs/scores/round20-snowfree-photos.txt
cat runs/scores/round20-snow.txt runs/scores/round20-snow-rule.txt runs/scores/round20-snowfree-photos.txt
