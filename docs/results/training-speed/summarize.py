#!/usr/bin/env python3
"""Tables of docs/results/training-speed.md from bench.sh's output directory.

  python3 summarize.py OUTDIR
"""
import glob, json, os, statistics, sys

d = sys.argv[1]
print(open(os.path.join(d, "cpu.txt")).read().strip())
print()
print("| kernel | shape | threads | GFLOP/s | % of measured peak |")
print("|---|---|---|---|---|")
for t in (1, 2):
    for r in json.load(open(os.path.join(d, f"gemm-{t}.json"))):
        tr = ("T" if r["ta"] else "N") + ("T" if r["tb"] else "N")
        print(f"| {r['kernel']} | {r['m']}×{r['k']}·{r['k']}×{r['n']} {tr} | {t} | {r['gflops']:.1f} | {r.get('pct_peak', 0):.1f} % of {r.get('peak_gflops', 0):.1f} |")
print()
runs = {}
for f in sorted(glob.glob(os.path.join(d, "train-*.json"))):
    name = os.path.basename(f)[len("train-"):-len(".json")]
    prec, th, _ = name.split("-")
    runs.setdefault((prec, th), []).append(json.load(open(f)))
print("| precision | threads | ms/step (median of rounds' medians) | rounds' medians | GFLOP/s | % of peak |")
print("|---|---|---|---|---|---|")
med = {}
gflop = runs[("fp32", "t1")][0]["gflop_per_step"]
for (prec, th), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    ms = [r["ms_per_step"] for r in rs]
    m = statistics.median(ms)
    med[(prec, th)] = m
    g = gflop / (m / 1000)
    # the build before this work has no peak probe: fp32's peak of the same round
    ref = runs[("fp32", th)] if prec == "before" else rs
    pk = statistics.median([r["peak_gflops"] for r in ref])
    print(f"| {prec} | {th[1:]} | {m:.1f} | {', '.join(f'{x:.1f}' for x in ms)} | {g:.1f} | {100*g/pk:.1f} % of {pk:.1f} |")
print()
print(f"GFLOP per step (counted): {gflop:.2f}")
for th in ("t1", "t2"):
    print(f"bf16/fp32 at {th[1:]} thread(s): {med[('bf16', th)] / med[('fp32', th)]:.3f}")
for prec in ("before", "fp32", "bf16"):
    if (prec, "t1") in med:
        print(f"{prec}: 1 thread / 2 threads = {med[(prec, 't1')] / med[(prec, 't2')]:.2f}×")
# per-round ratios (each round measured the arms back to back)
for th in ("t1", "t2"):
    rr = [b["ms_per_step"] / f["ms_per_step"] for f, b in zip(runs[("fp32", th)], runs[("bf16", th)])]
    print(f"bf16/fp32 per round at {th[1:]} thread(s): {', '.join(f'{x:.3f}' for x in rr)}")
