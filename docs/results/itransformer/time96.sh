#!/bin/bash
# Times `loom forecast train` for the four trained models of the iTransformer
# comparison at horizon 96 on ETTh1 (defaults: lookback 96, ETT split, 10
# epochs with early stopping), one after another on an idle machine.
# Usage: docs/results/itransformer/time96.sh LOOM_BINARY OUT_DIR [SEED]
# (SEED defaults to the CLI's default, 1.)
set -euo pipefail
loom=$1; out=$2; seed=${3:-1}
mkdir -p "$out"
total_start=$(date +%s.%N)
for arm in "itransformer" "transformer" "transformer-nonorm" "dlinear"; do
  arch=${arm%-nonorm}
  extra=()
  # The un-normalised Transformer is the same model with use_norm off.
  if [ "$arm" = "transformer-nonorm" ]; then extra=(--no-norm); fi
  s=$(date +%s.%N)
  "$loom" forecast train --csv ETTh1 --arch "$arch" --horizon 96 --seed "$seed" --out "$out/$arm" "${extra[@]}" 2>/dev/null | tee "$out/$arm.txt"
  e=$(date +%s.%N)
  printf '%s %.1f s\n' "$arm" "$(echo "$e - $s" | bc)" | tee -a "$out/times.txt"
done
total_end=$(date +%s.%N)
printf 'all four %.1f s\n' "$(echo "$total_end - $total_start" | bc)" | tee -a "$out/times.txt"
