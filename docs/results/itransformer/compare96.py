#!/usr/bin/env python3
"""Checks that time96.sh's trainings equal the reproduction's horizon-96 cells.

Usage: compare96.py WORK_DIR TIME96_PREFIX
  WORK_DIR       the reproduction's work directory (e.g. /work/itr/work/itransformer)
  TIME96_PREFIX  time96.sh output directories are TIME96_PREFIX + seed (e.g. /tmp/t96s)

For each seed 7000-7002 and trained model, compares the per-epoch training
losses and the validation and test metrics, exactly.
"""
import json
import os
import sys


def result(path):
    with open(path) as f:
        d = json.load(f)
    return d.get("result", d)


def main():
    work, prefix = sys.argv[1], sys.argv[2]
    same = True
    for seed in (7000, 7001, 7002):
        for arm in ("itransformer", "transformer", "transformer-nonorm", "dlinear"):
            cell = os.path.join(work, f"h96-seed{seed}-{arm}.json")
            if not os.path.exists(cell):  # the example model is kept as a directory
                cell = os.path.join(work, f"h96-seed{seed}-{arm}", "config.json")
            a = result(cell)
            b = result(os.path.join(f"{prefix}{seed}", arm, "config.json"))
            eq = all(a[k] == b[k] for k in ("train_loss", "val_loss", "val", "test"))
            same &= eq
            print(f"seed {seed} {arm}: test MSE {a['test']['mse']!r} vs {b['test']['mse']!r}: {'identical' if eq else 'DIFFERENT'}")
    sys.exit(0 if same else 1)


main()
