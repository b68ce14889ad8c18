#!/bin/bash
# Final decode measurements for docs/results/interop.md.
# Needs /tmp/loom (go build -o /tmp/loom ./cmd/loom), node-llama-cpp, and the models made by:
#   loom init --config docs/results/interop/llama3-8b-config.json --out /work/llama8b --dtype bf16 --shard-mb 5000
#   loom init --config docs/results/interop/llama3.2-1b-config.json --out /work/llama1b --dtype bf16
#   loom export --format gguf --type f16 --model /work/llama1b --out /work/llama1b-f16.gguf
#   loom export --format gguf --type q8_0 --model /work/llama1b --out /work/llama1b-q8.gguf
set -u
OUT=${OUT:-/tmp/final}; mkdir -p $OUT; rm -f $OUT/*
NM=${LOOM_NODE_MODULES:-/tmp/nlc2/node_modules}
B=$(git rev-parse --show-toplevel)/cmd/loom/testdata/llamacpp/bench.mjs
for round in 1 2 3; do
  for th in 1 2; do
    for m in f16 q8; do
      dt=$([ $m = f16 ] && echo f16 || echo q8_0)
      /tmp/loom bench decode --model /work/llama1b-$m.gguf --dtype $dt --contexts 48 --tokens 32 --threads $th --json >> $OUT/loom1b.jsonl
      NODE_PATH=$NM node $B /work/llama1b-$m.gguf $th 16 32 >> $OUT/llamacpp1b.jsonl
    done
  done
done
for th in 1 2; do
  /tmp/loom bench decode --dtype f32,bf16,f16,q8_0 --threads $th --json > $OUT/decode-25m-t$th.json
done
for th in 1 2; do
  /tmp/loom bench decode --model /work/llama8b --dtype bf16,f16,q8_0 --tokens 8 --contexts 24 --threads $th --json > $OUT/decode-8b-t$th.json
done
echo done > $OUT/DONE
