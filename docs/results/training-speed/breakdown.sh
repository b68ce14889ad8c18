#!/bin/bash
# breakdown.sh PROFILE: the shares of a training-step profile by kind of
# work (docs/results/training-speed.md), bench's peak probe excluded.
P=${1:?profile}
sum() { # focus regexp, extra ignore regexp → seconds of samples
  go tool pprof -top -nodefraction=0 -nodecount=100000 -ignore="peakFMA|peakBF16|measurePeak${2:+|$2}" ${1:+-focus="$1"} "$P" 2>/dev/null |
    awk '/^Showing nodes accounting for/ { v = $5; sub(/,$/, "", v); u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v); if (u == "ms") v /= 1000; print v; exit }'
}
total=$(sum "" "")
printf "%-48s %7.2f s\n" "all samples (probe excluded)" "$total"
row() { s=$(sum "$2" "$3"); printf "%-48s %7.2f s  %5.1f %%\n" "$1" "${s:-0}" "$(echo "${s:-0} $total" | awk '{print 100*$1/$2}')"; }
row "GEMM micro-kernels" 'gemmAVX512_|sbgemmAVX512_'
row "packing (A and B panels)" 'packAPanels|packBPanels'
row "bf16 conversion of operands" 'convertPairs'
row "flash attention outside its products" 'flashForward|flashBackward' 'gemm1'
row "activations and their gradients" 'geluTanh|Silu|silu'
row "norms" 'normFwd|normBwd|NormStats|sumSqDev'
row "optimizer" 'optim\.'
row "loss and embedding" 'CrossEntropy|Embedding'
row "adds and axpys outside GEMM" 'addAVX512|axpyAVX512' 'packedKernel'
row "GC, allocation, zeroing" 'gcBgMarkWorker|mallocgc|memclrNoHeapPointers|madvise'
row "worker pool waiting" 'waitJob'
