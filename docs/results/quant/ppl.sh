#!/bin/bash
# The perplexity table of docs/results/quant.md: one model trained as TestLlamaCppKQuants trains it
# (hidden 256, FFN 512, 2 layers, a 320-token BPE, 600 steps on tinyshakespeare bytes 0–200,000), written
# as each type, scored by loom eval on held-out bytes 300,000–400,000. Needs /tmp/loom.
set -e
D=${D:-/work/q21/ppl}; mkdir -p $D; cd $D
T=${TINY:-/work/shared/data/text/tinyshakespeare.txt}
head -c 200000 $T > corpus.txt
head -c 400000 $T | tail -c 100000 > held.txt
cat > spec.json <<'SPEC'
{"model": {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 10000,
  "vocab_size": 256, "max_position_embeddings": 128, "initializer_range": 0.02},
 "train": {"steps": 600, "batch_size": 8, "seq_len": 64, "lr": 0.003, "warmup": 30, "min_lr_factor": 0.1,
  "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "clip": 1, "seed": 1, "val_fraction": 0.1,
  "eval_every": 200, "eval_batches": 2}}
SPEC
[ -d run ] || { /tmp/loom tokenizer train --vocab 320 --data corpus.txt --out tokenizer.json; /tmp/loom train --config spec.json --data corpus.txt --tokenizer tokenizer.json --out run; }
/tmp/loom export --format gguf --type f16 --model run --out f16.gguf --force
/tmp/loom export --format gguf --type q8_0 --model run --out q8_0.gguf --force
for t in q6_k q5_k_m q4_k_m q4_0; do /tmp/loom quantize --type $t --model run --out $t.gguf --force; done
for t in f16 q8_0 q6_k q5_k_m q4_k_m q4_0; do
  echo "$t $(stat -c %s $t.gguf) $(/tmp/loom eval --model $t.gguf --data held.txt --seq-len 64 --json | tr -d "\n ")"
done
