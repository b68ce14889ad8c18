#!/usr/bin/python3
"""Generates nn/testdata/batchnorm.safetensors: torch.nn.BatchNorm1d itself
(affine, momentum 0.1, eps 1e-5) as the reference for nn.BatchNorm1d
(nn/batchnorm_test.go).

Three training steps on batches train<i>.x [7, 5] (the second of two rows
only, the third of 7 rows shifted and scaled) and then one evaluation step
on eval.x [4, 5]. The gain and bias start at weight, bias (random, not 1
and 0) and stay there. For each step it stores, in float32: <step>.x,
<step>.out, <step>.gout (the upstream gradient), <step>.gx, <step>.gweight,
<step>.gbias, and after the step <step>.running_mean, <step>.running_var.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 nn/testdata/gen_batchnorm.py
Tests never need PyTorch: the output file is committed.
"""
import os, sys
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "convert", "testdata", "hf"))
from hf_reference import write_safetensors  # noqa: E402  (the project's one safetensors writer)

torch.manual_seed(2024)
D = 5
bn = torch.nn.BatchNorm1d(D)  # momentum 0.1, eps 1e-5, affine
with torch.no_grad():
    bn.weight.copy_(torch.randn(D) * 0.5 + 1)
    bn.bias.copy_(torch.randn(D) * 0.3)

out = {"weight": bn.weight.detach().clone(), "bias": bn.bias.detach().clone()}
steps = [
    ("train0", True, torch.randn(7, D) * 1.3 + 0.4),
    ("train1", True, torch.randn(2, D)),
    ("train2", True, torch.randn(7, D) * torch.tensor([0.1, 1, 3, 10, 0.5]) + torch.tensor([5.0, -2, 0, 1, 100])),
    ("eval", False, torch.randn(4, D) * 2),
]
for name, training, x in steps:
    bn.train(training)
    x = x.clone().requires_grad_(True)
    bn.zero_grad()
    y = bn(x)
    g = torch.randn_like(y)
    y.backward(g)
    for k, v in [("x", x), ("out", y), ("gout", g), ("gx", x.grad), ("gweight", bn.weight.grad),
                 ("gbias", bn.bias.grad), ("running_mean", bn.running_mean), ("running_var", bn.running_var)]:
        out[name + "." + k] = v.detach().clone().float().contiguous()

path = os.path.join(HERE, "batchnorm.safetensors")
write_safetensors(path, out, {"generator": "nn/testdata/gen_batchnorm.py", "torch": torch.__version__})
print("wrote", path, len(out), "tensors")
