#!/usr/bin/python3
"""Generates optim/testdata/optim.safetensors: parameter trajectories of
torch.optim SGD / Adam / AdamW with two parameter groups, a warmup+cosine
LambdaLR schedule and clip_grad_norm_, for optim/optim_test.go.

Stored (float32): init.w<i>; grad.step<s>.w<i> (the gradients fed at step s);
<config>.step<s>.w<i> (parameters after step s); <config>.norm (the norm
clip_grad_norm_ returned at each step).

Run: /usr/bin/python3 optim/testdata/gen_optim.py   (Debian python3-torch)
"""
import json, math, os, struct
import torch

torch.manual_seed(7)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.safetensors")
STEPS = 6
tensors = {}


def put(name, t):
    t = t.detach().contiguous().float()
    tensors[name] = ("F32", list(t.shape), t.numpy().tobytes())


def warmup_cosine(step, warmup=2, total=6, min_factor=0.1):
    # transformers' get_cosine_with_min_lr_schedule_with_warmup
    if step < warmup:
        return step / max(1, warmup)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    f = 0.5 * (1 + math.cos(math.pi * progress))
    return f * (1 - min_factor) + min_factor


init = [torch.randn(3, 4), torch.randn(5)]
grads = [[torch.randn(3, 4) * 0.7, torch.randn(5) * 0.7] for _ in range(STEPS)]
for i, w in enumerate(init):
    put(f"init.w{i}", w)
for s, gs in enumerate(grads):
    for i, g in enumerate(gs):
        put(f"grad.step{s}.w{i}", g)

configs = {
    "sgd": lambda g: torch.optim.SGD(g, lr=0.1),
    "sgd_momentum": lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9),
    "sgd_nesterov": lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda g: torch.optim.Adam(g, lr=0.01),
    "adamw": lambda g: torch.optim.AdamW(g, lr=0.01),
}
for name, make in configs.items():
    ws = [w.clone().requires_grad_(True) for w in init]
    groups = [
        {"params": [ws[0]], "lr": 0.1 if name.startswith("sgd") else 0.01, "weight_decay": 0.1},
        {"params": [ws[1]], "lr": 0.05 if name.startswith("sgd") else 0.02, "weight_decay": 0.0},
    ]
    opt = make(groups)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine)
    norms = []
    for s in range(STEPS):
        for w, g in zip(ws, grads[s]):
            w.grad = g.clone()
        norms.append(float(torch.nn.utils.clip_grad_norm_(ws, 1.0)))
        opt.step()
        sched.step()
        for i, w in enumerate(ws):
            put(f"{name}.step{s}.w{i}", w)
    put(f"{name}.norm", torch.tensor(norms))

header = {"__metadata__": {"generator": "optim/testdata/gen_optim.py", "torch": torch.__version__}}
offset = 0
for n, (dt, shape, data) in tensors.items():
    header[n] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - (8 + len(h)) % 8) % 8)
with open(OUT + ".tmp", "wb") as fh:
    fh.write(struct.pack("<Q", len(h)))
    fh.write(h)
    for n, (dt, shape, data) in tensors.items():
        fh.write(data)
os.replace(OUT + ".tmp", OUT)
print(f"wrote {OUT}: {len(tensors)} tensors, {os.path.getsize(OUT)} bytes")
