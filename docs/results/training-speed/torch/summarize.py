#!/usr/bin/env python3
"""loom vs PyTorch step times from the JSON files of this directory
(loom bench train --torch-script …, 3 rounds per precision and threads)."""
import glob, json, os, statistics
d = os.path.dirname(os.path.abspath(__file__))
print("| precision | threads | loom ms/step (rounds) | PyTorch ms/step (rounds) | loom / PyTorch (median) |")
print("|---|---|---|---|---|")
for p in ("fp32", "bf16"):
    for t in (1, 2):
        rs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, f"{p}-t{t}-r*.json")))]
        lo, to = [r["ms_per_step"] for r in rs], [r["torch_ms_per_step"] for r in rs]
        print(f"| {p} | {t} | {statistics.median(lo):.1f} ({', '.join(f'{x:.1f}' for x in lo)}) | {statistics.median(to):.1f} ({', '.join(f'{x:.1f}' for x in to)}) | {statistics.median([r['ratio_to_torch'] for r in rs]):.3f} |")
