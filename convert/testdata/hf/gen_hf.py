#!/usr/bin/env python3
"""Builds the tiny Hugging Face checkpoints under this directory, one per
case, and their expected logits from hf_reference.py.

    cd convert/testdata/hf && /usr/bin/python3 gen_hf.py [CASE ...]

(with case names, only those cases are rebuilt). Made with Debian's
/usr/bin/python3, torch 1.13.0a0 and numpy 1.24.2; the qwen3-*, phi3-*,
gpt2-f32, gemma3-f32 and gemma2-f32 cases by

    /usr/bin/python3 gen_hf.py qwen3-f32 qwen3-bias-window phi3-f32 phi3-longrope phi3-longrope-short gpt2-f32 gemma3-f32 gemma2-f32

and the mixture-of-experts cases mixtral-f32 and qwen2moe-f32 by

    /usr/bin/python3 gen_hf.py mixtral-f32 qwen2moe-f32

Each case directory gets config.json (keys as transformers writes them,
sorted, indent 2), generation_config.json, model.safetensors (or shards with
model.safetensors.index.json) and expected.json:

    {"ids": [...], "modes": [...], "logits": {mode: [[V floats] per position]}}

Everything is seeded, so a rerun rewrites identical files. The script also
asserts that each case's feature changes the logits (a window, a rope
scaling, ...), so a loader that ignores the feature fails the Go test, and,
for the mixture-of-experts cases, that every token's routing has a margin of
at least MIN_ROUTING_MARGIN between the k-th and (k+1)-th expert.
"""

import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in testdata
sys.path.insert(0, HERE)
import hf_reference as ref  # noqa: E402

TRANSFORMERS_VERSION = "4.46.3"  # the version whose config layout the files follow
VOCAB, HIDDEN, INTER, LAYERS, HEADS, MAXPOS = 67, 16, 32, 2, 4, 64
SEQ = 12


def llama_config(**kw):
    c = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def mistral_config(**kw):
    c = {
        "architectures": ["MistralForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": HIDDEN // HEADS,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "model_type": "mistral",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "sliding_window": 4,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def mixtral_config(**kw):
    """MixtralConfig's keys as transformers 4.46.3 writes them (no head_dim:
    MixtralConfig gained it in 4.47; no rope_scaling)."""
    c = {
        "architectures": ["MixtralForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "model_type": "mixtral",
        "num_attention_heads": HEADS,
        "num_experts_per_tok": 2,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "num_local_experts": 4,
        "output_router_logits": False,
        "rms_norm_eps": 1e-05,
        "rope_theta": 1000000.0,
        "router_aux_loss_coef": 0.02,
        "router_jitter_noise": 0.0,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def qwen2moe_config(**kw):
    """Qwen2MoeConfig's keys as transformers 4.46.3 writes them: it stores
    sliding_window only with use_sliding_window (else null);
    max_window_layers is the class default 28."""
    c = {
        "architectures": ["Qwen2MoeForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "decoder_sparse_step": 1,
        "eos_token_id": 66,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "max_window_layers": 28,
        "mlp_only_layers": [1],  # layer 1 is a dense Qwen2MoeMLP of intermediate_size
        "model_type": "qwen2_moe",
        "moe_intermediate_size": 24,
        "norm_topk_prob": False,
        "num_attention_heads": HEADS,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "output_router_logits": False,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "router_aux_loss_coef": 0.001,
        "shared_expert_intermediate_size": 40,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def qwen2_config(**kw):
    c = {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "eos_token_id": 66,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "max_window_layers": LAYERS,
        "model_type": "qwen2",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        # Released Qwen2/2.5 configs carry a sliding_window with
        # use_sliding_window false; the window must then be ignored.
        "sliding_window": 4,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def qwen3_config(**kw):
    c = {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "eos_token_id": 66,
        # head_dim 8 with 4 heads: q_proj is 32 wide for a hidden size of 16.
        "head_dim": 8,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "max_window_layers": LAYERS,
        "model_type": "qwen3",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": "4.51.0",  # the first with Qwen3
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def phi3_config(**kw):
    c = {
        "architectures": ["Phi3ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "embd_pdrop": 0.0,
        "eos_token_id": 32000 % VOCAB,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "model_type": "phi3",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "original_max_position_embeddings": MAXPOS,
        "pad_token_id": 0,
        "partial_rotary_factor": 1.0,
        "resid_pdrop": 0.0,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "sliding_window": 4,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def gpt2_config(**kw):
    c = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": VOCAB - 1,
        "embd_pdrop": 0.1,
        "eos_token_id": VOCAB - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": MAXPOS,
        "n_embd": HIDDEN,
        "n_head": HEADS,
        "n_inner": None,
        "n_layer": LAYERS,
        "n_positions": MAXPOS,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def gemma3_config(**kw):
    c = {
        "architectures": ["Gemma3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "attn_logit_softcapping": None,
        "bos_token_id": 2,
        "cache_implementation": "hybrid",
        "eos_token_id": 1,
        "final_logit_softcapping": None,
        # head_dim 8 with 4 heads (32 wide for a hidden size of 16), and a
        # query_pre_attn_scalar that is not head_dim, so the scale shows.
        "head_dim": 8,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "model_type": "gemma3_text",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": 2,
        "pad_token_id": 0,
        "query_pre_attn_scalar": 20,
        "rms_norm_eps": 1e-06,
        "rope_local_base_freq": 10000.0,
        "rope_scaling": {"factor": 2.0, "rope_type": "linear"},
        "rope_theta": 1000000.0,
        "sliding_window": 4,
        "sliding_window_pattern": 2,
        "torch_dtype": "float32",
        "transformers_version": "4.50.0",  # the first with Gemma 3
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    c.update(kw)
    return c


def gemma2_config(**kw):
    c = gemma3_config(architectures=["Gemma2ForCausalLM"], model_type="gemma2", transformers_version=TRANSFORMERS_VERSION,
                      # small caps so that both bite on logits of a few units
                      attn_logit_softcapping=2.0, final_logit_softcapping=3.0)
    for k in ("rope_local_base_freq", "sliding_window_pattern", "rope_scaling"):
        del c[k]
    c.update(kw)
    return c


def make_weights(cfg, seed):
    """Random weights, scaled so that activations are O(1): attention is far
    from uniform and logits are of magnitude ~1-3 (initializer_range 0.02
    would make every logit ~0 and the comparison toothless)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std):
        return torch.randn(*shape, generator=g) * std

    D, I, V = cfg.hidden, cfg.intermediate, cfg.raw["vocab_size"]
    if cfg.model_type == "gpt2":
        return make_weights_gpt2(cfg, rnd, D, I, V)
    if cfg.model_type in ("gemma2", "gemma3_text"):
        return make_weights_gemma3(cfg, rnd, D, I, V)
    H, Hkv, hd = cfg.heads, cfg.kv_heads, cfg.head_dim
    w = {"model.embed_tokens.weight": rnd(V, D, std=0.5)}
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + rnd(D, std=0.2)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(D, std=0.2)
        w[p + "self_attn.q_proj.weight"] = rnd(H * hd, D, std=1.2 / D**0.5)
        w[p + "self_attn.k_proj.weight"] = rnd(Hkv * hd, D, std=1.2 / D**0.5)
        w[p + "self_attn.v_proj.weight"] = rnd(Hkv * hd, D, std=1 / D**0.5)
        w[p + "self_attn.o_proj.weight"] = rnd(D, H * hd, std=1 / (H * hd) ** 0.5)
        if cfg.qkv_bias:
            w[p + "self_attn.q_proj.bias"] = rnd(H * hd, std=0.3)
            w[p + "self_attn.k_proj.bias"] = rnd(Hkv * hd, std=0.3)
            w[p + "self_attn.v_proj.bias"] = rnd(Hkv * hd, std=0.3)
        if cfg.o_bias:
            w[p + "self_attn.o_proj.bias"] = rnd(D, std=0.3)
        if cfg.qk_norm:
            w[p + "self_attn.q_norm.weight"] = 1 + rnd(hd, std=0.3)
            w[p + "self_attn.k_norm.weight"] = 1 + rnd(hd, std=0.3)
        if cfg.moe is not None and cfg.sparse[i]:
            w.update(make_weights_moe(cfg, rnd, p, D))
            continue
        w[p + "mlp.gate_proj.weight"] = rnd(I, D, std=1 / D**0.5)
        w[p + "mlp.up_proj.weight"] = rnd(I, D, std=1 / D**0.5)
        w[p + "mlp.down_proj.weight"] = rnd(D, I, std=1 / I**0.5)
        if cfg.mlp_bias:
            w[p + "mlp.gate_proj.bias"] = rnd(I, std=0.3)
            w[p + "mlp.up_proj.bias"] = rnd(I, std=0.3)
            w[p + "mlp.down_proj.bias"] = rnd(D, std=0.3)
    w["model.norm.weight"] = 1 + rnd(D, std=0.2)
    if not cfg.tie:
        w["lm_head.weight"] = rnd(V, D, std=2 / D**0.5)
    if cfg.model_type == "phi3":  # the checkpoint's fused layout (Phi3Attention, Phi3MLP)
        for i in range(cfg.layers):
            p = f"model.layers.{i}."
            w[p + "self_attn.qkv_proj.weight"] = torch.cat([w.pop(p + f"self_attn.{n}_proj.weight") for n in "qkv"])
            w[p + "mlp.gate_up_proj.weight"] = torch.cat([w.pop(p + "mlp.gate_proj.weight"), w.pop(p + "mlp.up_proj.weight")])
    return w


def make_weights_moe(cfg, rnd, p, D):
    """Layer p's sparse block: the router (std 2/sqrt(D), so router logits
    have std ~2 and the routing is far from uniform), the experts (as the
    dense MLP), and Qwen2-MoE's shared expert and its gate (std 1/sqrt(D):
    sigmoid of a unit-variance logit)."""
    E, I = cfg.experts, cfg.expert_intermediate
    w = {}
    if cfg.moe == "mixtral":
        pre = p + "block_sparse_moe."
        w[pre + "gate.weight"] = rnd(E, D, std=2 / D**0.5)
        for j in range(E):
            e = pre + f"experts.{j}."
            w[e + "w1.weight"] = rnd(I, D, std=1 / D**0.5)
            w[e + "w3.weight"] = rnd(I, D, std=1 / D**0.5)
            w[e + "w2.weight"] = rnd(D, I, std=1 / I**0.5)
        return w
    pre = p + "mlp."
    w[pre + "gate.weight"] = rnd(E, D, std=2 / D**0.5)
    for j in range(E):
        e = pre + f"experts.{j}."
        w[e + "gate_proj.weight"] = rnd(I, D, std=1 / D**0.5)
        w[e + "up_proj.weight"] = rnd(I, D, std=1 / D**0.5)
        w[e + "down_proj.weight"] = rnd(D, I, std=1 / I**0.5)
    S = cfg.shared_intermediate
    w[pre + "shared_expert.gate_proj.weight"] = rnd(S, D, std=1 / D**0.5)
    w[pre + "shared_expert.up_proj.weight"] = rnd(S, D, std=1 / D**0.5)
    w[pre + "shared_expert.down_proj.weight"] = rnd(D, S, std=1 / S**0.5)
    w[pre + "shared_expert_gate.weight"] = rnd(1, D, std=1 / D**0.5)
    return w


def make_weights_gemma3(cfg, rnd, D, I, V):
    """Gemma 3's tensors; norm weights are offsets from 1 (w in 1 + w)."""
    H, Hkv, hd = cfg.heads, cfg.kv_heads, cfg.head_dim
    w = {"model.embed_tokens.weight": rnd(V, D, std=0.5)}  # also the (tied) head: logits ~1-5
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"):
            w[p + n + ".weight"] = rnd(D, std=0.2)
        w[p + "self_attn.q_proj.weight"] = rnd(H * hd, D, std=1.2 / D**0.5)
        w[p + "self_attn.k_proj.weight"] = rnd(Hkv * hd, D, std=1.2 / D**0.5)
        w[p + "self_attn.v_proj.weight"] = rnd(Hkv * hd, D, std=1 / D**0.5)
        w[p + "self_attn.o_proj.weight"] = rnd(D, H * hd, std=1 / (H * hd) ** 0.5)
        if cfg.qk_norm:
            w[p + "self_attn.q_norm.weight"] = rnd(hd, std=0.3)
            w[p + "self_attn.k_norm.weight"] = rnd(hd, std=0.3)
        w[p + "mlp.gate_proj.weight"] = rnd(I, D, std=1 / D**0.5)
        w[p + "mlp.up_proj.weight"] = rnd(I, D, std=1 / D**0.5)
        w[p + "mlp.down_proj.weight"] = rnd(D, I, std=1 / I**0.5)
    w["model.norm.weight"] = rnd(D, std=0.2)
    return w


def make_weights_gpt2(cfg, rnd, D, I, V):
    """GPT-2's tensors as its checkpoints hold them: Conv1D weights [in, out],
    c_attn fused q | k | v."""
    w = {"transformer.wte.weight": rnd(V, D, std=0.5), "transformer.wpe.weight": rnd(cfg.positions, D, std=0.3)}
    for i in range(cfg.layers):
        p = f"transformer.h.{i}."
        for n in ("ln_1", "ln_2"):
            w[p + n + ".weight"] = 1 + rnd(D, std=0.2)
            w[p + n + ".bias"] = rnd(D, std=0.2)
        w[p + "attn.c_attn.weight"] = rnd(D, 3 * D, std=1.2 / D**0.5)
        w[p + "attn.c_attn.bias"] = rnd(3 * D, std=0.3)
        w[p + "attn.c_proj.weight"] = rnd(D, D, std=1 / D**0.5)
        w[p + "attn.c_proj.bias"] = rnd(D, std=0.3)
        w[p + "mlp.c_fc.weight"] = rnd(D, I, std=1 / D**0.5)
        w[p + "mlp.c_fc.bias"] = rnd(I, std=0.3)
        w[p + "mlp.c_proj.weight"] = rnd(I, D, std=1 / I**0.5)
        w[p + "mlp.c_proj.bias"] = rnd(D, std=0.3)
    w["transformer.ln_f.weight"] = 1 + rnd(D, std=0.2)
    w["transformer.ln_f.bias"] = rnd(D, std=0.2)
    return w


def make_ids(seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (SEQ,), generator=g).tolist()
    ids[3] = VOCAB - 1  # the last row of the embedding
    ids[7] = 0
    return ids


def maxdiff(a, b):
    return (a - b).abs().max().item()


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


class Case:
    def __init__(self, name, config, seed, stored="float32", modes=("weights",), shards=None, check=None, note=""):
        self.name, self.config, self.seed = name, config, seed
        self.stored, self.modes, self.shards, self.check, self.note = stored, modes, shards, check, note


def differs(name, feature, a, b, at_least=1e-2):
    d = maxdiff(a, b)
    print(f"    {feature}: max |Δlogit| {d:.4g}")
    assert d > at_least, f"{name}: {feature} does not change the logits (max diff {d})"


# Checks: each gets (case name, cfg, weights, ids, logits in weights mode).


def check_window(name, cfg, w, ids, lg):
    differs(name, "window vs no window", lg, ref.forward(cfg, w, ids, "weights", windows=[None] * cfg.layers))
    differs(name, "window W vs W+1 keys (off-by-one)", lg, ref.forward(cfg, w, ids, "weights", window_extra=1))


def check_qwen2_window_ignored(name, cfg, w, ids, lg):
    assert cfg.windows == [None] * cfg.layers
    sw = cfg.raw["sliding_window"]
    differs(name, "use_sliding_window=false vs a window on every layer", lg, ref.forward(cfg, w, ids, "weights", windows=[sw] * cfg.layers))


def check_qwen2_mixed(name, cfg, w, ids, lg):
    sw = cfg.raw["sliding_window"]
    print(f"    per-layer windows: {cfg.windows}")
    differs(name, "mixed vs every layer windowed", lg, ref.forward(cfg, w, ids, "weights", windows=[sw] * cfg.layers))
    differs(name, "mixed vs no layer windowed", lg, ref.forward(cfg, w, ids, "weights", windows=[None] * cfg.layers))


def unscaled(cfg):
    c = dict(cfg.raw)
    c["rope_scaling"] = None
    return ref.Config(c)


def check_rope_scaling(name, cfg, w, ids, lg):
    inv = ref.rope_inv_freq(cfg)
    base = ref.rope_inv_freq(unscaled(cfg))
    print(f"    inv_freq unscaled {base.tolist()}\n    inv_freq scaled   {inv.tolist()}")
    rs = cfg.rope_scaling
    if rs.get("rope_type", rs.get("type")) == "llama3":
        import math

        old = rs["original_max_position_embeddings"]
        wl = (2 * math.pi / base).tolist()
        kinds = ["kept" if x < old / rs["high_freq_factor"] else "divided" if x > old / rs["low_freq_factor"] else "smoothed" for x in wl]
        print(f"    llama3 branches per frequency: {kinds}")
    differs(name, "rope scaling vs none", lg, ref.forward(unscaled(cfg), w, ids, "weights"))


def check_tied(name, cfg, w, ids, lg):
    check_rope_scaling(name, cfg, w, ids, lg)
    assert "lm_head.weight" not in w


def check_qk_norm(name, cfg, w, ids, lg):
    """The q/k norms must matter: with unit gains and without them."""
    unit = dict(w)
    for n in w:
        if n.endswith("_norm.weight") and ".self_attn." in n:
            unit[n] = torch.ones_like(w[n])
    differs(name, "q/k norm gains vs unit gains", lg, ref.forward(cfg, unit, ids, "weights"))
    c = ref.Config(cfg.raw)
    c.qk_norm = False
    plain = {n: t for n, t in w.items() if not (n.endswith("_norm.weight") and ".self_attn." in n)}
    differs(name, "q/k norm vs none", lg, ref.forward(c, plain, ids, "weights"))


def check_gpt2(name, cfg, w, ids, lg):
    """Conv1D's orientation and c_attn's q | k | v order must matter."""
    flipped = dict(w)
    for n, t in w.items():
        if n.endswith(".mlp.c_proj.weight"):  # square transposes would pass unnoticed: use an [I, D] one
            flipped[n] = t.reshape(t.shape[1], t.shape[0]).t().contiguous().reshape(t.shape)
    differs(name, "c_proj rows reshuffled", lg, ref.forward(cfg, flipped, ids, "weights"))
    swapped = dict(w)
    D = cfg.hidden
    for n, t in w.items():
        if n.endswith(".attn.c_attn.weight"):
            swapped[n] = torch.cat([t[:, D : 2 * D], t[:, :D], t[:, 2 * D :]], dim=1)  # k | q | v
    differs(name, "c_attn split as k | q | v", lg, ref.forward(cfg, swapped, ids, "weights"))
    c = dict(cfg.raw)
    c["activation_function"] = "gelu"
    differs(name, "gelu_new vs exact gelu", lg, ref.forward(ref.Config(c), w, ids, "weights"), at_least=1e-4)


def check_phi3(name, cfg, w, ids, lg):
    check_window(name, cfg, w, ids, lg)
    swapped = dict(w)
    I = cfg.intermediate
    for n, t in w.items():
        if n.endswith(".mlp.gate_up_proj.weight"):
            swapped[n] = torch.cat([t[I:], t[:I]])
    differs(name, "gate_up_proj chunked up | gate", lg, ref.forward(cfg, swapped, ids, "weights"))


LONGROPE = dict(num_attention_heads=2, num_key_value_heads=1, partial_rotary_factor=0.75, sliding_window=None,
                rope_scaling={"type": "longrope", "long_factor": [1.0, 3.5, 11.0], "short_factor": [1.0, 1.3, 2.5]})


def check_longrope(name, cfg, w, ids, lg):
    c = dict(cfg.raw)
    c["rope_scaling"] = None
    differs(name, "longrope vs none", lg, ref.forward(ref.Config(c), w, ids, "weights"))
    c = dict(cfg.raw)
    c["partial_rotary_factor"] = 1.0
    c["rope_scaling"] = None
    differs(name, "partial rotary vs whole head (no scaling)", lg, ref.forward(ref.Config(c), w, ids, "weights"))
    rs = cfg.rope_scaling
    c = dict(cfg.raw)
    c["rope_scaling"] = dict(rs, long_factor=rs["short_factor"], short_factor=rs["long_factor"])
    differs(name, "long and short factors swapped", lg, ref.forward(ref.Config(c), w, ids, "weights"))
    print(f"    attention factor {ref.longrope(cfg, len(ids))[1]:.6f}")


def check_gemma3(name, cfg, w, ids, lg):
    print(f"    sliding layers {cfg.sliding}, windows {cfg.windows}")
    differs(name, "window vs none", lg, ref.forward(cfg, w, ids, "weights", windows=[None] * cfg.layers))
    c = dict(cfg.raw)
    c["rope_local_base_freq"] = c["rope_theta"]
    differs(name, "local rotary base vs the global one", lg, ref.forward(ref.Config(c), w, ids, "weights"))
    c = dict(cfg.raw)
    c["rope_scaling"] = None
    differs(name, "global rope scaling vs none", lg, ref.forward(ref.Config(c), w, ids, "weights"))
    c = dict(cfg.raw)
    c["query_pre_attn_scalar"] = c["head_dim"]
    differs(name, "query_pre_attn_scalar vs head_dim", lg, ref.forward(ref.Config(c), w, ids, "weights"))


def check_gemma2(name, cfg, w, ids, lg):
    print(f"    sliding layers {cfg.sliding}, windows {cfg.windows}")
    differs(name, "window vs none", lg, ref.forward(cfg, w, ids, "weights", windows=[None] * cfg.layers))
    for key in ("attn_logit_softcapping", "final_logit_softcapping"):
        c = dict(cfg.raw)
        c[key] = None
        differs(name, f"{key} vs none", lg, ref.forward(ref.Config(c), w, ids, "weights"))


# The least gap allowed between the k-th and (k+1)-th largest routing
# probability of any token in any sparse layer: float32 rounding in another
# implementation (~1e-7 relative) cannot then flip the choice of experts.
MIN_ROUTING_MARGIN = 1e-3

# The seed of the weights a check substitutes (check_qwen2moe's sparse
# layer 1); not a case's seed.
VARIANT_SEED = 1020


def check_routing_margin(name, cfg, w, ids):
    trace = []
    ref.forward(cfg, w, ids, "weights", trace=trace)
    layers = [i for i in range(cfg.layers) if cfg.sparse[i]]
    assert len(trace) == len(layers), f"{name}: {len(trace)} routings for sparse layers {layers}"
    k = cfg.top_k
    for i, probs in zip(layers, trace):
        top = probs.sort(dim=-1, descending=True).values
        gap = top[:, k - 1] - top[:, k]
        j = int(gap.argmin())
        print(f"    layer {i} routing: top-{k} margin min {gap.min().item():.4g} (token {j}), median {gap.median().item():.4g};"
              f" top-{k} weight sum min {top[:, :k].sum(-1).min().item():.3f}, max {top[:, :k].sum(-1).max().item():.3f}")
        assert gap.min().item() >= MIN_ROUTING_MARGIN, \
            f"{name}: layer {i} token {j}: top-{k} routing margin {gap.min().item():.3g} < {MIN_ROUTING_MARGIN}; change the case's seed"


def check_moe(name, cfg, w, ids, lg):
    """Routing margins; renormalising the top-k weights (or not) and top-k
    must matter."""
    check_routing_margin(name, cfg, w, ids)
    c = ref.Config(cfg.raw)
    c.norm_topk = not cfg.norm_topk
    what = "renormalised top-k weights vs raw" if cfg.norm_topk else "raw top-k weights vs renormalised"
    differs(name, what, lg, ref.forward(c, w, ids, "weights"))
    c = ref.Config(cfg.raw)
    c.top_k = cfg.top_k - 1
    differs(name, f"top-{cfg.top_k} vs top-{c.top_k}", lg, ref.forward(c, w, ids, "weights"))


def check_qwen2moe(name, cfg, w, ids, lg):
    """Also: the shared expert's gate, the shared expert itself, and the
    dense layer of mlp_only_layers must matter."""
    check_moe(name, cfg, w, ids, lg)
    c = ref.Config(cfg.raw)
    c.shared_gate = False
    ungated = {n: t for n, t in w.items() if not n.endswith(".shared_expert_gate.weight")}
    differs(name, "shared expert gated vs ungated (shared_expert_gate ignored)", lg, ref.forward(c, ungated, ids, "weights"))
    unshared = {n: (torch.zeros_like(t) if n.endswith(".shared_expert.down_proj.weight") else t) for n, t in w.items()}
    differs(name, "shared expert vs none", lg, ref.forward(cfg, unshared, ids, "weights"))
    dense = [i for i in range(cfg.layers) if not cfg.sparse[i]]
    assert dense == cfg.raw["mlp_only_layers"], f"{name}: dense layers {dense}"
    print(f"    sparse layers {cfg.sparse}")
    c = ref.Config(dict(cfg.raw, mlp_only_layers=[]))  # every layer sparse
    # Layer 1's sparse block from other random weights (same shapes and
    # scales), in place of its dense MLP.
    extra = make_weights(c, VARIANT_SEED)
    sparse = {n: t for n, t in w.items() if not any(n.startswith(f"model.layers.{i}.mlp.") for i in dense)}
    for i in dense:
        sparse.update({n: extra[n] for n in ref.moe_names(c, f"model.layers.{i}.")})
    differs(name, "mlp_only_layers [1] vs every layer sparse", lg, ref.forward(c, sparse, ids, "weights"))


CASES = [
    Case("llama-f32", llama_config(), 1, note="GQA 4 query / 2 key-value heads, untied lm_head, rope_theta 10000, head_dim from hidden/heads"),
    Case("llama-bf16", llama_config(torch_dtype="bfloat16"), 2, stored="bfloat16", modes=("weights", "bfloat16"),
         note="llama-f32's shapes, weights stored BF16"),
    Case("llama-tied-scaled",
         llama_config(tie_word_embeddings=True, head_dim=8, num_key_value_heads=1, attention_bias=True, mlp_bias=True,
                      rope_theta=500000.0, eos_token_id=[2, 5],
                      rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                    "original_max_position_embeddings": 16, "rope_type": "llama3"}),
         3, check=check_tied,
         note="tied embeddings, llama3 rope scaling, explicit head_dim 8 != 16/4, MQA (1 key-value head), attention_bias and mlp_bias, eos list"),
    Case("llama-sharded", llama_config(), 4,
         shards={"model-00001-of-00002.safetensors": lambda n: n.startswith("model.embed_tokens") or n.startswith("model.layers.0."),
                 "model-00002-of-00002.safetensors": None},
         note="weights in two shards with model.safetensors.index.json, no model.safetensors"),
    Case("mistral-f32", mistral_config(), 5, check=check_window,
         note="sliding_window 4 over 12 tokens (a query sees itself and the 3 keys before it)"),
    Case("qwen2-f32", qwen2_config(), 6, check=check_qwen2_window_ignored,
         note="q/k/v biases, untied, rope_theta 1e6; sliding_window 4 present but use_sliding_window false, so no window"),
    Case("qwen2-bf16", qwen2_config(torch_dtype="bfloat16", num_key_value_heads=4), 7, stored="bfloat16", modes=("weights", "bfloat16"),
         note="qwen2 with 4 key-value heads (plain multi-head attention), weights stored BF16"),
    Case("qwen2-window", qwen2_config(use_sliding_window=True, max_window_layers=0), 8, check=check_window,
         note="use_sliding_window true, sliding_window 4, max_window_layers 0: every layer windowed (layer i is windowed iff i >= max_window_layers)"),
    Case("qwen2-window-mixed", qwen2_config(use_sliding_window=True, max_window_layers=1, torch_dtype="bfloat16"), 9,
         stored="bfloat16", check=check_qwen2_mixed,
         note="use_sliding_window true, sliding_window 4, max_window_layers 1 of 2: layer 0 full attention, layer 1 windowed"),
    Case("llama-rope-linear", llama_config(num_key_value_heads=4, rope_scaling={"factor": 2.0, "type": "linear"}), 10,
         check=check_rope_scaling, note='rope_scaling {"type": "linear", "factor": 2.0} (old key spelling), 4 key-value heads'),
    Case("qwen3-f32", qwen3_config(), 11, check=check_qk_norm,
         note="Qwen3: per-head RMSNorm on q and k before RoPE, head_dim 8 != 16/4, GQA, tied embeddings, no biases"),
    Case("qwen3-bias-window", qwen3_config(attention_bias=True, tie_word_embeddings=False, use_sliding_window=True,
                                           sliding_window=4, max_window_layers=1, torch_dtype="bfloat16"),
         12, stored="bfloat16", modes=("weights", "bfloat16"), check=check_qk_norm,
         note="Qwen3 with attention_bias (q, k, v and o), untied head, layer 1 windowed (4), weights stored BF16"),
    Case("phi3-f32", phi3_config(), 13, check=check_phi3,
         note="Phi-3: fused qkv_proj (q | k | v, GQA 4/2) and gate_up_proj (gate | up), sliding_window 4 on every layer, partial_rotary_factor 1.0"),
    Case("phi3-longrope", phi3_config(**LONGROPE, original_max_position_embeddings=8), 15, check=check_longrope,
         note="Phi-3 longrope past the original context (8 < 12 tokens: long factors, attention factor sqrt(2)), partial_rotary_factor 0.75 (6 of 8 values rotated), 2 heads of 8, MQA"),
    Case("phi3-longrope-short", phi3_config(**LONGROPE, original_max_position_embeddings=16), 16, check=check_longrope,
         note="Phi-3 longrope within the original context (16 >= 12 tokens: short factors, attention factor sqrt(1.5)), partial_rotary_factor 0.75"),
    Case("gemma3-f32", gemma3_config(), 17, check=check_gemma3,
         note="Gemma 3 text: sqrt(hidden) embedding scale, (1+w) RMSNorm before and after attention and MLP, q/k norms, query_pre_attn_scalar 20, sliding layer 0 (window 4, rope_local_base_freq 1e4) and global layer 1 (rope_theta 1e6, linear scaling 2), GeGLU, tied head"),
    Case("gemma2-f32", gemma2_config(), 18, check=check_gemma2,
         note="Gemma 2: Gemma 3's block without q/k norms, attention scores capped at 2 and logits at 3 (c·tanh(x/c)), layer 0 sliding (4) and layer 1 global by Gemma2Config's default, one rotary base"),
    Case("gpt2-f32", gpt2_config(), 14, check=check_gpt2,
         note="GPT-2: learned positions, LayerNorm with bias, gelu_new, Conv1D weights [in, out], fused c_attn, biases everywhere, tied head"),
    # Seeds of the MoE cases: the first seed from 19 up, unused by another
    # case, whose routing passes check_routing_margin. mixtral-f32: 19 and 21
    # fail (least top-2 margins 6.5e-4 and 3.5e-4), 20 is qwen2moe-f32's, so 22.
    Case("mixtral-f32", mixtral_config(), 22, check=check_moe,
         note="Mixtral: Mistral attention (GQA 4/2, no window), every layer block_sparse_moe with 4 experts (w1, w3, w2 of 32), top-2, weights renormalised"),
    Case("qwen2moe-f32", qwen2moe_config(), 20, check=check_qwen2moe,
         note="Qwen2-MoE: Qwen2 attention (q/k/v biases, GQA 4/2, use_sliding_window false); layer 0 sparse (4 experts of 24, top-2, norm_topk_prob false, shared expert of 40 times sigmoid(shared_expert_gate)), layer 1 dense (mlp_only_layers [1], intermediate 32)"),
]


def build(case):
    d = os.path.join(HERE, case.name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    cfg = ref.Config(case.config)
    w32 = make_weights(cfg, case.seed)
    stored = {n: t.to(torch.bfloat16) for n, t in w32.items()} if case.stored == "bfloat16" else w32
    write_json(os.path.join(d, "config.json"), case.config)
    gen = {"_from_model_config": True, "bos_token_id": case.config["bos_token_id"], "eos_token_id": case.config["eos_token_id"],
           "transformers_version": TRANSFORMERS_VERSION}
    write_json(os.path.join(d, "generation_config.json"), gen)
    if case.shards is None:
        ref.write_safetensors(os.path.join(d, "model.safetensors"), stored)
    else:
        names = sorted(stored)
        files = list(case.shards)
        assign = {}
        for n in names:
            for f in files:
                pred = case.shards[f]
                if pred is None or pred(n):
                    assign[n] = f
                    break
        total = 0
        for f in files:
            total += ref.write_safetensors(os.path.join(d, f), {n: stored[n] for n in names if assign[n] == f})
        write_json(os.path.join(d, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": assign})

    # Run the reference on the files as written (what a loader sees).
    cfg, w = ref.load(d)
    for n, t in stored.items():
        assert torch.equal(w[n], t), f"{case.name}: {n} did not read back"
    ids = make_ids(100 + case.seed)
    out = {}
    for mode in case.modes:
        out[mode] = ref.forward(cfg, w, ids, mode)
    assert torch.equal(ref.forward(cfg, w, ids, "float32"), out["weights"]), "float32 and weights modes differ"
    lg = out["weights"]
    print(f"{case.name}: {case.note}")
    print(f"    logits: mean |x| {lg.abs().mean():.3f}, max |x| {lg.abs().max():.3f}; windows per layer {cfg.windows}")
    if "bfloat16" in out:
        b = out["bfloat16"]
        agree = (b.argmax(-1) == lg.argmax(-1)).sum().item()
        print(f"    bfloat16 vs weights: max |Δ| {maxdiff(b, lg):.4g}, mean |Δ| {(b - lg).abs().mean():.4g}, argmax agree {agree}/{len(ids)}")
    if case.check:
        case.check(case.name, cfg, w, ids, lg)
    body = ",\n".join(f'"{m}": {ref.logits_json(out[m])}' for m in case.modes)
    with open(os.path.join(d, "expected.json"), "w") as f:
        f.write('{\n"ids": %s,\n"modes": %s,\n"logits": {\n%s\n}\n}\n' % (json.dumps(ids), json.dumps(list(case.modes)), body))


def main():
    torch.set_num_threads(1)  # deterministic reductions
    only = set(sys.argv[1:])  # case names; none: every case
    unknown = only - {c.name for c in CASES}
    if unknown:
        sys.exit(f"unknown cases {sorted(unknown)}")
    for case in CASES:
        if not only or case.name in only:
            build(case)
    total = 0
    for root, _, files in os.walk(HERE):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"testdata/hf: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
