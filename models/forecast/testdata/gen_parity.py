#!/usr/bin/python3
"""Generates models/forecast/testdata/parity.safetensors: PyTorch reference
outputs of iTransformer and DLinear for loom's parity test (parity_test.go).

The modules below are written from thuml/iTransformer (model/iTransformer.py,
layers/Embed.py DataEmbedding_inverted, layers/Transformer_EncDec.py
EncoderLayer/Encoder, layers/SelfAttention_Family.py FullAttention and
AttentionLayer) and Time-Series-Library models/DLinear.py, in eval mode.
Parameter names are the official state_dict names; kernel-1 Conv1d weights
[out, in, 1] are stored squeezed to [out, in] as loom keeps them.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 models/forecast/testdata/gen_parity.py
"""
import json, math, os, struct
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(77)
L, S, N, FT, D, DFF, H, E = 24, 8, 5, 4, 16, 32, 4, 2


class FullAttention(nn.Module):
    def forward(self, q, k, v):
        B, Lq, Hh, Ee = q.shape
        scale = 1.0 / math.sqrt(Ee)
        scores = torch.einsum("blhe,bshe->bhls", q, k)
        A = torch.softmax(scale * scores, dim=-1)
        return torch.einsum("bhls,bshd->blhd", A, v).contiguous()


class AttentionLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner_attention = FullAttention()
        self.query_projection = nn.Linear(D, D)
        self.key_projection = nn.Linear(D, D)
        self.value_projection = nn.Linear(D, D)
        self.out_projection = nn.Linear(D, D)

    def forward(self, x):
        B, Lx, _ = x.shape
        q = self.query_projection(x).view(B, Lx, H, -1)
        k = self.key_projection(x).view(B, Lx, H, -1)
        v = self.value_projection(x).view(B, Lx, H, -1)
        return self.out_projection(self.inner_attention(q, k, v).view(B, Lx, -1))


class EncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = AttentionLayer()
        self.conv1 = nn.Conv1d(D, DFF, 1)
        self.conv2 = nn.Conv1d(DFF, D, 1)
        self.norm1 = nn.LayerNorm(D)
        self.norm2 = nn.LayerNorm(D)

    def forward(self, x):
        x = x + self.attention(x)
        y = x = self.norm1(x)
        y = F.gelu(self.conv1(y.transpose(-1, 1)))
        y = self.conv2(y).transpose(-1, 1)
        return self.norm2(x + y)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_layers = nn.ModuleList([EncoderLayer() for _ in range(E)])
        self.norm = nn.LayerNorm(D)

    def forward(self, x):
        for l in self.attn_layers:
            x = l(x)
        return self.norm(x)


class Embedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.value_embedding = nn.Linear(L, D)

    def forward(self, x, mark):
        x = x.permute(0, 2, 1)
        return self.value_embedding(torch.cat([x, mark.permute(0, 2, 1)], 1))


class ITransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_embedding = Embedding()
        self.encoder = Encoder()
        self.projector = nn.Linear(D, S)

    def forward(self, x, mark):
        means = x.mean(1, keepdim=True).detach()
        x = x - means
        stdev = torch.sqrt(torch.var(x, dim=1, keepdim=True, unbiased=False) + 1e-5)
        x = x / stdev
        n = x.shape[2]
        out = self.projector(self.encoder(self.enc_embedding(x, mark))).permute(0, 2, 1)[:, :, :n]
        return out * stdev[:, 0, :].unsqueeze(1).repeat(1, S, 1) + means[:, 0, :].unsqueeze(1).repeat(1, S, 1)


class MovingAvg(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k
        self.avg = nn.AvgPool1d(kernel_size=k, stride=1, padding=0)

    def forward(self, x):
        front = x[:, 0:1, :].repeat(1, (self.k - 1) // 2, 1)
        end = x[:, -1:, :].repeat(1, (self.k - 1) // 2, 1)
        x = torch.cat([front, x, end], dim=1)
        return self.avg(x.permute(0, 2, 1)).permute(0, 2, 1)


class DLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.decomp = MovingAvg(25)
        self.Linear_Seasonal = nn.Linear(L, S)
        self.Linear_Trend = nn.Linear(L, S)
        # Perturb the 1/L init so the test sees both weights.
        with torch.no_grad():
            self.Linear_Seasonal.weight.copy_(1.0 / L + 0.01 * torch.randn(S, L))
            self.Linear_Trend.weight.copy_(1.0 / L + 0.01 * torch.randn(S, L))

    def forward(self, x):
        trend = self.decomp(x)
        seasonal = x - trend
        s = self.Linear_Seasonal(seasonal.permute(0, 2, 1))
        t = self.Linear_Trend(trend.permute(0, 2, 1))
        return (s + t).permute(0, 2, 1)


tensors = {}


def put(name, t):
    t = t.detach().contiguous().float()
    tensors[name] = ("F32", list(t.shape), t.numpy().tobytes())


x = torch.randn(3, L, N) * 2 + 5
mark = torch.rand(3, L, FT) - 0.5
it = ITransformer().eval()
for k, v in it.state_dict().items():
    if k.endswith("conv1.weight") or k.endswith("conv2.weight"):
        v = v.squeeze(-1)
    put("itransformer." + k, v)
put("x", x)
put("mark", mark)
with torch.no_grad():
    put("itransformer.out", it(x, mark))
dl = DLinear().eval()
for k, v in dl.state_dict().items():
    put("dlinear." + k, v)
with torch.no_grad():
    put("dlinear.out", dl(x))

header, blobs, off = {}, [], 0
for name in sorted(tensors):
    dt, shape, raw = tensors[name]
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity.safetensors")
with open(out, "wb") as fh:
    fh.write(struct.pack("<Q", len(h)))
    fh.write(h)
    for b in blobs:
        fh.write(b)
print("wrote", out, len(tensors), "tensors")
