#!/usr/bin/python3
"""Generates models/forecast/testdata/parity.safetensors: PyTorch reference
outputs of loom's forecasters and their task heads for loom's parity test
(parity_test.go).

The modules below are written from thuml/iTransformer (model/iTransformer.py,
layers/Embed.py DataEmbedding_inverted, layers/Transformer_EncDec.py
EncoderLayer/Encoder, layers/SelfAttention_Family.py FullAttention and
AttentionLayer) and thuml/Time-Series-Library (models/PatchTST.py,
models/Transformer.py, models/iTransformer.py, models/DLinear.py,
layers/Embed.py PatchEmbedding/PositionalEmbedding/TimeFeatureEmbedding,
layers/Autoformer_EncDec.py moving_avg), in eval mode (dropout off,
BatchNorm on its running statistics), activation gelu (run.py's default).
Cases, each stored under its own prefix:

    itransformer, dlinear        forecasting (pred_len S)
    patchtst                     forecasting: TSLib's forecast()
    patchtst_long                the same with patch_len 26 > seq_len (one patch)
    transformer_rec              TSLib Transformer imputation(): per-token
                                 projection Linear(d_model, c_out), time marks
    itransformer_rec, patchtst_rec, dlinear_rec
                                 TSLib anomaly_detection() (pred_len = seq_len)
    transformer_cls, itransformer_cls, dlinear_cls, patchtst_cls
                                 TSLib classification() on x_cls with the
                                 padding mask (x_mark_enc of classification)
    transformer_conv*            the Transformer with TSLib's TokenEmbedding
                                 (loom's TokenConv): forecasting (loom's
                                 encoder-only head; _norm with UseNorm),
                                 _rec imputation() on x_imp with time marks,
                                 _ad anomaly_detection(), _cls classification()
    patchtst_imp                 TSLib PatchTST imputation() on x_imp and
                                 mask_imp (~30 % missing, zero-filled)

TSLib's Transformer forecasts with an encoder-decoder; loom's is
encoder-only, so the Transformer's forecasting reference follows loom's
structure (see class Transformer).

Parameter and buffer names are the official state_dict names, except where
RENAME maps them to loom's; kernel-1 Conv1d weights [out, in, 1] are stored
squeezed to [out, in] as loom keeps them; the fixed sinusoidal tables
(PositionalEmbedding.pe) and BatchNorm's num_batches_tracked are left out
(loom computes the former and has no use for the latter).

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 models/forecast/testdata/gen_parity.py
"""
import json, math, os, struct
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(77)
L, S, N, FT, D, DFF, H, E = 24, 8, 5, 4, 16, 32, 4, 2
PL, ST, C = 8, 4, 3  # PatchTST's patch_len and stride; classes


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
    def __init__(self, norm_layer=None):
        super().__init__()
        self.attn_layers = nn.ModuleList([EncoderLayer() for _ in range(E)])
        self.norm = norm_layer if norm_layer is not None else nn.LayerNorm(D)

    def forward(self, x):
        for l in self.attn_layers:
            x = l(x)
        return self.norm(x)


class Embedding(nn.Module):  # DataEmbedding_inverted
    def __init__(self):
        super().__init__()
        self.value_embedding = nn.Linear(L, D)

    def forward(self, x, mark):
        x = x.permute(0, 2, 1)
        if mark is None:
            return self.value_embedding(x)
        return self.value_embedding(torch.cat([x, mark.permute(0, 2, 1)], 1))


def normalise(x):
    """Normalization from Non-stationary Transformer, as the models write it."""
    means = x.mean(1, keepdim=True).detach()
    x = x - means
    stdev = torch.sqrt(torch.var(x, dim=1, keepdim=True, unbiased=False) + 1e-5)
    return x / stdev, means, stdev


def masked_normalise(x_enc, mask):
    """TSLib's imputation() normalisation (models/PatchTST.py, the same in
    models/TimesNet.py), verbatim: x_enc is zero where mask == 0."""
    means = torch.sum(x_enc, dim=1) / torch.sum(mask == 1, dim=1)
    means = means.unsqueeze(1).detach()
    x_enc = x_enc - means
    x_enc = x_enc.masked_fill(mask == 0, 0)
    stdev = torch.sqrt(torch.sum(x_enc * x_enc, dim=1) /
                       torch.sum(mask == 1, dim=1) + 1e-5)
    stdev = stdev.unsqueeze(1).detach()
    x_enc /= stdev
    return x_enc, means, stdev


def denormalise(out, means, stdev):
    T = out.shape[1]
    return out * stdev[:, 0, :].unsqueeze(1).repeat(1, T, 1) + means[:, 0, :].unsqueeze(1).repeat(1, T, 1)


class ITransformer(nn.Module):
    """task "forecast": thuml/iTransformer (head `projector`); "anomaly" and
    "classification": Time-Series-Library's iTransformer (head `projection`)."""

    def __init__(self, task="forecast"):
        super().__init__()
        self.task = task
        self.enc_embedding = Embedding()
        self.encoder = Encoder()
        if task == "forecast":
            self.projector = nn.Linear(D, S)
        elif task == "anomaly":
            self.projection = nn.Linear(D, L)
        else:
            self.act = F.gelu
            self.dropout = nn.Dropout(0.1)
            self.projection = nn.Linear(D * N, C)

    def forward(self, x, mark):
        if self.task == "classification":
            out = self.act(self.encoder(self.enc_embedding(x, None)))
            out = self.dropout(out)
            return self.projection(out.reshape(out.shape[0], -1))
        x, means, stdev = normalise(x)
        n = x.shape[2]
        head = self.projector if self.task == "forecast" else self.projection
        out = head(self.encoder(self.enc_embedding(x, mark))).permute(0, 2, 1)[:, :, :n]
        return denormalise(out, means, stdev)


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
    """pred = S forecasting, L for anomaly detection and classification
    (TSLib sets pred_len = seq_len for them); classes: the classification
    projection Linear(enc_in * seq_len, num_class)."""

    def __init__(self, pred=S, classes=None):
        super().__init__()
        self.decomp = MovingAvg(25)
        self.Linear_Seasonal = nn.Linear(L, pred)
        self.Linear_Trend = nn.Linear(L, pred)
        # Perturb the 1/L init so the test sees both weights.
        with torch.no_grad():
            self.Linear_Seasonal.weight.copy_(1.0 / L + 0.01 * torch.randn(pred, L))
            self.Linear_Trend.weight.copy_(1.0 / L + 0.01 * torch.randn(pred, L))
        if classes:
            self.projection = nn.Linear(N * L, classes)

    def encoder(self, x):
        trend = self.decomp(x)
        seasonal = x - trend
        s = self.Linear_Seasonal(seasonal.permute(0, 2, 1))
        t = self.Linear_Trend(trend.permute(0, 2, 1))
        return (s + t).permute(0, 2, 1)

    def forward(self, x):
        out = self.encoder(x)
        if hasattr(self, "projection"):
            return self.projection(out.reshape(out.shape[0], -1))
        return out


class PositionalEmbedding(nn.Module):
    def __init__(self, d_model, max_len=5000):
        super().__init__()
        pe = torch.zeros(max_len, d_model).float()
        position = torch.arange(0, max_len).float().unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x):
        return self.pe[:, :x.size(1)]


class TimeFeatureEmbedding(nn.Module):  # embed='timeF'
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(FT, D, bias=False)

    def forward(self, x):
        return self.embed(x)


class TokenEmbedding(nn.Module):
    """TSLib's TokenEmbedding (layers/Embed.py), verbatim: Conv1d(c_in,
    d_model, 3) across neighbouring steps, circular padding, no bias. Its
    padding test compares torch.__version__ as a TorchVersion (a version
    comparison, true on 1.13), so padding is 1 and the output keeps L steps."""

    def __init__(self, c_in, d_model):
        super().__init__()
        padding = 1 if torch.__version__ >= '1.5.0' else 2
        self.tokenConv = nn.Conv1d(in_channels=c_in, out_channels=d_model,
                                   kernel_size=3, padding=padding, padding_mode='circular', bias=False)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='leaky_relu')

    def forward(self, x):
        return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)


class DataEmbedding(nn.Module):
    """TSLib's DataEmbedding. token_conv: its value embedding, TokenEmbedding
    (loom's Config.TokenConv). Without it, loom's default Transformer
    embedding: each step on its own by Linear(N → D) with bias
    (transformer.go), where TSLib always uses TokenEmbedding; those cases
    check loom's layer arithmetic and head wiring, not that embedding."""

    def __init__(self, token_conv=False):
        super().__init__()
        if token_conv:
            self.value_embedding = TokenEmbedding(N, D)
        else:
            self.value_embedding = nn.Linear(N, D)  # loom's default, see above
        self.position_embedding = PositionalEmbedding(D)
        self.temporal_embedding = TimeFeatureEmbedding()

    def forward(self, x, x_mark):
        if x_mark is None:
            return self.value_embedding(x) + self.position_embedding(x)
        return self.value_embedding(x) + self.temporal_embedding(x_mark) + self.position_embedding(x)


class Transformer(nn.Module):
    """TSLib's Transformer encoder (the tasks below build no decoder); task
    "imputation" (projection Linear(d_model, c_out) per token; TSLib's
    anomaly_detection() is the same module called without time marks),
    "classification", or "forecast". TSLib's forecast() runs an
    encoder-decoder (dec_embedding, decoder over label_len + pred_len
    steps); loom's Transformer is encoder-only with a flatten head
    Linear(L·D → S·N) (transformer.go), so "forecast" is loom's documented
    structure on TSLib's encoder and embedding, not TSLib's forecast().
    use_norm: loom's UseNorm (iTransformer's normalisation, which TSLib's
    Transformer does not have), only with "forecast"."""

    def __init__(self, task, token_conv=False, use_norm=False):
        super().__init__()
        self.task = task
        self.use_norm = use_norm
        self.enc_embedding = DataEmbedding(token_conv)
        self.encoder = Encoder()
        if task == "imputation":
            self.projection = nn.Linear(D, N, bias=True)
        elif task == "forecast":
            self.projection = nn.Linear(L * D, S * N)  # loom's head, see above
        else:
            self.act = F.gelu
            self.dropout = nn.Dropout(0.1)
            self.projection = nn.Linear(D * L, C)

    def forward(self, x, x_mark):
        if self.task == "imputation":
            return self.projection(self.encoder(self.enc_embedding(x, x_mark)))
        if self.task == "forecast":
            if self.use_norm:
                x, means, stdev = normalise(x)
            h = self.encoder(self.enc_embedding(x, x_mark))
            out = self.projection(h.reshape(h.shape[0], -1)).reshape(h.shape[0], S, N)
            return denormalise(out, means, stdev) if self.use_norm else out
        out = self.dropout(self.act(self.encoder(self.enc_embedding(x, None))))
        out = out * x_mark.unsqueeze(-1)  # zero-out padding embeddings
        return self.projection(out.reshape(out.shape[0], -1))


class Transpose(nn.Module):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.transpose(*self.dims)


class PatchEmbedding(nn.Module):
    def __init__(self, patch_len, stride, padding):
        super().__init__()
        self.patch_len = patch_len
        self.stride = stride
        self.padding_patch_layer = nn.ReplicationPad1d((0, padding))
        self.value_embedding = nn.Linear(patch_len, D, bias=False)
        self.position_embedding = PositionalEmbedding(D)

    def forward(self, x):
        n_vars = x.shape[1]
        x = self.padding_patch_layer(x)
        x = x.unfold(dimension=-1, size=self.patch_len, step=self.stride)
        x = torch.reshape(x, (x.shape[0] * x.shape[1], x.shape[2], x.shape[3]))
        return self.value_embedding(x) + self.position_embedding(x), n_vars


class FlattenHead(nn.Module):
    def __init__(self, nf, target_window):
        super().__init__()
        self.flatten = nn.Flatten(start_dim=-2)
        self.linear = nn.Linear(nf, target_window)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        return self.dropout(self.linear(self.flatten(x)))


class PatchTST(nn.Module):
    """TSLib's PatchTST: task "forecast" (head to pred_len), "anomaly" (head
    to seq_len), "imputation" (head to seq_len, normalised by the observed
    entries' statistics) or "classification"."""

    def __init__(self, task, patch_len=PL, stride=ST):
        super().__init__()
        self.task = task
        self.patch_embedding = PatchEmbedding(patch_len, stride, stride)
        self.encoder = Encoder(nn.Sequential(Transpose(1, 2), nn.BatchNorm1d(D), Transpose(1, 2)))
        self.head_nf = D * int((L - patch_len) / stride + 2)
        if task == "forecast":
            self.head = FlattenHead(self.head_nf, S)
        elif task in ("anomaly", "imputation"):
            self.head = FlattenHead(self.head_nf, L)
        else:
            self.flatten = nn.Flatten(start_dim=-2)
            self.dropout = nn.Dropout(0.1)
            self.projection = nn.Linear(self.head_nf * N, C)

    def forward(self, x_enc, mask=None):
        if self.task == "imputation":
            x_enc, means, stdev = masked_normalise(x_enc, mask)
        else:
            x_enc, means, stdev = normalise(x_enc)
        x_enc = x_enc.permute(0, 2, 1)
        enc_out, n_vars = self.patch_embedding(x_enc)
        enc_out = self.encoder(enc_out)
        enc_out = torch.reshape(enc_out, (-1, n_vars, enc_out.shape[-2], enc_out.shape[-1]))
        enc_out = enc_out.permute(0, 1, 3, 2)  # [bs x nvars x d_model x patch_num]
        if self.task == "classification":
            output = self.dropout(self.flatten(enc_out))
            return self.projection(output.reshape(output.shape[0], -1))
        dec_out = self.head(enc_out).permute(0, 2, 1)
        return denormalise(dec_out, means, stdev)


def perturb_norms(m):
    """Random affine norms and BatchNorm running statistics (positive
    variance), so the test sees every one of them."""
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (nn.LayerNorm, nn.BatchNorm1d)):
                mod.weight.copy_(1 + 0.2 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.2 * torch.randn_like(mod.bias))
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.copy_(0.5 * torch.randn_like(mod.running_mean))
                mod.running_var.copy_(0.5 + torch.rand_like(mod.running_var))
    return m


tensors = {}


def put(name, t):
    t = t.detach().contiguous().float()
    tensors[name] = ("F32", list(t.shape), t.numpy().tobytes())


def save(prefix, m, rename=None):
    """Stores m's state_dict under prefix, named as loom names them."""
    for k, v in m.state_dict().items():
        if k.endswith("position_embedding.pe") or k.endswith("num_batches_tracked"):
            continue
        if k.endswith("conv1.weight") or k.endswith("conv2.weight"):
            v = v.squeeze(-1)
        for a, b in (rename or {}).items():
            if k.startswith(a):
                k = b + k[len(a):]
        put(prefix + "." + k, v)


x = torch.randn(3, L, N) * 2 + 5
mark = torch.rand(3, L, FT) - 0.5
it = ITransformer().eval()
save("itransformer", it)
put("x", x)
put("mark", mark)
with torch.no_grad():
    put("itransformer.out", it(x, mark))
dl = DLinear().eval()
save("dlinear", dl)
with torch.no_grad():
    put("dlinear.out", dl(x))

# Classification inputs: series of 24, 19 and 14 steps zero-padded to L, as
# TSLib's UEA collate_fn pads them, with the padding mask (1: observed).
mask = torch.ones(3, L)
mask[1, 19:] = 0
mask[2, 14:] = 0
x_cls = x * mask.unsqueeze(-1)
put("x_cls", x_cls)
put("mask", mask)

cases = [
    ("patchtst", perturb_norms(PatchTST("forecast")), lambda m: m(x), {}),
    ("patchtst_rec", perturb_norms(PatchTST("anomaly")), lambda m: m(x), {}),
    ("patchtst_cls", perturb_norms(PatchTST("classification")), lambda m: m(x_cls), {}),
    # A patch longer than the window (26 > L, allowed up to L + stride):
    # one patch of the padded 28 steps, head_nf = d_model * int(-0.5 + 2).
    ("patchtst_long", perturb_norms(PatchTST("forecast", patch_len=26)), lambda m: m(x), {}),
    # TSLib's TimeFeatureEmbedding holds its Linear as .embed; loom's
    # Transformer names that Linear enc_embedding.temporal_embedding.
    ("transformer_rec", perturb_norms(Transformer("imputation")), lambda m: m(x, mark),
     {"enc_embedding.temporal_embedding.embed.": "enc_embedding.temporal_embedding."}),
    ("transformer_cls", perturb_norms(Transformer("classification")), lambda m: m(x_cls, mask),
     {"enc_embedding.temporal_embedding.embed.": "enc_embedding.temporal_embedding."}),
    # TSLib's iTransformer calls the head projection; loom keeps the
    # official thuml/iTransformer name projector.
    ("itransformer_rec", perturb_norms(ITransformer("anomaly")), lambda m: m(x, None), {"projection.": "projector."}),
    ("itransformer_cls", perturb_norms(ITransformer("classification")), lambda m: m(x_cls, None), {}),
    ("dlinear_rec", DLinear(pred=L), lambda m: m(x), {}),
    ("dlinear_cls", DLinear(pred=L, classes=C), lambda m: m(x_cls), {}),
]
for prefix, m, run, rename in cases:
    m.eval()
    save(prefix, m, rename)
    with torch.no_grad():
        put(prefix + ".out", run(m))

# Cases added after the ones above (drawn after them, so those stay as
# they were): the Transformer with TSLib's TokenEmbedding (loom's
# Config.TokenConv), and PatchTST's imputation() on x_imp, x with about 30 %
# of its entries missing (mask_imp 0) and zeroed, as TSLib's
# exp_imputation masks its inputs (masked_fill(mask == 0, 0)).
mask_imp = (torch.rand(3, L, N) > 0.3).float()
assert (mask_imp.sum(1) > 0).all()
x_imp = x.masked_fill(mask_imp == 0, 0)
put("x_imp", x_imp)
put("mask_imp", mask_imp)
TM = {"enc_embedding.temporal_embedding.embed.": "enc_embedding.temporal_embedding."}
cases = [
    # Forecasting: loom's encoder-only structure (see Transformer), with
    # time marks; and with loom's UseNorm, without them.
    ("transformer_conv", perturb_norms(Transformer("forecast", token_conv=True)), lambda m: m(x, mark), TM),
    ("transformer_conv_norm", perturb_norms(Transformer("forecast", token_conv=True, use_norm=True)),
     lambda m: m(x, None), TM),
    # TSLib's imputation() (time marks) on the zero-filled input; its
    # anomaly_detection() (no time marks) on x.
    ("transformer_conv_rec", perturb_norms(Transformer("imputation", token_conv=True)), lambda m: m(x_imp, mark), TM),
    ("transformer_conv_ad", perturb_norms(Transformer("imputation", token_conv=True)), lambda m: m(x, None), TM),
    ("transformer_conv_cls", perturb_norms(Transformer("classification", token_conv=True)), lambda m: m(x_cls, mask), TM),
    ("patchtst_imp", perturb_norms(PatchTST("imputation")), lambda m: m(x_imp, mask_imp), {}),
]
for prefix, m, run, rename in cases:
    m.eval()
    save(prefix, m, rename)
    with torch.no_grad():
        put(prefix + ".out", run(m))

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
