#!/bin/bash
# The issue-21 comparison of docs/results/quant.md ("After products on
# blocks"): loom against llama.cpp on the same GGUF files, 1 and 2 threads,
# three interleaved rounds (medians on the page). Files, made in /work/q21 by
#   loom init --config docs/results/interop/llama3.2-1b-config.json --out llama1b --dtype bf16
#   loom export --format gguf --type f16 --model llama1b --out llama1b-f16.gguf --dtype bf16
#   loom export --format gguf --type q8_0 --model llama1b --out llama1b-q8.gguf --dtype bf16
#   loom quantize --type q4_k_m --model llama1b-f16.gguf --out llama1b-q4km.gguf
# and the same for m100-* from docs/results/quant/llama-134m-config.json.
# Usage: [ROUNDS=3] [SIZES="m100 llama1b"] bench2.sh [OUT_DIR_NAME] (default run2).
# Needs /tmp/loom (go build -o /tmp/loom ./cmd/loom), node-llama-cpp 3.21.1
# and a machine doing nothing else.
set -e
R=$(git rev-parse --show-toplevel)
B=$R/cmd/loom/testdata/llamacpp/bench.mjs
OUT=$R/docs/results/quant/${1:-run2}
NM=$HOME/.cache/loom/node-llama-cpp-3.21.1/node_modules
mkdir -p "$OUT"
cd /work/q21
for round in $(seq 1 ${ROUNDS:-3}); do
  for size in ${SIZES:-m100 llama1b}; do
    for th in 1 2; do
      for m in q8 f16 q4km; do
        dt=$(case $m in q8) echo q8_0;; f16) echo f16;; q4km) echo f32;; esac)
        /tmp/loom bench decode --model $size-$m.gguf --dtype $dt --contexts 544 --tokens 32 --threads $th --json \
          | python3 -c "import sys,json; [print(json.dumps(dict(r, round=$round))) for r in json.load(sys.stdin)]" >> "$OUT/loom.jsonl"
        NODE_PATH=$NM node "$B" $size-$m.gguf $th 512 32 \
          | python3 -c "import sys,json; print(json.dumps(dict(json.loads(sys.stdin.read()), round=$round)))" >> "$OUT/llamacpp.jsonl"
      done
    done
  done
done
