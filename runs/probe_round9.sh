#!/usr/bin/env bash
# Rain round 9 (docs/model-history.md): where the bright Rain100L picture's loss lies, for the shipped model (round 6),
# round 4's weights (runs/r13c-s2), round 6's leave-downpour-out twin (runs/r13e-nd-s2) and round 9's candidate.
set -euo pipefail
for m in j4rnet-light runs/r13c-s2/model runs/r13e-nd-s2/model runs/r13h-s2/model; do
  echo "## $m"; python scripts/rain_pair_probe.py "$m" ../shared/data/paired/rain_light
done
