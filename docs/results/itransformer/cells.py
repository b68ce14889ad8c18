#!/usr/bin/env python3
"""Summarises the per-model results that `loom repro itransformer --work DIR`
keeps in DIR/itransformer (one JSON per trained model, or a model directory
with config.json for the example model), so a run in progress can be read
before the page is written (std: sample std, as the page). Usage:
cells.py DIR/itransformer"""
import glob, json, os, statistics, sys

d = sys.argv[1]
rows = {}
for p in sorted(glob.glob(os.path.join(d, "h*-seed*"))):
    name = os.path.basename(p)
    if name.endswith(".json"):
        r = json.load(open(p))
        name = name[:-5]
    elif os.path.isdir(p):
        r = json.load(open(os.path.join(p, "config.json")))["result"]
    else:
        continue
    h, seed, arm = name.split("-", 2)
    rows.setdefault((int(h[1:]), arm), []).append((seed, r))
print("| horizon | model | seeds | test MSE (mean ± std) | test MAE (mean ± std) | per seed MSE | epochs (best) | seconds |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for (h, arm), rs in sorted(rows.items()):
    mse = [r["test"]["mse"] for _, r in rs]
    mae = [r["test"]["mae"] for _, r in rs]
    sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
    print(f"| {h} | {arm} | {len(rs)} | {statistics.mean(mse):.4f} ± {sd(mse):.4f} | {statistics.mean(mae):.4f} ± {sd(mae):.4f} | "
          + ", ".join(f"{m:.4f}" for m in mse) + " | "
          + ", ".join(f"{r['epochs']} ({r['best_epoch']})" for _, r in rs) + " | "
          + ", ".join(f"{r['seconds']:.0f}" for _, r in rs) + " |")
