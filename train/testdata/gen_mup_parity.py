#!/usr/bin/python3
"""Generates the μP training-parity fixtures for train/mup_parity_test.go:
loom's μP (models/decoder/mup.go) against microsoft/mup itself.

The "llama" decoder of gen_train_parity.py (RMSNorm, rotary embeddings in
HF's rotate_half layout, SwiGLU, grouped-query attention, no biases, untied
head; its rope_tables, rotate_half and schedule are reused from that file),
written as torch.nn modules and parametrised with microsoft/mup's own pieces:

  * lm_head is mup.MuReadout (no bias, output_mult 1): logits = W (x / m);
  * attention scores are q·k × attn_mult / d, the 1/d scaling of mup's
    README and examples, with attn_mult = √d_base (mup's README uses 8/d for
    "backward compatibility with 1/√d at d = 64", the same form): equal to
    loom's √d_base/d, and to 1/√d at the base width;
  * mup.set_base_shapes(model, base, delta=delta) with a base model of width
    32 and a delta model of width 64 (heads fixed at 4, so the head dimension
    grows 8, 16, 32 and d_base = 32/4 = 8; SwiGLU of twice the width), the
    target of width 128: width multiplier m = 4 for every hidden matrix;
  * the optimizer is mup.optim.MuAdamW (torch.optim.AdamW underneath, which
    decays by lr·wd like loom's optim.NewAdamW), with mup's default
    decoupled_wd=False, on loom's two groups (train.ParamGroups): weight
    decay 0.1 on every matrix, embedding and the head, none on norm gains.
    MuAdamW splits them by infshape: hidden matrices (two infinite dims) get
    lr/m and weight_decay·m; embeddings, the readout and gains keep lr.
  * The initial weights are drawn with mup.init.normal_(std=0.02) for every
    matrix (constant std for the embedding and the readout, one infinite
    dim; std/√m for hidden matrices), gains 1 -- loom's μP init convention
    -- rounded to bfloat16 (to halve the file; both sides load the same
    values) and saved to mup_init.safetensors with Hugging Face names.

Training is gen_train_parity.py's: 100 steps, batch 4×32 random bytes
(every odd position repeats the previous byte), warmup 10 + cosine to 0.1×,
peak lr 3e-3, betas (0.9, 0.95), eps 1e-8, global gradient clipping at 1.0.
The batches, the loss of every step and the root mean square of every
parameter after the last step go to mup_parity.safetensors (batches,
mup.losses, mup.final_rms.<name>): the losses see the learning rates, the
readout and the attention scale; the weights' sizes also see the weight
decay (mup's rule for the hidden matrices moves them by about 1 %, the
losses of these 100 steps by only 2e-4).

microsoft/mup is not vendored. Get it and point MUP_SRC at the checkout (the
directory holding the mup/ package; it needs PyYAML, which Debian's
python3-yaml provides):

    git clone https://github.com/microsoft/mup /tmp/mup
    git -C /tmp/mup checkout 19814971934ef91dd546f88e913fc963e096d11c
    MUP_SRC=/tmp/mup /usr/bin/python3 train/testdata/gen_mup_parity.py

(/usr/bin/python3 is Debian's python3-torch, torch 1.13.)
"""
import math, os, subprocess, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "convert", "testdata", "hf"))
from hf_reference import write_safetensors  # noqa: E402  (the project's one safetensors writer)

MUP_COMMIT = "19814971934ef91dd546f88e913fc963e096d11c"
MUP_SRC = os.environ.get("MUP_SRC")
if not MUP_SRC or not os.path.isfile(os.path.join(MUP_SRC, "mup", "optim.py")):
    sys.exit("set MUP_SRC to a checkout of github.com/microsoft/mup at %s (see this file's docstring)" % MUP_COMMIT)
sys.path.insert(0, MUP_SRC)
import mup  # noqa: E402
from mup import MuReadout, set_base_shapes  # noqa: E402
from mup.optim import MuAdamW  # noqa: E402

try:
    head = subprocess.run(["git", "-C", MUP_SRC, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
except OSError:
    head = ""
if head and head != MUP_COMMIT:
    print(f"warning: MUP_SRC is at {head}, the fixture documents {MUP_COMMIT}", file=sys.stderr)

# gen_train_parity.py's definitions (constants, rope_tables, rotate_half,
# schedule), without its training.
ref = {"__file__": os.path.join(HERE, "gen_train_parity.py")}
src = open(os.path.join(HERE, "gen_train_parity.py")).read()
exec(compile(src[: src.index("g = torch.Generator().manual_seed(0)")], "gen_train_parity.py", "exec"), ref)
STEPS, B, T, V, L = ref["STEPS"], ref["B"], ref["T"], ref["V"], ref["L"]
LR, WD, CLIP = ref["LR"], ref["WD"], ref["CLIP"]
rope_tables, rotate_half, schedule = ref["rope_tables"], ref["rotate_half"], ref["schedule"]

WIDTH, BASE, DELTA, H, KVH, EPS, STD = 128, 32, 64, 4, 2, 1e-6, 0.02
ATTN_MULT = math.sqrt(BASE // H)  # √d_base: scores × √d_base / d


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


class Attention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.hd = d // H
        self.q_proj = nn.Linear(d, H * self.hd, bias=False)
        self.k_proj = nn.Linear(d, KVH * self.hd, bias=False)
        self.v_proj = nn.Linear(d, KVH * self.hd, bias=False)
        self.o_proj = nn.Linear(H * self.hd, d, bias=False)

    def forward(self, x):
        b, t, _ = x.shape
        hd = self.hd
        q = self.q_proj(x).view(b, t, H, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, KVH, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, KVH, hd).transpose(1, 2)
        cos, sin = rope_tables(t, hd, 10000.0)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KVH, dim=1)
        v = v.repeat_interleave(H // KVH, dim=1)
        s = (q @ k.transpose(-1, -2)) * (ATTN_MULT / hd)  # μP: 1/d attention
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        return self.o_proj((s @ v).transpose(1, 2).reshape(b, t, H * hd))


class MLP(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.gate_proj = nn.Linear(d, 2 * d, bias=False)
        self.up_proj = nn.Linear(d, 2 * d, bias=False)
        self.down_proj = nn.Linear(2 * d, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.input_layernorm = RMSNorm(d)
        self.self_attn = Attention(d)
        self.post_attention_layernorm = RMSNorm(d)
        self.mlp = MLP(d)

    def forward(self, h):
        h = h + self.self_attn(self.input_layernorm(h))
        return h + self.mlp(self.post_attention_layernorm(h))


class Body(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.embed_tokens = nn.Embedding(V, d)
        self.layers = nn.ModuleList([Layer(d) for _ in range(L)])
        self.norm = RMSNorm(d)


class Decoder(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.model = Body(d)
        self.lm_head = MuReadout(d, V, bias=False)  # μP: logits = W (x / m)

    def forward(self, x):
        h = self.model.embed_tokens(x)
        for layer in self.model.layers:
            h = layer(h)
        return self.lm_head(self.model.norm(h))


model = Decoder(WIDTH)
set_base_shapes(model, Decoder(BASE), delta=Decoder(DELTA))
torch.manual_seed(1)
for name, p in model.named_parameters():
    if p.dim() >= 2:
        mup.init.normal_(p, std=STD)  # std for embed/readout, std/√m for hidden matrices
    with torch.no_grad():
        p.copy_(p.bfloat16().float())  # exactly representable in the bf16 file
for name, p in model.named_parameters():
    print(f"{name:45s} {tuple(p.shape)} infshape width_mult {p.infshape.width_mult():g} ninf {p.infshape.ninf()} std {p.std().item():.4f}")
params = dict(model.named_parameters())
write_safetensors(os.path.join(HERE, "mup_init.safetensors"), {k: v.detach().bfloat16() for k, v in params.items()})

# loom's train.ParamGroups: decay on matrices, embeddings and the head.
decay = [p for p in params.values() if p.dim() >= 2]
nodecay = [p for p in params.values() if p.dim() < 2]
opt = MuAdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
              lr=LR, betas=(0.9, 0.95), eps=1e-8)
for grp in opt.param_groups:
    names = [n for n, p in params.items() if any(p is q for q in grp["params"])]
    print(f"group lr {grp['lr']:.6g} weight_decay {grp['weight_decay']:.6g}: {len(names)} params, e.g. {names[0]}")
sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)

g = torch.Generator().manual_seed(3)
batches = torch.randint(0, V, (STEPS, B, T + 1), generator=g, dtype=torch.int64)
batches[:, :, 1::2] = batches[:, :, 0:-1:2]
losses = []
for s in range(STEPS):
    x, y = batches[s, :, :-1], batches[s, :, 1:]
    loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(params.values()), CLIP)
    opt.step()
    sched.step()
    losses.append(loss.item())
print("loss", losses[0], "->", losses[-1])
out = {"batches": batches.to(torch.uint8), "mup.losses": torch.tensor(losses, dtype=torch.float32)}
for name, p in params.items():  # what each parameter's learning rate and decay made of it
    out["mup.final_rms." + name] = p.detach().pow(2).mean().sqrt().reshape(1)
write_safetensors(os.path.join(HERE, "mup_parity.safetensors"), out,
                  {"generator": "train/testdata/gen_mup_parity.py", "torch": torch.__version__,
                   "mup": "github.com/microsoft/mup@" + MUP_COMMIT})
