#!/usr/bin/python3
"""Generates nn/testdata/activations.safetensors: PyTorch reference values for
the activations with learnable scalars (nn/activations_test.go).

The modules below follow the papers' official code line by line:
  PolyReLU, PolyNorm  BryceZhuo/PolyCom (dense_model/megatron_patch/model/llama2/transformer.py)
  DRA                 Baran-phys/DynamicFormer (dra/activations.py)
  Snake               Baran-phys/DynamicFormer (dra/test.ipynb, LearnedSnake)
For each case it stores, in float32: <case>.x, <case>.<param> (initial values),
<case>.out, <case>.gout (upstream gradient), <case>.gx and <case>.g<param>.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 nn/testdata/gen_activations.py
Tests never need PyTorch: the output file is committed.
"""
import json, os, struct
import torch

torch.manual_seed(4321)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "activations.safetensors")


def norm(x, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def polynorm(x, p):
    w, b = p["weight"], p["bias"]
    return w[0] * norm(x ** 3) + w[1] * norm(x ** 2) + w[2] * norm(x) + b


def polyrelu(x, p):
    w, b = p["weight"], p["bias"]
    r = torch.relu(x)
    return w[0] * r ** 3 + w[1] * r ** 2 + w[2] * r + b


def dra(x, p):
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    return x + b * torch.square(torch.sin(a * x)) / a + c * torch.cos(a * x) + d * torch.tanh(b * x)


def snake(x, p):
    a = p["a"]
    return x + torch.square(torch.sin(a * x)) / a


cases = {
    "polynorm": (polynorm, {"weight": torch.tensor([0.5, -0.3, 0.8]), "bias": torch.tensor([0.1])}),
    "polynorm_init": (polynorm, {"weight": torch.ones(3) / 3, "bias": torch.zeros(1)}),
    "polyrelu": (polyrelu, {"weight": torch.tensor([0.2, -0.4, 0.7]), "bias": torch.tensor([-0.05])}),
    "dra": (dra, {k: torch.randn(1) for k in "abcd"}),
    "snake": (snake, {"a": torch.randn(1)}),
}

tensors = {}


def put(name, t):
    t = t.detach().contiguous().float()
    tensors[name] = ("F32", list(t.shape), t.numpy().tobytes())


for name, (f, params) in cases.items():
    x = (torch.randn(6, 24) * 1.5).requires_grad_(True)
    ps = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    y = f(x, ps)
    g = torch.randn_like(y)
    y.backward(g)
    put(name + ".x", x)
    put(name + ".out", y)
    put(name + ".gout", g)
    put(name + ".gx", x.grad)
    for k, v in ps.items():
        put(name + "." + k, params[k])
        put(name + ".g" + k, v.grad)

header, blobs, off = {}, [], 0
for name in sorted(tensors):
    dt, shape, raw = tensors[name]
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(OUT, "wb") as fh:
    fh.write(struct.pack("<Q", len(h)))
    fh.write(h)
    for b in blobs:
        fh.write(b)
print("wrote", OUT, len(tensors), "tensors")
