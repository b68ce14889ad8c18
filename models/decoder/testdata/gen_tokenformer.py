#!/usr/bin/env python3
"""Reference fixture for loom's TokenFormer (models/decoder/tokenformer.go,
nn/pattention.go): a tiny TokenFormer with random weights and its logits,
written step by step in plain PyTorch from the official code
(Haiyang-W/TokenFormer, megatron/model/tokenformer.py and norms.py):

  * Pattention(x) = nonlinear_norm_func(x @ K^T, "l2_norm_gelu") @ V with
    l2_norm_gelu(A) = F.gelu(A / ||A||_2 (last dim) * sqrt(n)), n the number
    of parameter tokens, exact GELU; no scale (scale_factor 1), no mask.
  * ParallelSelfAttention: query, key, value = Pattention(x) each (qkv_slot_num
    tokens), viewed [s, b, heads, head_dim]; partial rotary (rotary_pct) on
    the first rotary_ndims = int(head_dim * rotary_pct) values of each head
    (GPT-NeoX RotaryEmbedding: inv_freq = 1 / base^(arange(0, dim, 2) / dim),
    emb = cat(freqs, freqs), q * cos + rotate_half(q) * sin); causal softmax
    attention scaled 1/sqrt(head_dim) (flash attention); output
    proj = Pattention (proj_slot_num tokens).
  * ParallelTokenformerLayer: x = x + attn(LN1(x)); x = x + mlp(LN2(x)) with
    mlp = Pattention (ffn_slot_num tokens); LN = layernorm_nonparam
    (F.layer_norm without affine, eps 1e-5); no dropout.
  * The model: word embeddings, the layers, a final non-parametric norm, an
    untied output linear (no bias).

Tokens are drawn N(0, 0.5^2) so that every path shows. The checkpoint is
written in loom's names: model.embed_tokens.weight,
model.layers.<i>.self_attn.{q,k,v,o}_proj.{key,value}_param_tokens,
model.layers.<i>.mlp.{key,value}_param_tokens, lm_head.weight.

Usage: cd models/decoder/testdata && /usr/bin/python3 gen_tokenformer.py
"""
import json, math, os, sys
import numpy as np
import torch

HERE_ = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE_, "..", "..", "..", "convert", "testdata", "hf"))
from hf_reference import write_safetensors  # noqa: E402  (the project's one safetensors writer)
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
torch.set_num_threads(1)

V, H, L, HEADS, QKV, PROJ, FFN, PCT, T = 64, 32, 2, 4, 16, 12, 48, 0.25, 11
HD = H // HEADS
ROT = int(HD * PCT)
BASE = 10000.0
EPS = 1e-5


def rnd(*shape, std=0.5):
    return torch.randn(*shape) * std


def pattention(x, k, v):
    a = x @ k.t()
    a = a / torch.norm(a, p=2, dim=-1, keepdim=True) * math.sqrt(a.shape[-1])
    return F.gelu(a) @ v


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rotary(x):  # x [T, heads, HD]
    inv = 1.0 / (BASE ** (torch.arange(0, ROT, 2).float() / ROT))
    t = torch.arange(x.shape[0]).float()
    freqs = torch.einsum("i,j->ij", t, inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    rot, rest = x[..., :ROT], x[..., ROT:]
    return torch.cat((rot * cos + rotate_half(rot) * sin, rest), dim=-1)


w = {"model.embed_tokens.weight": rnd(V, H, std=1.0), "lm_head.weight": rnd(V, H, std=0.2)}
for i in range(L):
    p = f"model.layers.{i}"
    for name, n in (("q_proj", QKV), ("k_proj", QKV), ("v_proj", QKV), ("o_proj", PROJ)):
        w[f"{p}.self_attn.{name}.key_param_tokens"] = rnd(n, H)
        w[f"{p}.self_attn.{name}.value_param_tokens"] = rnd(n, H)
    w[f"{p}.mlp.key_param_tokens"] = rnd(FFN, H)
    w[f"{p}.mlp.value_param_tokens"] = rnd(FFN, H)

ids = torch.randint(0, V, (T,))
ln = lambda x: F.layer_norm(x, (H,), eps=EPS)
with torch.no_grad():
    x = w["model.embed_tokens.weight"][ids]
    for i in range(L):
        p = f"model.layers.{i}.self_attn"
        h = ln(x)
        q, k, v = (pattention(h, w[f"{p}.{n}.key_param_tokens"], w[f"{p}.{n}.value_param_tokens"]).view(T, HEADS, HD)
                   for n in ("q_proj", "k_proj", "v_proj"))
        q, k = rotary(q), rotary(k)
        s = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(HD)
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        ctx = torch.einsum("hqk,khd->qhd", s.softmax(-1), v).reshape(T, H)
        x = x + pattention(ctx, w[f"{p}.o_proj.key_param_tokens"], w[f"{p}.o_proj.value_param_tokens"])
        m = f"model.layers.{i}.mlp"
        x = x + pattention(ln(x), w[f"{m}.key_param_tokens"], w[f"{m}.value_param_tokens"])
    logits = ln(x) @ w["lm_head.weight"].t()

d = os.path.join(HERE, "tokenformer-tiny")
os.makedirs(d, exist_ok=True)
cfg = {"model_type": "llama", "hidden_size": H, "intermediate_size": FFN, "num_hidden_layers": L,
       "num_attention_heads": HEADS, "num_key_value_heads": HEADS, "hidden_act": "silu", "rms_norm_eps": EPS,
       "rope_theta": BASE, "vocab_size": V, "max_position_embeddings": 64, "tie_word_embeddings": False,
       "initializer_range": 0.02, "partial_rotary_factor": PCT,
       "loom": {"tokenformer": {"qkv_slot_num": QKV, "proj_slot_num": PROJ}}}
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)


write_safetensors(os.path.join(d, "model.safetensors"), w)
with open(os.path.join(d, "expected.json"), "w") as f:
    json.dump({"ids": ids.tolist(), "logits": logits.flatten().tolist()}, f)
print("wrote", d)
