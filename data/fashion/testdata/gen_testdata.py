#!/usr/bin/env python3
"""Cuts the first 8 images (and labels) of Fashion-MNIST's t10k split from
Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) into
idx files here, for data/fashion's tests. Fashion-MNIST: Zalando Research,
MIT licence (see ../README.md).

Usage: cd data/fashion/testdata && /usr/bin/python3 gen_testdata.py
"""
import gzip, os, struct

SRC = "/usr/share/datasets/fashion-mnist"
N = 8
with gzip.open(os.path.join(SRC, "t10k-images-idx3-ubyte.gz")) as f:
    magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
    px = f.read(N * rows * cols)
with open("t10k-images-idx3-ubyte.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
    f.write(struct.pack(">IIII", magic, N, rows, cols) + px)
with gzip.open(os.path.join(SRC, "t10k-labels-idx1-ubyte.gz")) as f:
    magic, n = struct.unpack(">II", f.read(8))
    lab = f.read(N)
with open("t10k-labels-idx1-ubyte.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
    f.write(struct.pack(">II", magic, N) + lab)
print("labels", list(lab))
