#!/usr/bin/env python3
"""Writes digits.csv.gz: scikit-learn's 8x8 handwritten digits
(sklearn.datasets.load_digits, Debian's python3-sklearn), one image per
line: the label, then the 64 pixel values (0..16) row by row.

    cd data/digits && /usr/bin/python3 gen_digits.py
"""
import gzip
import sklearn
from sklearn.datasets import load_digits

d = load_digits()
with gzip.GzipFile("digits.csv.gz", "wb", mtime=0) as f:
    f.write(b"label," + ",".join(f"p{i}" for i in range(64)).encode() + b"\n")
    for img, y in zip(d.images.reshape(-1, 64), d.target):
        f.write((str(int(y)) + "," + ",".join(str(int(v)) for v in img) + "\n").encode())
print("wrote", len(d.target), "images, scikit-learn", sklearn.__version__)
