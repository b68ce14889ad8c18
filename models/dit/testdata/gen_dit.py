#!/usr/bin/env python3
"""Reference fixture for models/dit: a tiny DiT with random weights and the
output of its forward pass, written from facebookresearch/DiT's models.py
step by step in plain PyTorch (timm's Attention and Mlp written out):

  * x [N, C, S, S] -> x_embedder: Conv2d(C, H, P, stride P) -> flatten(2)
    .transpose(1, 2) -> + pos_embed (get_2d_sincos_pos_embed, fixed).
  * t -> TimestepEmbedder: timestep_embedding(t, 256) = cat(cos(t f),
    sin(t f)), f = exp(-ln(10000) arange(128) / 128) -> Linear -> SiLU ->
    Linear; y -> LabelEmbedder table[y] (num_classes + 1 rows); c = t + y.
  * DiTBlock: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp,
    gate_mlp = adaLN_modulation(c) (SiLU, Linear 6H).chunk(6);
    x += gate_msa * attn(modulate(norm1(x))); x += gate_mlp *
    mlp(modulate(norm2(x))); norms LayerNorm(elementwise_affine=False,
    eps=1e-6); attn: qkv Linear (bias), heads, softmax(q k^T / sqrt(hd)),
    proj; mlp: fc1, GELU(approximate="tanh"), fc2.
  * FinalLayer: shift, scale = adaLN_modulation(c).chunk(2);
    linear(modulate(norm_final(x))); unpatchify: reshape(N, h, w, p, p, c),
    einsum nhwpqc->nchpwq, reshape(N, c, S, S).

Every weight is drawn N(0, 0.2^2) (adaLN and the final layer too, which
DiT zero-initialises) so that every path shows. The checkpoint is written
in loom's layout: the patch convolution's weight [H, C, P, P] as a Linear
over patches flattened (p_row, p_col, channel) ([H, P*P*C]), and the fused
qkv split into q_proj, k_proj, v_proj.

Usage: cd models/dit/testdata && /usr/bin/python3 gen_dit.py
"""
import json, math, os, sys
import numpy as np
import torch

HERE_ = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE_, "..", "..", "..", "convert", "testdata", "hf"))
from hf_reference import write_safetensors  # noqa: E402  (the project's one safetensors writer)

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
torch.set_num_threads(1)

C, S, P, H, DEPTH, HEADS, CLASSES, RATIO = 2, 8, 2, 32, 2, 4, 3, 4.0
G = S // P
FF = int(H * RATIO)


def rnd(*shape):
    return torch.randn(*shape) * 0.2


w = {
    "x_embedder.proj.weight": rnd(H, C, P, P), "x_embedder.proj.bias": rnd(H),
    "t_embedder.mlp.0.weight": rnd(H, 256), "t_embedder.mlp.0.bias": rnd(H),
    "t_embedder.mlp.2.weight": rnd(H, H), "t_embedder.mlp.2.bias": rnd(H),
    "y_embedder.embedding_table.weight": rnd(CLASSES + 1, H),
    "final_layer.adaLN_modulation.1.weight": rnd(2 * H, H), "final_layer.adaLN_modulation.1.bias": rnd(2 * H),
    "final_layer.linear.weight": rnd(P * P * C, H), "final_layer.linear.bias": rnd(P * P * C),
}
for i in range(DEPTH):
    b = f"blocks.{i}."
    w.update({
        b + "attn.qkv.weight": rnd(3 * H, H), b + "attn.qkv.bias": rnd(3 * H),
        b + "attn.proj.weight": rnd(H, H), b + "attn.proj.bias": rnd(H),
        b + "mlp.fc1.weight": rnd(FF, H), b + "mlp.fc1.bias": rnd(FF),
        b + "mlp.fc2.weight": rnd(H, FF), b + "mlp.fc2.bias": rnd(H),
        b + "adaLN_modulation.1.weight": rnd(6 * H, H), b + "adaLN_modulation.1.bias": rnd(6 * H),
    })


def pos_embed():
    def one(dim, pos):
        omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
        omega = 1.0 / 10000 ** omega
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    gh = np.arange(G, dtype=np.float32)
    grid = np.meshgrid(gh, gh)  # w goes first
    grid = np.stack(grid, axis=0).reshape([2, 1, G, G])
    emb = np.concatenate([one(H // 2, grid[0]), one(H // 2, grid[1])], axis=1)
    return torch.from_numpy(emb).float()


def timestep_embedding(t, dim=256, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def ln(x):
    return torch.nn.functional.layer_norm(x, (H,), eps=1e-6)


def linear(x, name):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def forward(x, t, y):
    N = x.shape[0]
    h = torch.nn.functional.conv2d(x, w["x_embedder.proj.weight"], w["x_embedder.proj.bias"], stride=P)
    h = h.flatten(2).transpose(1, 2) + pos_embed()[None]
    temb = linear(torch.nn.functional.silu(linear(timestep_embedding(t), "t_embedder.mlp.0")), "t_embedder.mlp.2")
    c = temb + w["y_embedder.embedding_table.weight"][y]
    sc = torch.nn.functional.silu(c)
    hd = H // HEADS
    for i in range(DEPTH):
        b = f"blocks.{i}."
        sm, scm, gm, sp, scp, gp = linear(sc, b + "adaLN_modulation.1").chunk(6, dim=1)
        a = modulate(ln(h), sm, scm)
        qkv = linear(a, b + "attn.qkv").reshape(N, G * G, 3, HEADS, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        att = (q @ k.transpose(-2, -1)) * hd ** -0.5
        o = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(N, G * G, H)
        h = h + gm.unsqueeze(1) * linear(o, b + "attn.proj")
        f = modulate(ln(h), sp, scp)
        f = linear(torch.nn.functional.gelu(linear(f, b + "mlp.fc1"), approximate="tanh"), b + "mlp.fc2")
        h = h + gp.unsqueeze(1) * f
    shift, scale = linear(sc, "final_layer.adaLN_modulation.1").chunk(2, dim=1)
    out = linear(modulate(ln(h), shift, scale), "final_layer.linear")
    out = out.reshape(N, G, G, P, P, C)
    out = torch.einsum("nhwpqc->nchpwq", out)
    return out.reshape(N, C, S, S)


x = torch.randn(3, C, S, S)
t = torch.tensor([0, 17, 999])
y = torch.tensor([0, 2, CLASSES])  # the last: "no class"
with torch.no_grad():
    out = forward(x, t, y)

# loom's layout.
loom = {}
for name, v in w.items():
    if name == "x_embedder.proj.weight":  # [H, C, P, P] -> [H, P, P, C] -> [H, P*P*C]
        loom[name] = v.permute(0, 2, 3, 1).reshape(H, P * P * C)
    elif name.endswith("attn.qkv.weight") or name.endswith("attn.qkv.bias"):
        base, kind = name.rsplit(".qkv.", 1)
        for part, chunk in zip(["q_proj", "k_proj", "v_proj"], v.chunk(3, dim=0)):
            loom[f"{base}.{part}.{kind}"] = chunk
    elif ".attn.proj." in name:
        loom[name.replace(".attn.proj.", ".attn.o_proj.")] = v
    else:
        loom[name] = v

d = os.path.join(HERE, "dit-tiny")
os.makedirs(d, exist_ok=True)
write_safetensors(os.path.join(d, "model.safetensors"), loom)
cfg = {"image_size": S, "channels": C, "patch_size": P, "hidden": H, "depth": DEPTH, "heads": HEADS,
       "mlp_ratio": RATIO, "classes": CLASSES}
with open(os.path.join(d, "expected.json"), "w") as f:
    json.dump({"config": cfg, "x": x.flatten().tolist(), "t": t.tolist(), "y": y.tolist(),
               "out": out.flatten().tolist()}, f)
print("wrote", d, "output |max|", float(out.abs().max()))
