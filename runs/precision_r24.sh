#!/usr/bin/env bash
# bf16 against fp32 for the rain default j4rnet-wide, with its self-ensemble (round 24), over round 24's held-out
# sets (seed 36036) and the three real paired sets (runs/precision_rain.sh).
set -euo pipefail
exec runs/precision_rain.sh precision-r24 data/rain36
