#!/usr/bin/env bash
# Next rain candidate (started 2026-12-05 02:05, for a later session; resumable: rerun the same command).
# Goal: a network that leaves dry content alone by itself, so the gate can open more: half the crops dry,
# a stronger colour term, larger crops (more context to tell a veil from a bright scene).
set -euo pipefail
common=(--task rain --clean data/snow/train_clean --skimage-samples --clean-fraction 0.5 --lambda-colour 8 --seed 11 --workers 0 --threads 1 --checkpoint-every 200 -q)
weatherclean train "${common[@]}" --init runs/r13b-s2/model --frames 1 --crop 96 --batch-size 8 --steps 6000 --lr 1e-4 --warmup 50 -o runs/r13c-s1
weatherclean train "${common[@]}" --init runs/r13c-s1/model --frames 9 --crop 64 --batch-size 4 --steps 1000 --lr 7.5e-5 --warmup 20 -o runs/r13c-s2
