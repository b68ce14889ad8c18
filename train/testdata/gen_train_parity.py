#!/usr/bin/python3
"""Generates the training-parity fixtures for train/parity_test.go.

Two tiny decoders, written here in plain PyTorch exactly as loom defines them
(models/decoder): "llama" (RMSNorm, rotary embeddings in HF's rotate_half
layout, SwiGLU, grouped-query attention, no biases, untied head) and "gpt2"
(LayerNorm with bias, learned positions, tanh-GELU MLP, biases, tied head).
Each is initialised with N(0, 0.02²) weights (norm gains 1, biases 0), saved
to <variant>_init.safetensors with Hugging Face Llama names, then trained for
100 steps of AdamW (weight decay 0.1 on matrices only), warmup+cosine
schedule, gradient clipping at 1.0, on random byte batches. The batches and
the loss of every step go to train_parity.safetensors.

Run: /usr/bin/python3 train/testdata/gen_train_parity.py   (Debian python3-torch)
"""
import json, math, os, struct
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS, B, T, V, D, L, H, FF = 100, 4, 32, 256, 64, 2, 4, 128
LR, WD, WARMUP, MINF, CLIP = 3e-3, 0.1, 10, 0.1, 1.0


def write_safetensors(path, tensors, meta):
    header = {"__metadata__": meta}
    blobs, off = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dt = {torch.float32: "F32", torch.uint8: "U8"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def rope_tables(n, dim, base):
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    pos = torch.arange(n, dtype=torch.int64)[None, :].float()
    freqs = (inv_freq[None, :, None].float() @ pos[:, None, :]).transpose(1, 2)[0]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def model_params(variant, g):
    """Parameters in loom's checkpoint order, with HF names."""
    p = {}
    n = lambda *s: (torch.randn(*s, generator=g) * 0.02)
    p["model.embed_tokens.weight"] = n(V, D)
    if variant == "gpt2":
        p["model.embed_positions.weight"] = n(T, D)
    kvh = 2 if variant == "llama" else H
    hd = D // H
    for i in range(L):
        pre = f"model.layers.{i}."
        p[pre + "input_layernorm.weight"] = torch.ones(D)
        if variant == "gpt2":
            p[pre + "input_layernorm.bias"] = torch.zeros(D)
        for name, out in [("q_proj", H * hd), ("k_proj", kvh * hd), ("v_proj", kvh * hd), ("o_proj", D)]:
            p[pre + f"self_attn.{name}.weight"] = n(out, D if name != "o_proj" else H * hd)
            if variant == "gpt2":
                p[pre + f"self_attn.{name}.bias"] = torch.zeros(out)
        p[pre + "post_attention_layernorm.weight"] = torch.ones(D)
        if variant == "gpt2":
            p[pre + "post_attention_layernorm.bias"] = torch.zeros(D)
            p[pre + "mlp.up_proj.weight"] = n(FF, D)
            p[pre + "mlp.up_proj.bias"] = torch.zeros(FF)
            p[pre + "mlp.down_proj.weight"] = n(D, FF)
            p[pre + "mlp.down_proj.bias"] = torch.zeros(D)
        else:
            p[pre + "mlp.gate_proj.weight"] = n(FF, D)
            p[pre + "mlp.up_proj.weight"] = n(FF, D)
            p[pre + "mlp.down_proj.weight"] = n(D, FF)
    p["model.norm.weight"] = torch.ones(D)
    if variant == "gpt2":
        p["model.norm.bias"] = torch.zeros(D)
    else:
        p["lm_head.weight"] = n(V, D)
    return {k: v.clone().requires_grad_(True) for k, v in p.items()}


def forward(variant, p, x):
    b, t = x.shape
    hd, kvh = D // H, (2 if variant == "llama" else H)
    h = F.embedding(x, p["model.embed_tokens.weight"])
    if variant == "gpt2":
        h = h + p["model.embed_positions.weight"][:t]

    def norm(z, pre):
        if variant == "gpt2":
            return F.layer_norm(z, (D,), p[pre + ".weight"], p[pre + ".bias"], 1e-5)
        return z * torch.rsqrt(z.pow(2).mean(-1, keepdim=True) + 1e-6) * p[pre + ".weight"]

    def lin(z, pre):
        y = z @ p[pre + ".weight"].T
        if pre + ".bias" in p:
            y = y + p[pre + ".bias"]
        return y

    cos, sin = rope_tables(t, hd, 10000.0)
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    for i in range(L):
        pre = f"model.layers.{i}."
        a = norm(h, pre + "input_layernorm")
        q = lin(a, pre + "self_attn.q_proj").view(b, t, H, hd).transpose(1, 2)
        k = lin(a, pre + "self_attn.k_proj").view(b, t, kvh, hd).transpose(1, 2)
        v = lin(a, pre + "self_attn.v_proj").view(b, t, kvh, hd).transpose(1, 2)
        if variant == "llama":
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // kvh, dim=1)
        v = v.repeat_interleave(H // kvh, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf")).softmax(-1)
        o = (s @ v).transpose(1, 2).reshape(b, t, H * hd)
        h = h + lin(o, pre + "self_attn.o_proj")
        m = norm(h, pre + "post_attention_layernorm")
        if variant == "gpt2":
            m = lin(F.gelu(lin(m, pre + "mlp.up_proj"), approximate="tanh"), pre + "mlp.down_proj")
        else:
            m = lin(F.silu(lin(m, pre + "mlp.gate_proj")) * lin(m, pre + "mlp.up_proj"), pre + "mlp.down_proj")
        h = h + m
    h = norm(h, "model.norm")
    head = p["lm_head.weight"] if "lm_head.weight" in p else p["model.embed_tokens.weight"]
    return h @ head.T


def schedule(step):  # transformers' cosine-with-min-lr schedule with warmup
    if step < WARMUP:
        return step / WARMUP
    prog = min(1.0, (step - WARMUP) / (STEPS - WARMUP))
    return (0.5 * (1 + math.cos(math.pi * prog))) * (1 - MINF) + MINF


g = torch.Generator().manual_seed(0)
batches = torch.randint(0, V, (STEPS, B, T + 1), generator=g, dtype=torch.int64)
# a learnable signal: every odd position repeats the previous token
batches[:, :, 1::2] = batches[:, :, 0:-1:2]
out = {"batches": batches.to(torch.uint8)}
for variant in ["llama", "gpt2"]:
    p = model_params(variant, torch.Generator().manual_seed(1 if variant == "llama" else 2))
    write_safetensors(os.path.join(HERE, f"{variant}_init.safetensors"), p, {"format": "pt"})
    decay = [w for w in p.values() if w.dim() >= 2]
    nodecay = [w for w in p.values() if w.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    losses = []
    for s in range(STEPS):
        x, y = batches[s, :, :-1], batches[s, :, 1:]
        loss = F.cross_entropy(forward(variant, p, x).reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), CLIP)
        opt.step()
        sched.step()
        losses.append(loss.item())
    out[f"{variant}.losses"] = torch.tensor(losses, dtype=torch.float32)
    print(variant, "loss", losses[0], "->", losses[-1])
write_safetensors(os.path.join(HERE, "train_parity.safetensors"), out,
                  {"generator": "train/testdata/gen_train_parity.py", "torch": torch.__version__})
