#!/usr/bin/python3
"""Generates models/tgraph/testdata/metrics.json: scikit-learn's
average_precision_score and roc_auc_score on labelled scores, the reference
for models/tgraph's AveragePrecision and ROCAUC (metrics_test.go).

Run with Debian's interpreter and python3-sklearn:

    /usr/bin/python3 models/tgraph/testdata/gen_metrics.py

Cases (seeded, numpy's default_rng):
  small hand-made lists: perfect and reversed rankings, every score tied,
  one positive, binary scores (EdgeBank's 0/1), ties across classes;
  random scores of a few sizes; scores rounded to one decimal (many ties);
  sigmoid outputs of two overlapping normals (a model's scores).
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score


def case(name, y, s):
    y = [int(v) for v in y]
    s = [float(v) for v in s]
    return {
        "name": name,
        "y": y,
        "score": s,
        "ap": float(average_precision_score(y, s)),
        "auc": float(roc_auc_score(y, s)),
    }


def main():
    rng = np.random.default_rng(26)
    cases = [
        case("perfect", [1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1]),
        case("reversed", [0, 0, 1, 1], [0.9, 0.8, 0.3, 0.1]),
        case("all-tied", [1, 0, 1, 0, 0], [0.5] * 5),
        case("one-positive", [0, 0, 1, 0, 0, 0], [0.1, 0.4, 0.35, 0.8, 0.2, 0.05]),
        case("binary", [1, 1, 0, 1, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 1, 0]),
        case("ties-across", [1, 0, 1, 0, 1, 0], [0.7, 0.7, 0.2, 0.2, 0.9, 0.1]),
        case("negative-scores", [0, 1, 1, 0, 1], [-3.0, -0.5, 2.0, -0.5, 7.5]),
    ]
    for n in (10, 57, 400, 2000):
        y = rng.integers(0, 2, n)
        y[0], y[1] = 0, 1
        cases.append(case(f"random-{n}", y, rng.random(n)))
    for n in (30, 500):
        y = rng.integers(0, 2, n)
        y[0], y[1] = 0, 1
        cases.append(case(f"rounded-{n}", y, np.round(rng.random(n), 1)))
    n = 1000
    y = np.concatenate([np.ones(n // 2, dtype=int), np.zeros(n // 2, dtype=int)])
    logits = np.concatenate([rng.normal(1.0, 1.0, n // 2), rng.normal(-0.5, 1.0, n // 2)])
    perm = rng.permutation(n)
    cases.append(case("sigmoid-normals", y[perm], 1 / (1 + np.exp(-logits[perm]))))
    # binary scores with most pairs unseen, as EdgeBank's on random negatives
    y = np.concatenate([np.ones(300, dtype=int), np.zeros(300, dtype=int)])
    s = np.concatenate([(rng.random(300) < 0.7), (rng.random(300) < 0.05)]).astype(float)
    cases.append(case("edgebank-like", y, s))

    out = {
        "generator": "gen_metrics.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics.json")
    with open(path, "w") as f:
        # one case a line
        f.write("{\"generator\": %s, \"sklearn\": %s, \"numpy\": %s, \"cases\": [\n" % (
            json.dumps(out["generator"]), json.dumps(out["sklearn"]), json.dumps(out["numpy"])))
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
