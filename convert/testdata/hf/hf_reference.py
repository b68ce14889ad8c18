#!/usr/bin/env python3
"""Reference forward pass of Hugging Face LlamaForCausalLM, MistralForCausalLM,
MixtralForCausalLM, Qwen2ForCausalLM, Qwen2MoeForCausalLM, Qwen3ForCausalLM,
Phi3ForCausalLM, GPT2LMHeadModel, Gemma2ForCausalLM and Gemma3ForCausalLM
(text), in plain PyTorch (no transformers needed), on the checkpoint's own
tensor names and layouts.

It follows transformers' modeling code step by step (eager attention):

  * RMSNorm computes in float32: h = x.to(float32); var = mean(h**2);
    h = h * rsqrt(var + eps); out = weight * h.to(input_dtype).
  * Rotary embeddings in the "rotate_half" layout: inv_freq =
    1 / theta**(arange(0, dim, 2) / dim) in float32, rescaled by rope_scaling
    ("linear": inv_freq / factor; "llama3": by wavelength, as
    modeling_rope_utils._compute_llama3_parameters), angles and cos/sin in
    float32, then cast to the activation dtype.
  * Grouped-query attention with repeat_kv; scores = q @ k^T * head_dim**-0.5;
    a causal mask (0 or finfo(dtype).min, added); softmax in float32, cast
    back; sliding windows where the model has them (see layer_windows).
  * SiLU-gated MLP: down(act(gate(x)) * up(x)).
  * Biases: Llama attention_bias on q, k, v and o, mlp_bias on gate, up and
    down; Qwen2 always has q, k and v biases (never o); Mistral none.
  * tie_word_embeddings: the head is model.embed_tokens.weight.
  * Qwen3 (modeling_qwen3.py, Qwen3Attention.forward): q and k are
    viewed as heads [.., head_dim] and each head goes through an RMSNorm of
    head_dim gains (self_attn.q_norm / k_norm, eps rms_norm_eps) before the
    rotary embedding; attention_bias puts biases on q, k, v and o (as
    Llama); head_dim defaults to 128 (Qwen3Config); sliding windows as Qwen2.
  * Phi-3 (modeling_phi3.py): Llama's computation with one fused
    self_attn.qkv_proj whose output is sliced q | k | v (Phi3Attention.forward)
    and one mlp.gate_up_proj whose output is chunked gate | up
    (Phi3MLP.forward: up * act(gate)); sliding_window on every layer when
    set; no biases; rms_norm_eps default 1e-5. partial_rotary_factor rotates
    the first int(head_dim * factor) values of each head and passes the rest
    (apply_rotary_pos_emb). rope_scaling "longrope"
    (modeling_rope_utils._compute_longrope_parameters, recomputed per
    forward by dynamic_rope_update): inv_freq = 1 / (ext * base**(2i/dim))
    with ext the long_factor when the sequence is longer than
    original_max_position_embeddings, else the short_factor; cos and sin
    times attention_factor (default sqrt(1 + ln(s) / ln(original)) for
    s = max_position_embeddings / original_max_position_embeddings > 1).
  * GPT-2 (modeling_gpt2.py, forward_gpt2): wte + wpe; per block
    x += c_proj(attn(ln_1 x)), x += mlp.c_proj(act(mlp.c_fc(ln_2 x))), with
    LayerNorm (eps layer_norm_epsilon, weight and bias) and Conv1D layers
    (y = x @ W + b, W stored [in, out]); c_attn's output split into q, k, v
    of n_embd each; scores / sqrt(head_dim) (scale_attn_weights), causal
    mask, softmax; ln_f; logits = x @ wte^T (tied head);
    activation_function gelu_new (tanh approximation).
  * Gemma 3 (modeling_gemma3.py, forward_gemma3): embeddings times
    sqrt(hidden_size) as a float32 scalar (Gemma3TextScaledWordEmbedding);
    Gemma3RMSNorm = x * rsqrt(mean(x^2) + eps) * (1 + w) in float32; per
    layer x += post_attention_layernorm(attn(input_layernorm x)),
    x += post_feedforward_layernorm(mlp(pre_feedforward_layernorm x));
    q_norm/k_norm (Gemma3RMSNorm over head_dim) before RoPE; scores times
    query_pre_attn_scalar^-0.5; sliding layers ((i+1) % sliding_window_pattern
    != 0, or layer_types) use the window and rotary base rope_local_base_freq
    without scaling, the others rope_theta with rope_scaling; GeGLU MLP
    (hidden_activation); tied head; soft-capping must be null.
  * Gemma 2 (modeling_gemma2.py, the same forward_gemma): no q/k norms, one
    rotary base for every layer; scores soft-capped before the mask
    (eager_attention_forward: s / cap, tanh, * cap with
    attn_logit_softcapping) and logits after the head
    (final_logit_softcapping); layer i sliding iff layer_types says so,
    by default (i+1) % 2 != 0 (Gemma2Config).
  * Mixtral (modeling_mixtral.py, 4.46-era eager code): Mistral's attention
    (no biases, sliding_window on every layer when set; MixtralConfig's
    default is None) and, in every layer, block_sparse_moe
    (MixtralSparseMoeBlock.forward, sparse_moe): router_logits =
    gate(x) (no bias); routing_weights = softmax(router_logits, dim=1,
    dtype=float32); topk(num_experts_per_tok); always divided by their sum;
    cast back to the activation dtype; expert j is
    w2(act(w1 x) * w3 x) (MixtralBlockSparseTop2MLP) and its output times
    its weight is index_add_-ed into a zero tensor, experts in index order.
    router_jitter_noise applies only in training.
  * Qwen2-MoE (modeling_qwen2_moe.py): Qwen2's attention (q, k, v biases,
    no o bias, Qwen2's sliding-window rules); layer i has the sparse block
    iff i not in mlp_only_layers and num_experts > 0 and
    (i + 1) % decoder_sparse_step == 0 (Qwen2MoeDecoderLayer), else the
    dense mlp.gate_proj/up_proj/down_proj of intermediate_size. The sparse
    block (Qwen2MoeSparseMoeBlock.forward) routes as Mixtral's but
    renormalises the top-k weights only if norm_topk_prob; its experts are
    Qwen2MoeMLPs of moe_intermediate_size; it adds
    sigmoid(shared_expert_gate x) * shared_expert(x) (a Qwen2MoeMLP of
    shared_expert_intermediate_size) to the routed output.

Modes (--dtype):
  float32   weights widened to float32, all compute in float32.
  weights   the weights as stored (bf16/f16 widened exactly to float32),
            compute in float32: what loom does. For any checkpoint this is
            numerically the same computation as float32 (widening is exact);
            both names are kept for the command line.
  bfloat16  transformers with torch_dtype=bfloat16: weights cast to bf16,
            activations bf16, with HF's float32 islands (RMSNorm statistics,
            RoPE angles, attention softmax).

Usage:
  python3 hf_reference.py DIR --ids 3,1,4,1,5 [--dtype float32|bfloat16|weights] --out logits.json

DIR holds config.json and model.safetensors, or model.safetensors.index.json
with its shards. The output is {"ids": [...], "logits": [[V floats] per
position], "dtype": mode}.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

MODES = ("float32", "weights", "bfloat16")

# ----------------------------------------------------------------------------
# safetensors, by hand


_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64, "U8": torch.uint8}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def _to_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    np_dtype = {torch.float32: "<f4", torch.float16: "<f2", torch.float64: "<f8", torch.uint8: "|u1"}[t.dtype]
    return t.numpy().astype(np_dtype).tobytes()


def _from_bytes(raw, dtype, shape):
    if dtype == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        t = torch.from_numpy(bits.view(np.float32).copy()).to(torch.bfloat16)  # exact
    else:
        np_dtype = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "U8": "|u1"}[dtype]
        t = torch.from_numpy(np.frombuffer(raw, dtype=np_dtype).astype(np_dtype[1:]).copy())
    return t.reshape(shape)


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} as a safetensors file: 8-byte little-endian header
    length, JSON header (padded with spaces to a multiple of 8, as the
    reference writer does), then the tensors' bytes, in name order."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        raw = _to_bytes(t)
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    header["__metadata__"] = metadata if metadata is not None else {"format": "pt"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)
    return off  # bytes of tensor data


def read_safetensors(path):
    """Reads a safetensors file into {name: tensor} (dtypes as stored)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode())
    buf = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = _from_bytes(buf[b:e], info["dtype"], info["shape"])
    return out


def load_weights(d):
    """Loads DIR/model.safetensors, or the shards named by
    DIR/model.safetensors.index.json (every weight_map entry must be found in
    the file it names, and every shard tensor must be in the map)."""
    single = os.path.join(d, "model.safetensors")
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(single):
        return read_safetensors(single)
    if not os.path.exists(index):
        raise FileNotFoundError(f"{d}: neither model.safetensors nor model.safetensors.index.json")
    with open(index) as f:
        wmap = json.load(f)["weight_map"]
    out = {}
    for shard in sorted(set(wmap.values())):
        ts = read_safetensors(os.path.join(d, shard))
        for name, t in ts.items():
            if wmap.get(name) != shard:
                raise ValueError(f"{shard}: tensor {name} is not mapped to this shard in the index")
            out[name] = t
    missing = sorted(set(wmap) - set(out))
    if missing:
        raise ValueError(f"{index}: tensors missing from their shards: {missing}")
    return out


# ----------------------------------------------------------------------------
# config, with transformers' defaults


class Config:
    def __init__(self, c):
        self.raw = c
        self.model_type = c.get("model_type", "llama")
        if self.model_type not in ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "phi3", "gpt2", "gemma2", "gemma3_text"):
            raise ValueError(f"model_type {self.model_type!r}: the reference knows llama, mistral, mixtral, qwen2, qwen2_moe, qwen3, phi3, gpt2, gemma2 and gemma3_text")
        if self.model_type == "gpt2":
            self.init_gpt2(c)
            return
        if self.model_type in ("gemma2", "gemma3_text"):
            self.init_gemma(c)
            return
        self.hidden = c["hidden_size"]
        self.intermediate = c["intermediate_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        # Llama/Mistral/Qwen2 all read head_dim when the config has it.
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        if self.model_type == "qwen3":
            self.head_dim = c.get("head_dim", 128)  # Qwen3Config's default
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.theta = c.get("rope_theta", 10000.0)
        if self.model_type == "mixtral":  # MixtralConfig's defaults
            self.eps = c.get("rms_norm_eps", 1e-5)
            self.theta = c.get("rope_theta", 1e6)
        self.rope_scaling = c.get("rope_scaling")
        self.act = c.get("hidden_act", "silu")
        self.tie = c.get("tie_word_embeddings", False)
        llama = self.model_type in ("llama", "qwen3")  # Qwen3's attention_bias is Llama's
        qwen2 = self.model_type in ("qwen2", "qwen2_moe")  # Qwen2MoeAttention is Qwen2's
        self.qkv_bias = qwen2 or (llama and c.get("attention_bias", False))
        self.o_bias = llama and c.get("attention_bias", False)
        self.qk_norm = self.model_type == "qwen3"
        self.phi3 = self.model_type == "phi3"
        self.rotary_dim = self.head_dim
        if self.phi3:
            self.eps = c.get("rms_norm_eps", 1e-5)  # Phi3Config
            self.rotary_dim = int(self.head_dim * c.get("partial_rotary_factor", 1.0))
        self.mlp_bias = llama and c.get("mlp_bias", False)
        self.windows = layer_windows(c, self.model_type, self.layers)
        self.init_moe(c)

    def init_moe(self, c):
        """The mixture-of-experts feed-forward of MixtralConfig and
        Qwen2MoeConfig (keys and defaults). self.moe is None for a dense
        model; self.sparse[i] says whether layer i has the sparse block."""
        self.moe = None
        self.sparse = [False] * self.layers
        if self.model_type == "mixtral":
            # MixtralDecoderLayer: every layer is block_sparse_moe; the
            # top-k weights are always renormalised; no shared expert.
            self.moe = "mixtral"
            self.experts = c.get("num_local_experts", 8)
            self.top_k = c.get("num_experts_per_tok", 2)
            self.expert_intermediate = self.intermediate
            self.norm_topk = True
            self.shared_intermediate = None
            self.sparse = [True] * self.layers
        elif self.model_type == "qwen2_moe":
            # Qwen2MoeDecoderLayer: layer i is sparse iff i is not in
            # mlp_only_layers and num_experts > 0 and
            # (i + 1) % decoder_sparse_step == 0; otherwise a dense
            # Qwen2MoeMLP of intermediate_size.
            self.moe = "qwen2_moe"
            self.experts = c.get("num_experts", 60)
            self.top_k = c.get("num_experts_per_tok", 4)
            self.expert_intermediate = c.get("moe_intermediate_size", 1408)
            self.norm_topk = c.get("norm_topk_prob", False)
            self.shared_intermediate = c.get("shared_expert_intermediate_size", 5632)
            mlp_only = c.get("mlp_only_layers") or []
            step = c.get("decoder_sparse_step", 1)
            self.sparse = [(i not in mlp_only) and self.experts > 0 and (i + 1) % step == 0 for i in range(self.layers)]
        # For diagnostics only (gen_hf.py): False adds the shared expert
        # without its sigmoid gate.
        self.shared_gate = True

    def init_gemma(self, c):
        """Gemma2Config's and Gemma3TextConfig's keys and defaults."""
        gemma2 = self.model_type == "gemma2"
        self.hidden = c["hidden_size"]
        self.intermediate = c["intermediate_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim", 256)
        self.rotary_dim = self.head_dim
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.theta = c.get("rope_theta", 1e6)
        self.local_theta = None if gemma2 else c.get("rope_local_base_freq", 10000.0)
        self.qk_norm = not gemma2
        self.rope_scaling = c.get("rope_scaling")
        self.act = c.get("hidden_activation", "gelu_pytorch_tanh")
        self.tie = c.get("tie_word_embeddings", True)
        self.scalar = c.get("query_pre_attn_scalar", 256)
        self.attn_cap = c.get("attn_logit_softcapping", 50.0 if gemma2 else None)
        self.final_cap = c.get("final_logit_softcapping", 30.0 if gemma2 else None)
        if not gemma2 and (self.attn_cap is not None or self.final_cap is not None):
            raise NotImplementedError("soft-capping in Gemma 3")
        types = c.get("layer_types")
        if types is None:
            pattern = 2 if gemma2 else c.get("sliding_window_pattern", 6)
            types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(self.layers)]
        self.sliding = [t == "sliding_attention" for t in types]
        w = c.get("sliding_window", 4096)
        self.windows = [w if s else None for s in self.sliding]

    def init_gpt2(self, c):
        """GPT2Config's keys and defaults."""
        self.hidden = c.get("n_embd", 768)
        self.layers = c.get("n_layer", 12)
        self.heads = c.get("n_head", 12)
        self.intermediate = c.get("n_inner") or 4 * self.hidden
        self.positions = c.get("n_positions", 1024)
        self.eps = c.get("layer_norm_epsilon", 1e-5)
        self.act = c.get("activation_function", "gelu_new")
        self.tie = c.get("tie_word_embeddings", True)
        self.head_dim = self.hidden // self.heads
        self.windows = [None] * self.layers
        if not c.get("scale_attn_weights", True) or c.get("scale_attn_by_inverse_layer_idx", False):
            raise NotImplementedError("GPT-2 attention scaling variants")
        if not self.tie:
            raise NotImplementedError("GPT-2 with an untied head")


def layer_windows(c, model_type, layers):
    """The sliding window of each layer (None: full causal attention).

    Mistral: config.sliding_window on every layer (MistralConfig's default is
    4096 when the key is absent; null means none). Mixtral and Phi-3: the
    same, with a default of None.
    Qwen2 (and Qwen2-MoE, Qwen3): layer i is windowed iff use_sliding_window and sliding_window is
    not None and i >= max_window_layers (Qwen2Config.layer_types; the same
    test the older flash-attention path made). With use_sliding_window false
    the window is dropped whatever sliding_window says. An explicit
    layer_types list in the config wins.
    Llama: none."""
    if model_type == "mistral":
        w = c.get("sliding_window", 4096)
        return [w] * layers
    if model_type in ("phi3", "mixtral"):  # Phi3Config's and MixtralConfig's default is None
        return [c.get("sliding_window")] * layers
    if model_type in ("qwen2", "qwen2_moe", "qwen3"):
        w = c.get("sliding_window", 4096) if c.get("use_sliding_window", False) else None
        types = c.get("layer_types")
        if types is None:
            mwl = c.get("max_window_layers", 28)
            types = ["sliding_attention" if w is not None and i >= mwl else "full_attention" for i in range(layers)]
        return [w if t == "sliding_attention" else None for t in types]
    return [None] * layers


# ----------------------------------------------------------------------------
# the forward pass


def rope_inv_freq(cfg, seq_len=None):
    """inv_freq in float32, as transformers' rope init functions compute it."""
    dim = cfg.rotary_dim
    inv_freq = 1.0 / (cfg.theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.rope_scaling
    kind = None if rs is None else rs.get("rope_type", rs.get("type", "default"))  # BC: "type"
    if kind in (None, "default"):
        return inv_freq
    if kind == "longrope":
        inv, _ = longrope(cfg, seq_len)
        return inv
    if kind == "linear":
        return inv_freq / rs["factor"]
    if kind == "llama3":
        factor = rs["factor"]
        low_freq_factor = rs["low_freq_factor"]
        high_freq_factor = rs["high_freq_factor"]
        old_context_len = rs["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        # wavelen < high_freq_wavelen: kept; wavelen > low_freq_wavelen: divided by factor
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        # in between: interpolated with a smooth factor
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    raise NotImplementedError(f"rope_scaling type {kind!r}")


def longrope(cfg, seq_len):
    """_compute_longrope_parameters: (inv_freq, attention_factor)."""
    rs, c = cfg.rope_scaling, cfg.raw
    dim = cfg.rotary_dim
    factor = rs.get("factor")
    original = c.get("original_max_position_embeddings")
    if original:
        factor = c["max_position_embeddings"] / original
    else:
        original = c["max_position_embeddings"]
    attention_factor = rs.get("attention_factor")
    if attention_factor is None:
        attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
    if seq_len and seq_len > original:
        ext = torch.tensor(rs["long_factor"], dtype=torch.float32)
    else:
        ext = torch.tensor(rs["short_factor"], dtype=torch.float32)
    shape = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
    return 1.0 / (ext * cfg.theta**shape), attention_factor


def attention_scaling(cfg, seq_len):
    rs = cfg.rope_scaling
    if rs is not None and rs.get("rope_type", rs.get("type")) == "longrope":
        return longrope(cfg, seq_len)[1]
    return 1.0


def rope_cos_sin(inv_freq, positions, dtype, scale=1.0):
    """cos, sin [1, T, head_dim] computed in float32, then cast to dtype."""
    inv_freq_expanded = inv_freq[None, :, None].float()  # [1, D/2, 1]
    position_ids_expanded = positions[None, None, :].float()  # [1, 1, T]
    freqs = (inv_freq_expanded @ position_ids_expanded).transpose(1, 2)  # [1, T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * scale).to(dtype), (emb.sin() * scale).to(dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, h, s, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, h, n_rep, s, d).reshape(b, h * n_rep, s, d)


def rms_norm(x, weight, eps):
    input_dtype = x.dtype
    h = x.to(torch.float32)
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + eps)
    return weight * h.to(input_dtype)


def causal_mask(T, window, dtype, window_extra=0):
    """[1, 1, T, T] additive mask: 0 where query i may see key j, else
    finfo(dtype).min. Causal: j <= i. With a window W: also j > i - W, so a
    query sees W keys, itself included (transformers' sliding_window_overlay,
    kv_idx > q_idx - sliding_window). window_extra=1 gives the W+1-key variant
    some transformers versions had, for diagnostics only."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = j <= i
    if window is not None:
        allowed &= j > i - (window + window_extra)
    m = torch.zeros(T, T, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    return m[None, None]


def activation(name):
    if name in ("silu", "swish"):
        return torch.nn.functional.silu
    if name == "gelu":
        return torch.nn.functional.gelu
    if name in ("gelu_pytorch_tanh", "gelu_new"):
        return lambda x: torch.nn.functional.gelu(x, approximate="tanh")
    if name == "relu":
        return torch.relu
    raise NotImplementedError(f"hidden_act {name!r}")


def linear(x, weights, prefix):
    return torch.nn.functional.linear(x, weights[prefix + ".weight"], weights.get(prefix + ".bias"))


def check_names(cfg, weights):
    """The checkpoint must hold exactly the tensors the architecture has."""
    if cfg.model_type == "gpt2":
        return check_names_gpt2(cfg, weights)
    want = {"model.embed_tokens.weight", "model.norm.weight"}
    if not cfg.tie:
        want.add("lm_head.weight")
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        want |= {p + "input_layernorm.weight", p + "post_attention_layernorm.weight"}
        if cfg.phi3:
            want |= {p + "self_attn.qkv_proj.weight", p + "self_attn.o_proj.weight", p + "mlp.gate_up_proj.weight", p + "mlp.down_proj.weight"}
            continue
        for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
            want.add(p + f"self_attn.{n}.weight")
            if (n != "o_proj" and cfg.qkv_bias) or (n == "o_proj" and cfg.o_bias):
                want.add(p + f"self_attn.{n}.bias")
        if cfg.qk_norm:
            want |= {p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"}
        if cfg.sparse[i]:
            want |= moe_names(cfg, p)
            continue
        for n in ("gate_proj", "up_proj", "down_proj"):
            want.add(p + f"mlp.{n}.weight")
            if cfg.mlp_bias:
                want.add(p + f"mlp.{n}.bias")
    have = set(weights)
    if have != want:
        raise ValueError(f"checkpoint tensors differ from the architecture: missing {sorted(want - have)}, unexpected {sorted(have - want)}")


def moe_names(cfg, p):
    """The tensors of layer p's sparse block (no biases anywhere)."""
    if cfg.moe == "mixtral":
        names = {p + "block_sparse_moe.gate.weight"}
        for j in range(cfg.experts):
            names |= {p + f"block_sparse_moe.experts.{j}.{n}.weight" for n in ("w1", "w2", "w3")}
        return names
    names = {p + "mlp.gate.weight"}
    for j in range(cfg.experts):
        names |= {p + f"mlp.experts.{j}.{n}.weight" for n in ("gate_proj", "up_proj", "down_proj")}
    names |= {p + f"mlp.shared_expert.{n}.weight" for n in ("gate_proj", "up_proj", "down_proj")}
    if cfg.shared_gate:
        names.add(p + "mlp.shared_expert_gate.weight")
    return names


def sparse_moe(cfg, W, p, h, act, trace=None):
    """MixtralSparseMoeBlock.forward / Qwen2MoeSparseMoeBlock.forward (eval:
    Mixtral's router_jitter_noise only applies in training) on h [1, T, D].
    trace, a list, receives the routing probabilities [T, experts] (float32,
    before top-k)."""
    batch_size, sequence_length, hidden_dim = h.shape
    hidden_states = h.view(-1, hidden_dim)
    if cfg.moe == "mixtral":
        pre = p + "block_sparse_moe."

        def expert(j, x):  # MixtralBlockSparseTop2MLP: w2(act(w1 x) * w3 x)
            e = pre + f"experts.{j}."
            return linear(act(linear(x, W, e + "w1")) * linear(x, W, e + "w3"), W, e + "w2")
    else:
        pre = p + "mlp."

        def expert(j, x):  # Qwen2MoeMLP of moe_intermediate_size
            e = pre + f"experts.{j}."
            return linear(act(linear(x, W, e + "gate_proj")) * linear(x, W, e + "up_proj"), W, e + "down_proj")

    router_logits = linear(hidden_states, W, pre + "gate")  # [T, experts]
    routing_weights = torch.nn.functional.softmax(router_logits, dim=1, dtype=torch.float)
    if trace is not None:
        trace.append(routing_weights.clone())
    routing_weights, selected_experts = torch.topk(routing_weights, cfg.top_k, dim=-1)
    if cfg.norm_topk:  # always for Mixtral; norm_topk_prob for Qwen2-MoE
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
    routing_weights = routing_weights.to(hidden_states.dtype)  # cast back to the input dtype
    final_hidden_states = torch.zeros((batch_size * sequence_length, hidden_dim), dtype=hidden_states.dtype)
    # [experts, top_k, T]: which tokens chose expert j, and in which top-k slot
    expert_mask = torch.nn.functional.one_hot(selected_experts, num_classes=cfg.experts).permute(2, 1, 0)
    for expert_idx in range(cfg.experts):
        idx, top_x = torch.where(expert_mask[expert_idx])
        current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
        current_hidden_states = expert(expert_idx, current_state) * routing_weights[top_x, idx, None]
        final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
    if cfg.moe == "qwen2_moe":  # the shared expert, sigmoid-gated, added to the routed output
        s = pre + "shared_expert."
        shared_expert_output = linear(act(linear(hidden_states, W, s + "gate_proj")) * linear(hidden_states, W, s + "up_proj"), W, s + "down_proj")
        if cfg.shared_gate:
            shared_expert_output = torch.sigmoid(linear(hidden_states, W, pre + "shared_expert_gate")) * shared_expert_output
        final_hidden_states = final_hidden_states + shared_expert_output
    return final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)


@torch.no_grad()
def forward(cfg, weights, ids, mode, windows=None, window_extra=0, trace=None):
    """Logits [T, V] (float32 tensor) for one sequence ids. trace (a list)
    receives the routing probabilities of each sparse layer, in order."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}, want one of {MODES}")
    if cfg.model_type == "gpt2":
        return forward_gpt2(cfg, weights, ids, mode)
    if cfg.model_type in ("gemma2", "gemma3_text"):
        return forward_gemma(cfg, weights, ids, mode, windows)
    check_names(cfg, weights)
    dt = torch.bfloat16 if mode == "bfloat16" else torch.float32
    W = {k: v.to(dt) for k, v in weights.items()}
    windows = cfg.windows if windows is None else windows
    act = activation(cfg.act)
    T = len(ids)
    H, Hkv, hd = cfg.heads, cfg.kv_heads, cfg.head_dim
    scaling = hd**-0.5

    x = torch.nn.functional.embedding(torch.tensor([ids]), W["model.embed_tokens.weight"])  # [1, T, D]
    cos, sin = rope_cos_sin(rope_inv_freq(cfg, T), torch.arange(T), dt, attention_scaling(cfg, T))
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # [1, 1, T, hd]
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        # self-attention
        residual = x
        h = rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        if cfg.phi3:  # one fused projection, sliced q | k | v
            qkv = linear(h, W, p + "self_attn.qkv_proj")
            q, k, v = qkv[..., : H * hd], qkv[..., H * hd : (H + Hkv) * hd], qkv[..., (H + Hkv) * hd :]
        else:
            q = linear(h, W, p + "self_attn.q_proj")
            k = linear(h, W, p + "self_attn.k_proj")
            v = linear(h, W, p + "self_attn.v_proj")
        q = q.view(1, T, H, hd).transpose(1, 2)
        k = k.view(1, T, Hkv, hd).transpose(1, 2)
        v = v.view(1, T, Hkv, hd).transpose(1, 2)
        if cfg.qk_norm:  # per head, before RoPE (Qwen3)
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], cfg.eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], cfg.eps)
        rd = cfg.rotary_dim  # Phi3's partial rotary: the rest of each head passes through
        q = torch.cat([(q[..., :rd] * cos) + (rotate_half(q[..., :rd]) * sin), q[..., rd:]], dim=-1)
        k = torch.cat([(k[..., :rd] * cos) + (rotate_half(k[..., :rd]) * sin), k[..., rd:]], dim=-1)
        k = repeat_kv(k, H // Hkv)
        v = repeat_kv(v, H // Hkv)
        scores = torch.matmul(q, k.transpose(2, 3)) * scaling
        scores = scores + causal_mask(T, windows[i], dt, window_extra)
        probs = torch.nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(probs, v).transpose(1, 2).contiguous().reshape(1, T, H * hd)
        x = residual + linear(o, W, p + "self_attn.o_proj")
        # MLP
        residual = x
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps)
        if cfg.phi3:  # one fused projection, chunked gate | up
            gate, up = linear(h, W, p + "mlp.gate_up_proj").chunk(2, dim=-1)
            m = linear(up * act(gate), W, p + "mlp.down_proj")
        elif cfg.sparse[i]:  # Mixtral's block_sparse_moe, Qwen2-MoE's sparse mlp
            m = sparse_moe(cfg, W, p, h, act, trace)
        else:
            m = linear(act(linear(h, W, p + "mlp.gate_proj")) * linear(h, W, p + "mlp.up_proj"), W, p + "mlp.down_proj")
        x = residual + m
    x = rms_norm(x, W["model.norm.weight"], cfg.eps)
    head = W["model.embed_tokens.weight"] if cfg.tie else W["lm_head.weight"]
    logits = torch.nn.functional.linear(x, head)
    return logits[0].float()


def check_names_gpt2(cfg, weights):
    want = {"transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "transformer.ln_f.bias"}
    for i in range(cfg.layers):
        for n in ("ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"):
            want |= {f"transformer.h.{i}.{n}.weight", f"transformer.h.{i}.{n}.bias"}
    have = set(weights)
    if have != want:
        raise ValueError(f"checkpoint tensors differ from GPT-2: missing {sorted(want - have)}, unexpected {sorted(have - want)}")


def conv1d(x, W, prefix):
    """transformers' Conv1D: x @ weight + bias, weight [in, out]."""
    return torch.addmm(W[prefix + ".bias"], x.reshape(-1, x.shape[-1]), W[prefix + ".weight"]).view(*x.shape[:-1], -1)


@torch.no_grad()
def forward_gpt2(cfg, weights, ids, mode):
    """GPT2LMHeadModel's logits [T, V] for one sequence (eager attention)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}, want one of {MODES}")
    check_names_gpt2(cfg, weights)
    dt = torch.bfloat16 if mode == "bfloat16" else torch.float32
    W = {k: v.to(dt) for k, v in weights.items()}
    act = activation(cfg.act)
    T, D, H, hd = len(ids), cfg.hidden, cfg.heads, cfg.head_dim
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (D,), W[p + ".weight"], W[p + ".bias"], cfg.eps)  # noqa: E731
    x = W["transformer.wte.weight"][torch.tensor([ids])] + W["transformer.wpe.weight"][torch.arange(T)][None]
    for i in range(cfg.layers):
        p = f"transformer.h.{i}."
        residual = x
        h = ln(x, p + "ln_1")
        q, k, v = conv1d(h, W, p + "attn.c_attn").split(D, dim=2)
        q, k, v = (t.view(1, T, H, hd).transpose(1, 2) for t in (q, k, v))
        scores = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=dt)
        scores = scores + causal_mask(T, None, dt)
        probs = torch.nn.functional.softmax(scores, dim=-1).type(v.dtype)
        o = torch.matmul(probs, v).transpose(1, 2).contiguous().reshape(1, T, D)
        x = residual + conv1d(o, W, p + "attn.c_proj")
        residual = x
        h = ln(x, p + "ln_2")
        x = residual + conv1d(act(conv1d(h, W, p + "mlp.c_fc")), W, p + "mlp.c_proj")
    x = ln(x, "transformer.ln_f")
    logits = torch.nn.functional.linear(x, W["transformer.wte.weight"])
    return logits[0].float()


def gemma_rms_norm(x, weight, eps):
    """Gemma3RMSNorm: normalised in float32, times (1 + weight), cast back."""
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return (h * (1.0 + weight.float())).type_as(x)


@torch.no_grad()
def forward_gemma(cfg, weights, ids, mode, windows=None):
    """Gemma2ForCausalLM's / Gemma3ForCausalLM's logits [T, V] for one
    sequence (eager attention)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}, want one of {MODES}")
    dt = torch.bfloat16 if mode == "bfloat16" else torch.float32
    W = {k: v.to(dt) for k, v in weights.items()}
    windows = cfg.windows if windows is None else windows
    act = activation(cfg.act)
    T, H, Hkv, hd = len(ids), cfg.heads, cfg.kv_heads, cfg.head_dim
    want = {"model.embed_tokens.weight", "model.norm.weight"} | ({"lm_head.weight"} if not cfg.tie else set())
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        want |= {p + n + ".weight" for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm",
                                            "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")}
        if cfg.qk_norm:
            want |= {p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"}
    if set(W) != want:
        raise ValueError(f"checkpoint tensors differ from Gemma: missing {sorted(want - set(W))}, unexpected {sorted(set(W) - want)}")
    x = torch.nn.functional.embedding(torch.tensor([ids]), W["model.embed_tokens.weight"])
    x = x * torch.tensor(cfg.hidden**0.5).to(dt)
    glob = rope_cos_sin(rope_inv_freq(cfg, T), torch.arange(T), dt)
    loc = glob  # Gemma 2: one rotary embedding
    if cfg.local_theta is not None:  # Gemma 3: the sliding layers' own, unscaled
        local_cfg = Config.__new__(Config)
        local_cfg.rotary_dim, local_cfg.theta, local_cfg.rope_scaling = hd, cfg.local_theta, None
        loc = rope_cos_sin(rope_inv_freq(local_cfg, T), torch.arange(T), dt)
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        cos, sin = loc if cfg.sliding[i] else glob
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        residual = x
        h = gemma_rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        q = linear(h, W, p + "self_attn.q_proj").view(1, T, H, hd).transpose(1, 2)
        k = linear(h, W, p + "self_attn.k_proj").view(1, T, Hkv, hd).transpose(1, 2)
        v = linear(h, W, p + "self_attn.v_proj").view(1, T, Hkv, hd).transpose(1, 2)
        if cfg.qk_norm:
            q = gemma_rms_norm(q, W[p + "self_attn.q_norm.weight"], cfg.eps)
            k = gemma_rms_norm(k, W[p + "self_attn.k_norm.weight"], cfg.eps)
        q = (q * cos) + (rotate_half(q) * sin)
        k = (k * cos) + (rotate_half(k) * sin)
        k, v = repeat_kv(k, H // Hkv), repeat_kv(v, H // Hkv)
        scores = torch.matmul(q, k.transpose(2, 3)) * cfg.scalar**-0.5
        if cfg.attn_cap is not None:
            scores = torch.tanh(scores / cfg.attn_cap) * cfg.attn_cap
        scores = scores + causal_mask(T, windows[i], dt)
        probs = torch.nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(probs, v).transpose(1, 2).contiguous().reshape(1, T, H * hd)
        h = gemma_rms_norm(linear(o, W, p + "self_attn.o_proj"), W[p + "post_attention_layernorm.weight"], cfg.eps)
        x = residual + h
        residual = x
        h = gemma_rms_norm(x, W[p + "pre_feedforward_layernorm.weight"], cfg.eps)
        h = linear(act(linear(h, W, p + "mlp.gate_proj")) * linear(h, W, p + "mlp.up_proj"), W, p + "mlp.down_proj")
        x = residual + gemma_rms_norm(h, W[p + "post_feedforward_layernorm.weight"], cfg.eps)
    x = gemma_rms_norm(x, W["model.norm.weight"], cfg.eps)
    head = W["model.embed_tokens.weight"] if cfg.tie else W["lm_head.weight"]
    logits = torch.nn.functional.linear(x, head)
    if cfg.final_cap is not None:
        logits = torch.tanh(logits / cfg.final_cap) * cfg.final_cap
    return logits[0].float()


def load(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = Config(json.load(f))
    return cfg, load_weights(d)


def fmt(v):
    """Shortest decimal that reads back as the same float32."""
    v = np.float32(v)
    if not np.isfinite(v):
        raise ValueError(f"non-finite logit {v}")
    return np.format_float_scientific(v, unique=True, trim="0") if v != 0 and (abs(v) < 1e-4 or abs(v) >= 1e7) else np.format_float_positional(v, unique=True, trim="0")


def logits_json(rows):
    """Logits [T, V] as a JSON array of arrays (one line per position)."""
    return "[\n" + ",\n".join("  [" + ",".join(fmt(v) for v in row) + "]" for row in rows.tolist()) + "\n]"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--ids", required=True, help="comma-separated token ids")
    ap.add_argument("--dtype", default="weights", choices=MODES)
    ap.add_argument("--out", default="-", help="output JSON (default stdout)")
    a = ap.parse_args(argv)
    ids = [int(s) for s in a.ids.split(",") if s.strip()]
    cfg, weights = load(a.dir)
    bad = [i for i in ids if not 0 <= i < cfg.raw["vocab_size"]]
    if bad:
        sys.exit(f"token ids {bad} outside the vocabulary")
    logits = forward(cfg, weights, ids, a.dtype)
    text = '{\n"ids": %s,\n"dtype": "%s",\n"logits": %s\n}\n' % (json.dumps(ids), a.dtype, logits_json(logits))
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
