#!/bin/bash
# bench.sh: the measurements of docs/results/training-speed.md, in one sitting.
#   LOOM=loom ROUNDS=3 bench.sh OUTDIR
# Writes OUTDIR/gemm-{1,2}.json (bench gemm, fp32 and bf16 kernels with the
# peak probes), OUTDIR/train-{fp32,bf16}-t{1,2}-rN.json (bench train, the
# PyTorch anchor's model, interleaved rounds) and CPU profiles of one fp32
# and one bf16 run at 1 thread (OUTDIR/prof-{fp32,bf16}.pb.gz).
set -e
LOOM=${LOOM:-loom}
ROUNDS=${ROUNDS:-3}
OUT=${1:?output directory}
mkdir -p "$OUT"
grep -m1 "model name" /proc/cpuinfo > "$OUT/cpu.txt"
$LOOM version >> "$OUT/cpu.txt"
for t in 1 2; do
  GOMAXPROCS=$t $LOOM bench gemm --threads $t --kernels default,bf16 --min-time 1s --json > "$OUT/gemm-$t.json"
done
for r in $(seq 1 "$ROUNDS"); do
  for t in 1 2; do
    for p in fp32 bf16; do
      GOMAXPROCS=$t $LOOM bench train --threads $t --precision $p --steps 20 --json > "$OUT/train-$p-t$t-r$r.json"
    done
  done
done
for p in fp32 bf16; do
  GOMAXPROCS=1 $LOOM bench train --threads 1 --precision $p --steps 20 --cpuprofile "$OUT/prof-$p.pb.gz" > /dev/null
done
