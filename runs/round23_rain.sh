#!/usr/bin/env bash
# Rain round 23 (runs/round23-rain-rule.txt) end to end: the soups between the shipped j4rnet-wide and round 22's
# fine-tune, tuning on training backgrounds beside the shipped model, the pick (the smallest share of round 22's
# weights meeting the dry target there), the fresh sets (seed 33033), the shipped model and the pick on them, the rule
# as code, each dry photo.
set -euo pipefail
shares=(0.2 0.35 0.5 0.65)
for a in "${shares[@]}"; do
  d=runs/wise23-a${a#0.}
  [ -f $d/model.safetensors ] || python scripts/average_weights.py runs/j4rnet-wide-r17=$(python -c "print(1 - $a)") \
    runs/r22/model=$a --config runs/j4rnet-wide-r17 -o $d
done
c=(bundled=runs/j4rnet-wide-r17)
for a in "${shares[@]}"; do c+=("a${a#0.}=runs/wise23-a${a#0.}"); done
out=runs/scores/round23-tune-rain
[ -f $out.json ] || python scripts/score_rain_styles.py "${c[@]}" --sets data/rain/tune_light data/rain/tune_heavy \
  --clean data/rain/tune_clean --json $out.json > $out.txt 2>&1
pick=$(python - "$out.json" "${shares[@]}" <<'PY'
import json, sys
sets = json.load(open(sys.argv[1]))["sets"]
for a in sys.argv[2:]:
    label = "a" + a.split(".")[1]
    dry = sets["clean"][label]
    ok = (dry["worst_psnr_y"] >= 40 and max(abs(s) for s in dry["mean_shift_rgb"]) <= 0.5
          and sets["tune_light"][label] >= sets["tune_light"]["input"])
    print(f"{label}: worst dry {dry['worst_psnr_y']:.2f} dB, largest shift {max(abs(s) for s in dry['mean_shift_rgb']):.2f}, "
          f"light {sets['tune_light'][label] - sets['tune_light']['input']:+.2f}, heavy "
          f"{sets['tune_heavy'][label] - sets['tune_heavy']['input']:+.2f} dB: {'qualifies' if ok else 'no'}", file=sys.stderr)
    if ok:
        print(a)
        break
PY
)
if [[ -z $pick ]]; then echo "tuning picked nothing: nothing ships" | tee -a $out.txt; exit 0; fi
echo "picked: a=$pick" | tee -a $out.txt
bash runs/make_sets_a23.sh
spec=runs/wise23-a${pick#0.}
[ -f runs/scores/round23-rain.json ] || python scripts/score_rain_styles.py bundled=runs/j4rnet-wide-r17 "r23=$spec" \
  --data data/rain33 --json runs/scores/round23-rain.json > runs/scores/round23-rain.txt 2>&1
python scripts/check_rule.py rain-dry-target runs/scores/round23-rain.json --candidate r23 > runs/scores/round23-rain-rule.txt || true
python scripts/unchanged_photos.py rain j4rnet-wide=runs/j4rnet-wide-r17 "r23=$spec" --photos data/snow/heldout_clean \
  > runs/scores/round23-dry-photos.txt
cat runs/scores/round23-rain.txt runs/scores/round23-rain-rule.txt runs/scores/round23-dry-photos.txt
