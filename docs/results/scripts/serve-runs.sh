#!/bin/bash
# serve-runs.sh: the load runs of docs/results/serve.md. Run from a directory
# holding m25.gguf (see the page); results go to ./res.
#   LOOM=loom NM=~/.cache/loom/node-llama-cpp-3.21.1/node_modules serve-runs.sh
set -e
LOOM=${LOOM:-loom}
NM=${NM:-$HOME/.cache/loom/node-llama-cpp-3.21.1/node_modules}
SCRIPT=$(cd "$(dirname "$0")/../../.." && pwd)/serve/testdata/llamacpp_parallel.mjs
IDS=$(python3 -c "import json; print(json.dumps([ord(c) for c in 'abcdefghijklmnopqrstuvwxyz012345']))")
mkdir -p res
for r in 1 2 3; do
  for w in 0 1; do
    for n in 1 16; do
      $LOOM bench serve --model m25.gguf --clients $n --requests $n --prompt-tokens 32 --max-tokens 64 --threads 1 --warmup $w --json --samples > res/loom_n${n}_w${w}_r$r.json
      NODE_PATH=$NM node "$SCRIPT" m25.gguf "{\"ids\": $IDS, \"n\": 64, \"sequences\": $n, \"threads\": 1, \"warmup\": $w}" > res/llama_n${n}_w${w}_r$r.json
    done
  done
  $LOOM bench serve --model m25.gguf --clients 16 --requests 16 --prompt-tokens 32 --max-tokens 256 --threads 1 --long-prompt 1000 --max-batch 17 --json > res/long_r$r.json
done
