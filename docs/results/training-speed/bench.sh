#!/bin/bash
# bench.sh: the measurements of docs/results/training-speed.md, in one sitting.
#   LOOM=loom LOOM_BEFORE=loom-a6d9851 ROUNDS=3 bench.sh OUTDIR
# Writes OUTDIR/gemm-{1,2}.json (bench gemm, fp32 and bf16 kernels with the
# peak probes), OUTDIR/train-{fp32,bf16}-t{1,2}-rN.json (bench train, the
# PyTorch anchor's model, interleaved rounds) and CPU profiles of one fp32
# and one bf16 run at 1 thread (OUTDIR/prof-{fp32,bf16}.pb.gz, with their
# top functions in prof-*.txt). With LOOM_BEFORE (loom built at the commit
# before this work, a6d9851), the same fp32 runs and profile of that build
# (train-before-t{1,2}-rN.json, prof-before.pb.gz), in the same rounds.
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
    if [ -n "$LOOM_BEFORE" ]; then
      GOMAXPROCS=$t $LOOM_BEFORE bench train --threads $t --steps 20 --json > "$OUT/train-before-t$t-r$r.json"
    fi
  done
done
if [ -n "$LOOM_BEFORE" ]; then
  GOMAXPROCS=1 $LOOM_BEFORE bench train --threads 1 --steps 20 --cpuprofile "$OUT/prof-before.pb.gz" > /dev/null
  go tool pprof -top -nodecount=30 "$OUT/prof-before.pb.gz" > "$OUT/prof-before.txt" 2>/dev/null
fi
for p in fp32 bf16; do
  GOMAXPROCS=1 $LOOM bench train --threads 1 --precision $p --steps 20 --cpuprofile "$OUT/prof-$p.pb.gz" > /dev/null
  go tool pprof -top -nodecount=30 "$OUT/prof-$p.pb.gz" > "$OUT/prof-$p.txt" 2>/dev/null
done
