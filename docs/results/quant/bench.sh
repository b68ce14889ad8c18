#!/bin/bash
# The issue-21 baseline of docs/results/quant.md: loom against llama.cpp on the same 1.24B-parameter GGUF
# files (Llama-3.2-1B shape, random weights), made in /work/q21 by:
#   loom init --config docs/results/interop/llama3.2-1b-config.json --out llama1b --dtype bf16
#   loom export --format gguf --type f16 --model llama1b --out llama1b-f16.gguf --dtype bf16
#   loom export --format gguf --type q8_0 --model llama1b --out llama1b-q8.gguf --dtype bf16
#   loom quantize --type q4_k_m --model llama1b-f16.gguf --out llama1b-q4km.gguf
# Needs /tmp/loom (go build -o /tmp/loom ./cmd/loom) and node-llama-cpp 3.21.1.
B=$(git rev-parse --show-toplevel)/cmd/loom/testdata/llamacpp/bench.mjs
cd /work/q21
NM=$HOME/.cache/loom/node-llama-cpp-3.21.1/node_modules
rm -f res-*.jsonl
for th in 1 2; do
  for m in q8 f16 q4km; do
    dt=$(case $m in q8) echo q8_0;; f16) echo f16;; q4km) echo f32;; esac)
    /tmp/loom bench decode --model llama1b-$m.gguf --dtype $dt --contexts 544 --tokens 32 --threads $th --json >> res-loom.jsonl 2>> err.log
    NODE_PATH=$NM node $B llama1b-$m.gguf $th 512 32 >> res-llama.jsonl 2>> err.log
  done
done
