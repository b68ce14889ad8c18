"""PyTorch reference pieces shared by the fixture generators in this folder
(gen_parity.py, gen_hograd.py): the Hugging Face rotary tables, attention
with grouped-query heads, causal and sliding-window masks, RMSNorm, and a
safetensors writer (the safetensors package is not in Debian)."""
import json, os, struct
import torch


class Writer:
    """Collects named tensors and writes them as one safetensors file, name,
    in this folder."""

    def __init__(self, name):
        self.path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
        self.tensors = {}  # name -> (dtype, shape, bytes)

    def put(self, name, t):
        t = t.detach().contiguous()
        dt = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64",
              torch.int16: "I16"}.get(t.dtype)  # int16: raw 16-bit patterns
        if dt is None:
            raise ValueError(t.dtype)
        self.tensors[name] = (dt, list(t.shape), t.numpy().tobytes())

    def write(self, generator):
        path = self.path
        header = {"__metadata__": {"generator": generator, "torch": torch.__version__}}
        offset = 0
        for name, (dt, shape, data) in self.tensors.items():
            header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(data)]}
            offset += len(data)
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * ((8 - (8 + len(h)) % 8) % 8)
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(struct.pack("<Q", len(h)))
            fh.write(h)
            for name, (dt, shape, data) in self.tensors.items():
                fh.write(data)
        os.replace(tmp, path)
        print(f"wrote {path}: {len(self.tensors)} tensors, {os.path.getsize(path)} bytes")


def rope_tables(positions, dim, base):
    # transformers' LlamaRotaryEmbedding, step by step in float32
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    pos = torch.tensor(positions, dtype=torch.int64)[None, :].float()
    freqs = (inv_freq[None, :, None].float() @ pos[:, None, :]).transpose(1, 2)[0]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def attention(q, k, v, mask, causal, scale, window=0):
    """softmax(q·kᵀ·scale + mask)·v with k, v heads repeated for grouped-query
    attention; causal hides keys after each query (queries aligned to the last
    T keys) and window > 0 also those window or more positions before it."""
    H, Hkv = q.shape[1], k.shape[1]
    k = k.repeat_interleave(H // Hkv, dim=1)
    v = v.repeat_interleave(H // Hkv, dim=1)
    s = q @ k.transpose(-1, -2) * scale
    if mask is not None:
        s = s + mask
    if causal:
        T, S = q.shape[2], k.shape[2]
        hide = torch.ones(T, S, dtype=torch.bool).triu(S - T + 1)
        if window > 0:
            hide |= torch.ones(T, S, dtype=torch.bool).tril(S - T - window)
        s = s.masked_fill(hide, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
