#!/usr/bin/env python3
"""Summarises a training run's metrics.jsonl: steps, final loss, wall time,
and the mean, median and 10th/90th percentiles of the loss over the last N
steps (a noisy per-batch loss reads better as a band than as its last
value).

    python3 docs/results/scripts/metrics_summary.py RUN_DIR [N]
"""
import json
import statistics
import sys

run, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ms = [json.loads(l) for l in open(run + "/metrics.jsonl")]
last = sorted(m["loss"] for m in ms[-n:])
print(f"{run}: {len(ms)} steps, final loss {ms[-1]['loss']:.4f}, {ms[-1].get('elapsed_s', 0):.0f} s; "
      f"last {len(last)} steps: mean {statistics.mean(last):.4f}, median {statistics.median(last):.4f}, "
      f"10th–90th percentile {last[len(last) // 10]:.4f}–{last[len(last) * 9 // 10]:.4f}")
