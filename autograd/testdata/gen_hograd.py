#!/usr/bin/python3
"""Generates autograd/testdata/hograd.safetensors: PyTorch second derivatives
(torch.autograd.grad with create_graph=True) of the networks of
autograd/blocks_test.go, for TestHigherOrderParityWithPyTorch.

Blocks (inputs in order; x first, then parameters):
  mlp          (gelu(x·Wgᵀ + bg) ⊙ (x·W1ᵀ + b1))·W2ᵀ + b2, x [3, 4]
  attn         pre-norm decoder layer, x [1, 5, 8]: RMSNorm, q/k/v projections,
               rotary embeddings, causal attention with 2 query heads sharing
               1 key/value head, output projection, residual, RMSNorm, SwiGLU
               feed-forward, residual
  attn_window  attn with a sliding window of 3 keys

For each block, in float64: the inputs (<block>.<name>), the output
(<block>.out), a seed R and a direction v, and with f = Σ R⊙block(x, θ):
  <block>.gx            ∂f/∂x
  <block>.hvp           ∂²f/∂x²·v, i.e. ∂(∂f/∂x·v)/∂x
  <block>.mixed.<name>  ∂(∂f/∂x·v)/∂θ for every parameter θ
and the rotary tables <block>.cos / <block>.sin (float32 values, as
transformers computes them).

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 autograd/testdata/gen_hograd.py
Tests never need PyTorch: the output file is committed.
"""
import torch
import torch.nn.functional as F

from torchref import Writer, attention, rms_norm, rope_tables, rotate_half

out = Writer("hograd.safetensors")


def mlp(x, w1, b1, wg, bg, w2, b2):
    return F.linear(F.gelu(F.linear(x, wg, bg)) * F.linear(x, w1, b1), w2, b2)


def decoder_layer(H, Hkv, window, cos, sin):
    def f(x, n1, wq, wk, wv, wo, n2, wg, wu, wd):
        B, T, D = x.shape
        hd = D // H
        heads = lambda t, n: t.reshape(B, T, n, hd).permute(0, 2, 1, 3)
        rope = lambda t: t * cos + rotate_half(t) * sin
        h = rms_norm(x, n1, 1e-6)
        q = rope(heads(F.linear(h, wq), H))
        k = rope(heads(F.linear(h, wk), Hkv))
        v = heads(F.linear(h, wv), Hkv)
        a = attention(q, k, v, None, True, hd ** -0.5, window)
        x = x + F.linear(a.permute(0, 2, 1, 3).reshape(B, T, D), wo)
        h = rms_norm(x, n2, 1e-6)
        return x + F.linear(F.silu(F.linear(h, wg)) * F.linear(h, wu), wd)
    return f


def block(name, f, inputs, shapes, extra=()):
    xs = []
    for n, s in zip(inputs, shapes):
        t = torch.randn(*s, dtype=torch.float64)
        if n != "x":
            t = t * 0.5
        if n in ("n1", "n2"):
            t = t + 1
        xs.append(t.requires_grad_(True))
    y = f(*xs)
    R = torch.randn(y.shape, dtype=torch.float64)
    v = torch.randn(xs[0].shape, dtype=torch.float64)
    (gx,) = torch.autograd.grad(y, xs[0], R, create_graph=True)
    second = torch.autograd.grad((gx * v).sum(), xs, allow_unused=True)  # b2: unused
    second = [torch.zeros_like(x) if s is None else s for x, s in zip(xs, second)]
    for n, x in zip(inputs, xs):
        out.put(f"{name}.{n}", x)
    out.put(f"{name}.out", y)
    out.put(f"{name}.R", R)
    out.put(f"{name}.v", v)
    out.put(f"{name}.gx", gx)
    out.put(f"{name}.hvp", second[0])
    for n, s in zip(inputs[1:], second[1:]):
        out.put(f"{name}.mixed.{n}", s)
    for n, t in extra:
        out.put(f"{name}.{n}", t)


torch.manual_seed(4321)
block("mlp", mlp, ["x", "w1", "b1", "wg", "bg", "w2", "b2"],
      [[3, 4], [6, 4], [6], [6, 4], [6], [2, 6], [2]])
cos, sin = rope_tables(list(range(5)), 4, 10000.0)
attn_inputs = ["x", "n1", "wq", "wk", "wv", "wo", "n2", "wg", "wu", "wd"]
attn_shapes = [[1, 5, 8], [8], [8, 8], [4, 8], [4, 8], [8, 8], [8], [12, 8], [12, 8], [8, 12]]
tables = [("cos", cos.double()), ("sin", sin.double())]
for name, window in [("attn", 0), ("attn_window", 3)]:
    block(name, decoder_layer(2, 1, window, cos.double(), sin.double()), attn_inputs, attn_shapes, tables)
out.write("autograd/testdata/gen_hograd.py")
