#!/usr/bin/env bash
# bf16 against fp32 for the rain default j4rnet-wide over round 17's held-out sets (seed 17171) and the three real
# paired sets, before its self-ensemble (runs/precision_rain.sh).
set -euo pipefail
exec runs/precision_rain.sh precision-r19 data/rain17
