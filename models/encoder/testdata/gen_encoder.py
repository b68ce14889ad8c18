#!/usr/bin/env python3
"""Reference fixtures for models/encoder: tiny random BERT and AST checkpoints
in the Hugging Face layout, with the outputs of a forward pass written from
transformers' modeling_bert.py and modeling_audio_spectrogram_transformer.py
(transformers cannot be installed here; this follows their code step by step
in plain PyTorch, eager attention, evaluation mode):

BERT (BertEmbeddings, BertLayer, BertPooler, heads):
  * embeddings = word_embeddings[ids] + token_type_embeddings[0]
    + position_embeddings[arange(T)]; LayerNorm(eps=layer_norm_eps).
  * per layer (post-norm): q, k, v = Linear(x) (biases) split into heads;
    scores = q @ k^T / sqrt(head_dim) + extended mask ((1 - mask) *
    finfo(float32).min for padded keys); softmax; context;
    a = LayerNorm(attention.output.dense(context) + x);
    h = LayerNorm(output.dense(act(intermediate.dense(a))) + a),
    act = hidden_act ("gelu": the exact erf GELU).
  * BertPooler: tanh(dense(h[:, 0])).
  * BertForSequenceClassification: classifier(pooled).
  * BertForMaskedLM (no pooler): cls.predictions.transform: dense, act,
    LayerNorm; decoder = word_embeddings^T (tied) + cls.predictions.bias.
AST (ASTEmbeddings, ASTLayer = ViT pre-norm layer, ASTMLPHead):
  * input_values [B, max_length, num_mel_bins] -> unsqueeze(1) ->
    transpose(2, 3) -> Conv2d(1, D, kernel patch_size, stride
    (frequency_stride, time_stride)) -> flatten(2).transpose(1, 2);
    cat(cls_token, distillation_token, patches) + position_embeddings.
  * per layer: h = attention(layernorm_before(x)) + x;
    out = output.dense(act(intermediate.dense(layernorm_after(h)))) + h.
  * final layernorm; pooled = (h[:, 0] + h[:, 1]) / 2;
    logits = classifier.dense(classifier.layernorm(pooled)).

Usage: /usr/bin/python3 gen_encoder.py   (rewrites every case directory)
"""
import json, math, os, struct, sys
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().numpy().astype(np.float32))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def act(name, x):
    if name == "gelu":
        return torch.nn.functional.gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return torch.nn.functional.gelu(x, approximate="tanh")
    if name == "relu":
        return torch.relu(x)
    raise ValueError(name)


def attention(x, W, pre, names, heads, mask):
    B, T, D = x.shape
    hd = D // heads
    def proj(n):
        return x @ W[f"{pre}.{n}.weight"].T + W[f"{pre}.{n}.bias"]
    q, k, v = (proj(n).view(B, T, heads, hd).transpose(1, 2) for n in names[:3])
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if mask is not None:
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        s = s + ext
    p = torch.softmax(s, dim=-1)
    c = (p @ v).transpose(1, 2).reshape(B, T, D)
    return c @ W[f"{pre}.{names[3]}.weight"].T + W[f"{pre}.{names[3]}.bias"]


def ln(x, W, pre, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], W[pre + ".weight"], W[pre + ".bias"], eps)


def lin(x, W, pre, bias=True):
    y = x @ W[pre + ".weight"].T
    return y + W[pre + ".bias"] if bias else y


def bert_forward(cfg, W, base, ids, mask):
    eps, H = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    B, T = ids.shape
    p = (base + ".") if base else ""
    x = W[p + "embeddings.word_embeddings.weight"][ids]
    x = x + W[p + "embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    x = x + W[p + "embeddings.position_embeddings.weight"][torch.arange(T)][None]
    x = ln(x, W, p + "embeddings.LayerNorm", eps)
    for i in range(cfg["num_hidden_layers"]):
        l = f"{p}encoder.layer.{i}"
        a = attention(x, W, l + ".attention", ["self.query", "self.key", "self.value", "output.dense"], H, mask)
        x = ln(a + x, W, l + ".attention.output.LayerNorm", eps)
        h = act(cfg["hidden_act"], lin(x, W, l + ".intermediate.dense"))
        x = ln(lin(h, W, l + ".output.dense") + x, W, l + ".output.LayerNorm", eps)
    return x


def ast_forward(cfg, W, feats):
    eps, H, P = cfg["layer_norm_eps"], cfg["num_attention_heads"], cfg["patch_size"]
    p = "audio_spectrogram_transformer."
    x = feats.unsqueeze(1).transpose(2, 3)
    x = torch.nn.functional.conv2d(x, W[p + "embeddings.patch_embeddings.projection.weight"],
                                   W[p + "embeddings.patch_embeddings.projection.bias"],
                                   stride=(cfg["frequency_stride"], cfg["time_stride"]))
    x = x.flatten(2).transpose(1, 2)
    B = x.shape[0]
    cls = W[p + "embeddings.cls_token"].expand(B, -1, -1)
    dist = W[p + "embeddings.distillation_token"].expand(B, -1, -1)
    x = torch.cat([cls, dist, x], dim=1) + W[p + "embeddings.position_embeddings"]
    for i in range(cfg["num_hidden_layers"]):
        l = f"{p}encoder.layer.{i}"
        h = attention(ln(x, W, l + ".layernorm_before", eps), W, l + ".attention",
                      ["attention.query", "attention.key", "attention.value", "output.dense"], H, None) + x
        o = act(cfg["hidden_act"], lin(ln(h, W, l + ".layernorm_after", eps), W, l + ".intermediate.dense"))
        x = lin(o, W, l + ".output.dense") + h
    x = ln(x, W, p + "layernorm", eps)
    pooled = (x[:, 0] + x[:, 1]) / 2
    return x, lin(ln(pooled, W, "classifier.layernorm", eps), W, "classifier.dense")


def rand(g, *shape, std=0.3):
    return torch.randn(*shape, generator=g) * std


def lin_w(W, g, name, o, i):
    W[name + ".weight"] = rand(g, o, i, std=1 / math.sqrt(i))
    W[name + ".bias"] = rand(g, o, std=0.1)


def ln_w(W, g, name, d):
    W[name + ".weight"] = 1 + rand(g, d, std=0.1)
    W[name + ".bias"] = rand(g, d, std=0.1)


def bert_weights(cfg, g, base, pooler, seqcls, mlm):
    D, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    p = (base + ".") if base else ""
    W = {}
    lin, norm = (lambda *a: lin_w(W, g, *a)), (lambda *a: ln_w(W, g, *a))
    W[p + "embeddings.word_embeddings.weight"] = rand(g, V, D, std=1.0)
    W[p + "embeddings.position_embeddings.weight"] = rand(g, cfg["max_position_embeddings"], D, std=0.5)
    W[p + "embeddings.token_type_embeddings.weight"] = rand(g, cfg["type_vocab_size"], D, std=0.5)
    norm(p + "embeddings.LayerNorm", D)
    for i in range(cfg["num_hidden_layers"]):
        l = f"{p}encoder.layer.{i}"
        for n in ("query", "key", "value"):
            lin(f"{l}.attention.self.{n}", D, D)
        lin(l + ".attention.output.dense", D, D)
        norm(l + ".attention.output.LayerNorm", D)
        lin(l + ".intermediate.dense", F, D)
        lin(l + ".output.dense", D, F)
        norm(l + ".output.LayerNorm", D)
    if pooler:
        lin(p + "pooler.dense", D, D)
    if seqcls:
        lin("classifier", len(cfg["id2label"]), D)
    if mlm:
        lin("cls.predictions.transform.dense", D, D)
        norm("cls.predictions.transform.LayerNorm", D)
        W["cls.predictions.bias"] = rand(g, V, std=0.1)
    return W


def ast_weights(cfg, g, n_patches):
    D, F, Pz = cfg["hidden_size"], cfg["intermediate_size"], cfg["patch_size"]
    p = "audio_spectrogram_transformer."
    W = {}
    lin, norm = (lambda *a: lin_w(W, g, *a)), (lambda *a: ln_w(W, g, *a))
    W[p + "embeddings.cls_token"] = rand(g, 1, 1, D, std=0.5)
    W[p + "embeddings.distillation_token"] = rand(g, 1, 1, D, std=0.5)
    W[p + "embeddings.position_embeddings"] = rand(g, 1, n_patches + 2, D, std=0.5)
    W[p + "embeddings.patch_embeddings.projection.weight"] = rand(g, D, 1, Pz, Pz, std=1 / Pz)
    W[p + "embeddings.patch_embeddings.projection.bias"] = rand(g, D, std=0.1)
    for i in range(cfg["num_hidden_layers"]):
        l = f"{p}encoder.layer.{i}"
        for n in ("query", "key", "value"):
            lin(f"{l}.attention.attention.{n}", D, D)
        lin(l + ".attention.output.dense", D, D)
        norm(l + ".layernorm_before", D)
        norm(l + ".layernorm_after", D)
        lin(l + ".intermediate.dense", F, D)
        lin(l + ".output.dense", D, F)
    norm(p + "layernorm", D)
    norm("classifier.layernorm", D)
    lin("classifier.dense", len(cfg["id2label"]), D)
    return W


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def rows(t):
    return [[float(f"{v:.7g}") for v in r] for r in t.reshape(-1, t.shape[-1]).tolist()]


def bert_case(name, arch, seed):
    g = torch.Generator().manual_seed(seed)
    cfg = {"architectures": [arch], "model_type": "bert", "vocab_size": 50, "hidden_size": 32,
           "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 16,
           "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
           "position_embedding_type": "absolute", "classifier_dropout": None, "torch_dtype": "float32",
           "transformers_version": "4.46.0", "use_cache": True}
    seqcls, mlm = arch == "BertForSequenceClassification", arch == "BertForMaskedLM"
    if seqcls:
        cfg["id2label"] = {"0": "ham", "1": "spam", "2": "other"}
        cfg["label2id"] = {"ham": 0, "spam": 1, "other": 2}
    base = "" if arch == "BertModel" else "bert"
    W = bert_weights(cfg, g, base, pooler=not mlm, seqcls=seqcls, mlm=mlm)
    ids = torch.randint(1, cfg["vocab_size"], (2, 9), generator=g)
    lengths = [9, 6]
    ids[1, 6:] = 0
    mask = torch.tensor([[1] * l + [0] * (9 - l) for l in lengths])
    with torch.no_grad():
        h = bert_forward(cfg, W, base, ids, mask)
        p = (base + ".") if base else ""
        out = {"ids": ids.tolist(), "lengths": lengths, "hidden": rows(h)}
        if not mlm:
            pooled = torch.tanh(lin(h[:, 0], W, p + "pooler.dense"))
            out["pooled"] = rows(pooled)
        if seqcls:
            out["logits"] = rows(lin(pooled, W, "classifier"))
        if mlm:
            t = ln(act(cfg["hidden_act"], lin(h, W, "cls.predictions.transform.dense")), W,
                   "cls.predictions.transform.LayerNorm", cfg["layer_norm_eps"])
            out["logits"] = rows(t @ W[p + "embeddings.word_embeddings.weight"].T + W["cls.predictions.bias"])
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), W)
    dump(os.path.join(d, "expected.json"), out)


def ast_case(name, seed):
    g = torch.Generator().manual_seed(seed)
    cfg = {"architectures": ["ASTForAudioClassification"], "model_type": "audio-spectrogram-transformer",
           "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
           "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
           "initializer_range": 0.02, "layer_norm_eps": 1e-12, "patch_size": 16, "qkv_bias": True,
           "frequency_stride": 10, "time_stride": 10, "max_length": 40, "num_mel_bins": 32,
           "id2label": {"0": "yes", "1": "no"}, "label2id": {"yes": 0, "no": 1}, "torch_dtype": "float32",
           "transformers_version": "4.46.0"}
    fo = (cfg["num_mel_bins"] - cfg["patch_size"]) // cfg["frequency_stride"] + 1
    to = (cfg["max_length"] - cfg["patch_size"]) // cfg["time_stride"] + 1
    W = ast_weights(cfg, g, fo * to)
    feats = torch.randn(2, cfg["max_length"], cfg["num_mel_bins"], generator=g)
    with torch.no_grad():
        h, logits = ast_forward(cfg, W, feats)
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), W)
    dump(os.path.join(d, "expected.json"), {"features": rows(feats), "hidden": rows(h), "logits": rows(logits)})


if __name__ == "__main__":
    torch.manual_seed(0)
    bert_case("bert-base", "BertModel", 1)
    bert_case("bert-seqcls", "BertForSequenceClassification", 2)
    bert_case("bert-mlm", "BertForMaskedLM", 3)
    ast_case("ast", 4)
