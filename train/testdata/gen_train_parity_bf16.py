#!/usr/bin/python3
"""Generates the bf16 training-parity fixture for train/parity_bf16_test.go.

The two tiny decoders of gen_train_parity.py (its model, batches, initial
weights and optimiser, reused unchanged: this script runs that file's
definitions, not its training), trained for the same 100 steps with every
forward and backward pass under PyTorch's CPU autocast to bfloat16
(torch.autocast("cpu", dtype=torch.bfloat16)): linear layers and matmuls
take bf16 operands and give bf16 results; softmax, norms in float32 where
autocast says so; float32 parameters, gradients and AdamW state. The loss of
every step goes to train_parity_bf16.safetensors beside the float32 run's
losses of train_parity.safetensors, which the test's tolerance is derived
from.

Run: /usr/bin/python3 train/testdata/gen_train_parity_bf16.py   (Debian python3-torch)
"""
import os
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(HERE, "gen_train_parity.py")).read()
# Everything before the training loop: constants, writer, model, schedule.
defs = src[: src.index("g = torch.Generator().manual_seed(0)")]
exec(compile(defs, "gen_train_parity.py", "exec"))

g = torch.Generator().manual_seed(0)
batches = torch.randint(0, V, (STEPS, B, T + 1), generator=g, dtype=torch.int64)
batches[:, :, 1::2] = batches[:, :, 0:-1:2]
out = {}
for variant in ["llama", "gpt2"]:
    p = model_params(variant, torch.Generator().manual_seed(1 if variant == "llama" else 2))
    decay = [w for w in p.values() if w.dim() >= 2]
    nodecay = [w for w in p.values() if w.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    losses = []
    for s in range(STEPS):
        x, y = batches[s, :, :-1], batches[s, :, 1:]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = forward(variant, p, x)
            loss = F.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), CLIP)
        opt.step()
        sched.step()
        losses.append(loss.item())
    out[f"{variant}.losses"] = torch.tensor(losses, dtype=torch.float32)
    print(variant, "bf16 autocast loss", losses[0], "->", losses[-1])
write_safetensors(os.path.join(HERE, "train_parity_bf16.safetensors"), out,
                  {"generator": "train/testdata/gen_train_parity_bf16.py", "torch": torch.__version__,
                   "autocast": "cpu bfloat16"})
