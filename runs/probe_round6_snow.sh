#!/usr/bin/env bash
# Snow round 6's probe (docs/model-history.md "Round 6 (snow)"): where heavy snow's error lives, on sets made from
# TRAINING backgrounds (data/rain/tune_clean), with and without the veil (same seed, same flakes).
set -euo pipefail
for L in S M L; do
  [ -f data/snow_probe/test_mixed_$L/synth.json ] || weatherclean synth snow data/rain/tune_clean data/snow_probe/test_mixed_$L --level $L --style mixed --seed 4242 -q
  [ -f data/snow_probe_nohaze/test_mixed_$L/synth.json ] || weatherclean synth snow data/rain/tune_clean data/snow_probe_nohaze/test_mixed_$L --level $L --style mixed --seed 4242 --no-haze -q
done
{ python scripts/snow_band_probe.py desnownet-light data/snow_probe/test_mixed_M
  python scripts/snow_band_probe.py desnownet-light data/snow_probe/test_mixed_L
  python scripts/snow_band_probe.py desnownet-light data/snow_probe_nohaze/test_mixed_L; } | tee runs/scores/round6-snow-bands.txt
