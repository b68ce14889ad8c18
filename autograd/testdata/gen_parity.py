#!/usr/bin/python3
"""Generates autograd/testdata/parity.safetensors: PyTorch reference values for
loom's op parity tests (autograd/parity_test.go).

For every case (names match opCases in autograd/gradcheck_test.go) it stores,
in float32:
  <case>.in<i>   the inputs
  <case>.out     the output of the PyTorch op
  <case>.gout    the upstream gradient fed to backward
  <case>.gin<i>  the gradient of each input
Extra tensors: rope.cos / rope.sin (Hugging Face Llama rotary tables),
dropout_torch.* (a mask drawn by torch's F.dropout), convert.* (bf16 and f16
rounding of special values).

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 autograd/testdata/gen_parity.py
Tests never need PyTorch: the output file is committed.
"""
import math
import torch
import torch.nn.functional as F

from torchref import Writer, attention, rms_norm, rope_tables, rotate_half

torch.manual_seed(1234)
out = Writer("parity.safetensors")
put = out.put


def normal(shape):
    return torch.randn(*shape)


def positive(shape):
    return torch.rand(*shape) * 2 + 0.5


def away_from_zero(shape):
    t = torch.randn(*shape)
    return torch.where(t >= 0, t + 0.1, t - 0.1)


def spread(shape):
    n = math.prod(shape)
    p = torch.randperm(n).float()
    return (p * 0.1 - n * 0.05).reshape(shape)


def zeros(shape):
    return torch.zeros(*shape)


# Constants shared with the Go cases (defined by formula on both sides).
TARGETS = [1, 0, 3, -100, 2, 3]
IDS = [3, 1, 3, 0, 4, 1]
GATHER_IDX = [0, 3, 3, 1, 2, 0]
COND = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32).reshape(2, 1, 4)
ATTN_MASK = torch.tensor([((i * 7) % 5 - 2) * 0.5 for i in range(12)], dtype=torch.float32).reshape(1, 1, 3, 4)
DROP_MASK = torch.tensor([0.0 if (i * 5) % 3 == 0 else 2.0 for i in range(12)]).reshape(3, 4)


ROPE_COS, ROPE_SIN = rope_tables([0, 1, 2, 3, 4], 4, 10000.0)


def split_case(x):
    p = torch.split(x, [2, 3], 1)
    return torch.cat([p[1] * p[1], p[0]], 1)


T = lambda v: torch.tensor(v)
cases = [
    ("add", [[2, 3, 4], [3, 1]], None, lambda x: x[0] + x[1]),
    ("sub", [[2, 3, 4], [4]], None, lambda x: x[0] - x[1]),
    ("mul", [[2, 1, 4], [3, 1]], None, lambda x: x[0] * x[1]),
    ("div", [[2, 3, 4], [1, 4]], [normal, positive], lambda x: x[0] / x[1]),
    ("pow", [[3, 4], [4]], [positive, normal], lambda x: torch.pow(x[0], x[1])),
    ("pow_scalar", [[3, 4]], [positive], lambda x: x[0] ** 2.5),
    ("add_scalar", [[3, 4]], None, lambda x: x[0] + 1.5),
    ("mul_scalar", [[3, 4]], None, lambda x: x[0] * -0.7),
    ("exp", [[3, 4]], None, lambda x: torch.exp(x[0])),
    ("log", [[3, 4]], [positive], lambda x: torch.log(x[0])),
    ("sqrt", [[3, 4]], [positive], lambda x: torch.sqrt(x[0])),
    ("rsqrt", [[3, 4]], [positive], lambda x: torch.rsqrt(x[0])),
    ("abs", [[3, 4]], [away_from_zero], lambda x: torch.abs(x[0])),
    ("sin", [[3, 4]], None, lambda x: torch.sin(x[0])),
    ("cos", [[3, 4]], None, lambda x: torch.cos(x[0])),
    ("tanh", [[3, 4]], None, lambda x: torch.tanh(x[0])),
    ("sigmoid", [[3, 4]], None, lambda x: torch.sigmoid(x[0])),
    ("relu", [[3, 4]], [away_from_zero], lambda x: F.relu(x[0])),
    ("gelu", [[3, 4]], None, lambda x: F.gelu(x[0])),
    ("gelu_tanh", [[3, 4]], None, lambda x: F.gelu(x[0], approximate="tanh")),
    ("silu", [[3, 4]], None, lambda x: F.silu(x[0])),
    ("sum", [[2, 3, 4]], None, lambda x: x[0].sum(dim=(0, 2))),
    ("sum_all", [[2, 3, 4]], None, lambda x: x[0].sum()),
    ("mean", [[2, 3, 4]], None, lambda x: x[0].mean(dim=1, keepdim=True)),
    ("max", [[2, 3, 4]], [spread], lambda x: torch.amax(x[0], dim=-1)),
    ("var", [[2, 3, 4]], None, lambda x: torch.var(x[0], dim=(1, 2), unbiased=True)),
    ("matmul", [[2, 3, 4], [4, 5]], None, lambda x: x[0] @ x[1]),
    ("matmul_nt", [[2, 3, 4], [5, 4]], None, lambda x: x[0] @ x[1].T),
    ("matmul_tn", [[2, 4, 3], [2, 4, 5]], None, lambda x: x[0].transpose(-1, -2) @ x[1]),
    ("matmul_tt", [[4, 3], [2, 5, 4]], None, lambda x: x[0].T @ x[1].transpose(-1, -2)),
    ("matmul_bcast", [[2, 1, 3, 4], [3, 4, 2]], None, lambda x: x[0] @ x[1]),
    ("softmax", [[2, 3, 4]], None, lambda x: torch.softmax(x[0], dim=1)),
    ("log_softmax", [[2, 3, 4]], None, lambda x: torch.log_softmax(x[0], dim=-1)),
    ("cross_entropy", [[6, 4]], None, lambda x: F.cross_entropy(x[0], T(TARGETS))),
    ("cross_entropy_smooth", [[2, 3, 4]], None,
     lambda x: F.cross_entropy(x[0].reshape(-1, 4), T(TARGETS), label_smoothing=0.1)),
    ("mse", [[3, 4], [3, 4]], None, lambda x: F.mse_loss(x[0], x[1])),
    ("l1", [[3, 4], [3, 4]], [away_from_zero, zeros], lambda x: F.l1_loss(x[0], x[1])),
    ("layer_norm", [[2, 3, 5], [5], [5]], None, lambda x: F.layer_norm(x[0], (5,), x[1], x[2], 1e-5)),
    ("rms_norm", [[2, 3, 5], [5]], None, lambda x: rms_norm(x[0], x[1], 1e-6)),
    ("embedding", [[5, 3]], None, lambda x: F.embedding(T(IDS).reshape(2, 3), x[0])),
    ("reshape", [[2, 6]], None, lambda x: x[0].reshape(3, -1)),
    ("transpose", [[2, 3, 4]], None, lambda x: x[0].transpose(0, 2) * x[0].transpose(0, 2)),
    ("permute", [[2, 3, 4]], None, lambda x: x[0].permute(2, 0, 1).contiguous()),
    ("expand", [[3, 1]], None, lambda x: x[0].expand(2, 3, 4) * x[0].expand(2, 3, 4)),
    ("concat", [[2, 3], [2, 2]], None, lambda x: torch.cat([x[0], x[1]], 1)),
    ("split", [[2, 5]], None, lambda x: split_case(x[0])),
    ("slice", [[4, 5]], None, lambda x: x[0][:, 1:-1]),
    ("index_select", [[4, 3]], None, lambda x: torch.index_select(x[0], 0, T([2, 0, 2]))),
    ("gather", [[3, 4]], None, lambda x: torch.gather(x[0], 1, T(GATHER_IDX).reshape(3, 2))),
    ("where", [[2, 3, 4], [4]], None, lambda x: torch.where(COND.bool(), x[0], x[1])),
    ("masked_fill", [[2, 3, 4]], None, lambda x: x[0].masked_fill(COND.bool(), -2)),
    ("dropout", [[3, 4]], None, lambda x: x[0] * DROP_MASK),
    ("rope", [[2, 2, 5, 4]], None, lambda x: x[0] * ROPE_COS + rotate_half(x[0]) * ROPE_SIN),
    ("attention", [[2, 2, 3, 4], [2, 2, 4, 4], [2, 2, 4, 3]], None,
     lambda x: attention(x[0], x[1], x[2], ATTN_MASK, False, 0.5)),
    ("attention_causal_gqa", [[1, 4, 3, 2], [1, 2, 5, 2], [1, 2, 5, 3]], None,
     lambda x: attention(x[0], x[1], x[2], None, True, 0.7)),
    ("topk", [[3, 5]], [spread], lambda x: torch.topk(x[0], 2, dim=1).values),
    ("cumsum", [[3, 4]], None, lambda x: torch.cumsum(x[0], 1)),
    ("linear", [[2, 3, 4], [5, 4], [5]], None, lambda x: F.linear(x[0], x[1], x[2])),
    ("linear_nobias", [[3, 4], [5, 4]], None, lambda x: F.linear(x[0], x[1])),
]

for name, shapes, gens, f in cases:
    xs = []
    for i, s in enumerate(shapes):
        g = gens[i] if gens and i < len(gens) else normal
        xs.append(g(s).float().requires_grad_(True))
    y = f(xs)
    gout = torch.randn(y.shape)
    y.backward(gout)
    for i, x in enumerate(xs):
        put(f"{name}.in{i}", x)
        put(f"{name}.gin{i}", x.grad if x.grad is not None else torch.zeros_like(x))
    put(f"{name}.out", y)
    put(f"{name}.gout", gout)

# Rotary tables at longer positions, to pin the float32 arithmetic.
cos, sin = rope_tables(list(range(0, 4096, 37)), 64, 500000.0)
put("rope.cos", cos)
put("rope.sin", sin)

# Dropout with a mask drawn by PyTorch itself.
x = torch.randn(4, 6, requires_grad=True)
y = F.dropout(x, p=0.25, training=True)
mask = torch.where(y != 0, torch.full_like(y, 1 / 0.75), torch.zeros_like(y))
gout = torch.randn(4, 6)
y.backward(gout)
put("dropout_torch.in0", x)
put("dropout_torch.mask", mask)
put("dropout_torch.out", y)
put("dropout_torch.gout", gout)
put("dropout_torch.gin0", x.grad)

# bf16 / f16 rounding of awkward values (bit patterns as int16).
vals = [0.0, -0.0, 1.0, -1.0, 1 / 3, 65504.0, 65519.0, 65520.0, 1e5, 6e-8, 3e-8, 2.98e-8, 5.96e-8,
        6.1e-5, 1e-40, 3.4e38, -3.4e38, float("inf"), float("-inf"), 1.00390625, 1.0078125,
        1.01171875, 0.1, 1234.5678, -7.25e-6]
v = torch.tensor(vals, dtype=torch.float32)
rnd = torch.randn(2000) * torch.exp(torch.randn(2000) * 6)
v = torch.cat([v, rnd])
put("convert.f32", v)
put("convert.bf16", v.to(torch.bfloat16).view(torch.int16))
put("convert.f16", v.to(torch.float16).view(torch.int16))

out.write("autograd/testdata/gen_parity.py")
