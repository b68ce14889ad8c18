"""Writes cka.json: random matrices and their linear CKA, computed directly
in NumPy as the references for analysis/guidance's tests.

  plain:     rep_sim's CKA.linear_CKA (vsubramaniam851/untrainable-networks,
             rep_sim/rep_sims.py): sum(HKH * HLH) / sqrt(sum(HKH*HKH) sum(HLH*HLH)),
             K = X X^T, H = I - 11^T/n.
  unbiased:  the unbiased HSIC estimator (Song et al. 2012) in the form of
             Nguyen, Raghu & Kornblith's minibatch CKA (arXiv 2010.15327):
             [tr(K~L~) + 1^T K~ 1 1^T L~ 1/((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1] / (n(n-3)),
             K~ = K with a zero diagonal; CKA = HSIC(K,L)/sqrt(HSIC(K,K) HSIC(L,L)),
             summed over minibatches before the ratio.

Run with /usr/bin/python3 (numpy) from this directory: python3 gen_cka.py
"""
import json

import numpy as np


def plain(x, y):
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    kc = h @ (x @ x.T) @ h
    lc = h @ (y @ y.T) @ h
    return float(np.sum(kc * lc) / np.sqrt(np.sum(kc * kc) * np.sum(lc * lc)))


def hsic1(k, l):
    n = k.shape[0]
    k = k.copy()
    l = l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(n)
    t1 = np.trace(k @ l)
    t2 = (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
    t3 = 2.0 / (n - 2) * (one @ k @ l @ one)
    return (t1 + t2 - t3) / (n * (n - 3))


def minibatch(pairs):
    xy = xx = yy = 0.0
    for x, y in pairs:
        k, l = x @ x.T, y @ y.T
        xy += hsic1(k, l)
        xx += hsic1(k, k)
        yy += hsic1(l, l)
    return float(xy / np.sqrt(xx * yy))


def main():
    rng = np.random.default_rng(2410)
    cases = []
    for n, p, q, kind in [(6, 3, 3, "random"), (10, 5, 7, "random"), (32, 64, 16, "random"),
                          (16, 8, 8, "related"), (48, 20, 30, "related"), (20, 4, 4, "offset")]:
        x = rng.standard_normal((n, p))
        if kind == "random":
            y = rng.standard_normal((n, q))
        elif kind == "related":
            # y depends on x through a random linear map plus noise
            y = x @ rng.standard_normal((p, q)) + 0.5 * rng.standard_normal((n, q))
        else:
            # features far from zero mean: checks the centring
            x = x + 5.0
            y = np.tanh(x) + 0.1 * rng.standard_normal((n, q)) - 3.0
        cases.append({"n": n, "p": p, "q": q, "x": x.ravel().tolist(), "y": y.ravel().tolist(),
                      "plain": plain(x, y), "unbiased": minibatch([(x, y)])})
    batches = []
    for _ in range(3):
        x = rng.standard_normal((12, 6))
        y = np.maximum(x @ rng.standard_normal((6, 9)), 0) + 0.3 * rng.standard_normal((12, 9))
        batches.append((x, y))
    mb = {"n": 12, "p": 6, "q": 9, "xs": [b[0].ravel().tolist() for b in batches],
          "ys": [b[1].ravel().tolist() for b in batches], "value": minibatch(batches)}
    with open("cka.json", "w") as f:
        json.dump({"cases": cases, "minibatch": mb}, f)


if __name__ == "__main__":
    main()
