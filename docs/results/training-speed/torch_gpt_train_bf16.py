#!/usr/bin/python3
"""../shared/anchors/torch_gpt_train.py with the forward pass and the loss
under PyTorch's CPU autocast to bfloat16 (float32 weights and Adam state):
the PyTorch counterpart of `loom bench train --precision bf16`.

Run: /usr/bin/python3 torch_gpt_train_bf16.py THREADS [ANCHOR]
(ANCHOR defaults to ../shared/anchors/torch_gpt_train.py from the repository
root). It runs the anchor's code with its step() replaced; it prints the
same "median … ms" line.
"""
import os, sys

anchor = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../shared/anchors/torch_gpt_train.py")
src = open(anchor).read()
old = "    loss = F.cross_entropy(m(x).view(-1, V), y.view(-1))\n"
assert old in src, "the anchor's step changed"
src = src.replace(old, "    with torch.autocast('cpu', dtype=torch.bfloat16):\n        loss = F.cross_entropy(m(x).view(-1, V).float(), y.view(-1))\n")
src = src.replace("GPT train step", "GPT train step (bf16 autocast)")
sys.argv = sys.argv[:2]
exec(compile(src, anchor, "exec"))
