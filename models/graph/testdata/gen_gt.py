#!/usr/bin/python3
"""Generates models/graph/testdata/gt.safetensors: PyTorch reference values
for the Graph Transformer (models/graph/parity_test.go).

The modules below are written from the official code,
graphdeeplearning/graphtransformer (layers/graph_transformer_edge_layer.py,
layers/mlp_readout_layer.py, nets/molecules_graph_regression/
graph_transformer_net.py), with DGL's message passing spelled out in plain
PyTorch (DGL is not in Debian):
  apply_edges(src_dot_dst('K_h','Q_h'))  -> K_h[src] * Q_h[dst]
  send_and_recv(src_mul_edge, fn.sum)    -> zeros.index_add_(0, dst, V_h[src] * score)
  send_and_recv(copy_edge, fn.sum)       -> zeros.index_add_(0, dst, score)
  dgl.mean_nodes                         -> per-graph sums / node counts
A node without incoming edges receives nothing (wV = z = 0), as in DGL.

The batch is three graphs: a 6-ring with a substituent (7 nodes), a
branched chain (5 nodes) and a single node (no edges); bonds go both ways.
Indices are stored as float32 (graph.*).

Cases, all float32:
  layer_bn  one GraphTransformerLayer(16, 16, 4 heads, BatchNorm): a training
            forward (batch statistics) and backward from random output
            gradients, the running estimates after it, then an evaluation
            forward (running estimates);
  layer_ln  the same layer with LayerNorm;
  net       GraphTransformerNet (2 layers, width 16, 4 heads, LapPE k = 3
            given as net.pe, BatchNorm, mean readout, MLPReadout to 1):
            training forward and backward (no sign flip), then evaluation.
For each: <case>.<param> (initial weights), inputs, outputs, .gout*
(upstream gradients), .grad.<name> (gradients of inputs and parameters)
and .running.<buffer>.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 models/graph/testdata/gen_gt.py
Tests never need PyTorch: the output file is committed.
"""
import os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "convert", "testdata", "hf"))
from hf_reference import write_safetensors  # noqa: E402  (the project's one safetensors writer)

torch.manual_seed(26)
torch.set_num_threads(1)


class Graph:
    def __init__(self, src, dst, num_nodes):
        self.src, self.dst, self.num_nodes = src, dst, num_nodes


class MultiHeadAttentionLayer(nn.Module):
    def __init__(self, in_dim, out_dim, num_heads, use_bias):
        super().__init__()
        self.out_dim = out_dim
        self.num_heads = num_heads
        self.Q = nn.Linear(in_dim, out_dim * num_heads, bias=use_bias)
        self.K = nn.Linear(in_dim, out_dim * num_heads, bias=use_bias)
        self.V = nn.Linear(in_dim, out_dim * num_heads, bias=use_bias)
        self.proj_e = nn.Linear(in_dim, out_dim * num_heads, bias=use_bias)

    def forward(self, g, h, e):
        Q_h = self.Q(h).view(-1, self.num_heads, self.out_dim)
        K_h = self.K(h).view(-1, self.num_heads, self.out_dim)
        V_h = self.V(h).view(-1, self.num_heads, self.out_dim)
        proj_e = self.proj_e(e).view(-1, self.num_heads, self.out_dim)
        score = K_h[g.src] * Q_h[g.dst]                      # src_dot_dst
        score = score / np.sqrt(self.out_dim)                # scaling
        score = score * proj_e                               # imp_exp_attn
        e_out = score                                        # out_edge_features
        score = torch.exp(score.sum(-1, keepdim=True).clamp(-5, 5))  # exp
        wV = torch.zeros_like(V_h).index_add_(0, g.dst, V_h[g.src] * score)
        z = torch.zeros(g.num_nodes, self.num_heads, 1).index_add_(0, g.dst, score)
        h_out = wV / (z + torch.full_like(z, 1e-6))
        return h_out, e_out


class GraphTransformerLayer(nn.Module):
    def __init__(self, in_dim, out_dim, num_heads, dropout=0.0, layer_norm=False, batch_norm=True, residual=True, use_bias=False):
        super().__init__()
        self.out_channels = out_dim
        self.dropout = dropout
        self.residual = residual
        self.layer_norm = layer_norm
        self.batch_norm = batch_norm
        self.attention = MultiHeadAttentionLayer(in_dim, out_dim // num_heads, num_heads, use_bias)
        self.O_h = nn.Linear(out_dim, out_dim)
        self.O_e = nn.Linear(out_dim, out_dim)
        if self.layer_norm:
            self.layer_norm1_h = nn.LayerNorm(out_dim)
            self.layer_norm1_e = nn.LayerNorm(out_dim)
        if self.batch_norm:
            self.batch_norm1_h = nn.BatchNorm1d(out_dim)
            self.batch_norm1_e = nn.BatchNorm1d(out_dim)
        self.FFN_h_layer1 = nn.Linear(out_dim, out_dim * 2)
        self.FFN_h_layer2 = nn.Linear(out_dim * 2, out_dim)
        self.FFN_e_layer1 = nn.Linear(out_dim, out_dim * 2)
        self.FFN_e_layer2 = nn.Linear(out_dim * 2, out_dim)
        if self.layer_norm:
            self.layer_norm2_h = nn.LayerNorm(out_dim)
            self.layer_norm2_e = nn.LayerNorm(out_dim)
        if self.batch_norm:
            self.batch_norm2_h = nn.BatchNorm1d(out_dim)
            self.batch_norm2_e = nn.BatchNorm1d(out_dim)

    def forward(self, g, h, e):
        h_in1, e_in1 = h, e
        h_attn_out, e_attn_out = self.attention(g, h, e)
        h = h_attn_out.view(-1, self.out_channels)
        e = e_attn_out.view(-1, self.out_channels)
        h = F.dropout(h, self.dropout, training=self.training)
        e = F.dropout(e, self.dropout, training=self.training)
        h = self.O_h(h)
        e = self.O_e(e)
        if self.residual:
            h = h_in1 + h
            e = e_in1 + e
        if self.layer_norm:
            h = self.layer_norm1_h(h)
            e = self.layer_norm1_e(e)
        if self.batch_norm:
            h = self.batch_norm1_h(h)
            e = self.batch_norm1_e(e)
        h_in2, e_in2 = h, e
        h = self.FFN_h_layer1(h)
        h = F.relu(h)
        h = F.dropout(h, self.dropout, training=self.training)
        h = self.FFN_h_layer2(h)
        e = self.FFN_e_layer1(e)
        e = F.relu(e)
        e = F.dropout(e, self.dropout, training=self.training)
        e = self.FFN_e_layer2(e)
        if self.residual:
            h = h_in2 + h
            e = e_in2 + e
        if self.layer_norm:
            h = self.layer_norm2_h(h)
            e = self.layer_norm2_e(e)
        if self.batch_norm:
            h = self.batch_norm2_h(h)
            e = self.batch_norm2_e(e)
        return h, e


class MLPReadout(nn.Module):
    def __init__(self, input_dim, output_dim, L=2):
        super().__init__()
        layers = [nn.Linear(input_dim // 2 ** l, input_dim // 2 ** (l + 1), bias=True) for l in range(L)]
        layers.append(nn.Linear(input_dim // 2 ** L, output_dim, bias=True))
        self.FC_layers = nn.ModuleList(layers)
        self.L = L

    def forward(self, x):
        y = x
        for l in range(self.L):
            y = F.relu(self.FC_layers[l](y))
        return self.FC_layers[self.L](y)


class GraphTransformerNet(nn.Module):
    def __init__(self, num_atom_type, num_bond_type, hidden_dim, num_heads, n_layers, pos_enc_dim):
        super().__init__()
        self.embedding_lap_pos_enc = nn.Linear(pos_enc_dim, hidden_dim)
        self.embedding_h = nn.Embedding(num_atom_type, hidden_dim)
        self.embedding_e = nn.Embedding(num_bond_type, hidden_dim)
        self.in_feat_dropout = nn.Dropout(0.0)
        self.layers = nn.ModuleList([GraphTransformerLayer(hidden_dim, hidden_dim, num_heads, 0.0, False, True, True)
                                     for _ in range(n_layers)])
        self.MLP_layer = MLPReadout(hidden_dim, 1)

    def forward(self, g, h, e, h_lap_pos_enc, graph_of, num_graphs):
        h = self.embedding_h(h)
        h = self.in_feat_dropout(h)
        h = h + self.embedding_lap_pos_enc(h_lap_pos_enc.float())
        e = self.embedding_e(e)
        for conv in self.layers:
            h, e = conv(g, h, e)
        hg = torch.zeros(num_graphs, h.shape[1]).index_add_(0, graph_of, h)        # dgl.mean_nodes
        counts = torch.zeros(num_graphs).index_add_(0, graph_of, torch.ones(h.shape[0]))
        hg = hg / counts.unsqueeze(1)
        return self.MLP_layer(hg)


def laplacian_positional_encoding(num_nodes, src, dst, pos_enc_dim):
    # data/molecules.py, with A and the in-degrees from the edge list
    A = np.zeros((num_nodes, num_nodes))
    A[dst, src] = 1
    deg = A.sum(1).clip(1) ** -0.5
    L = np.eye(num_nodes) - np.diag(deg) @ A @ np.diag(deg)
    EigVal, EigVec = np.linalg.eig(L)
    idx = EigVal.argsort()
    EigVal, EigVec = EigVal[idx], np.real(EigVec[:, idx])
    pe = np.zeros((num_nodes, pos_enc_dim))
    k = min(pos_enc_dim, num_nodes - 1)
    pe[:, :k] = EigVec[:, 1:k + 1]
    return pe


# The batch: (nodes' atom types, bonds (i, j, type)) per graph.
graphs = [
    ([0, 1, 1, 2, 1, 1, 3], [(0, 1, 1), (1, 2, 1), (2, 3, 2), (3, 4, 1), (4, 5, 1), (5, 0, 2), (0, 6, 0)]),
    ([2, 0, 4, 1, 0], [(0, 1, 0), (1, 2, 0), (2, 3, 1), (1, 4, 2)]),
    ([3], []),
]
src, dst, node_feat, edge_feat, graph_of, pes = [], [], [], [], [], []
off = 0
for gi, (atoms, bonds) in enumerate(graphs):
    gsrc, gdst = [], []
    for i, j, t in bonds:
        gsrc += [i, j]
        gdst += [j, i]
        edge_feat += [t, t]
    src += [off + i for i in gsrc]
    dst += [off + j for j in gdst]
    node_feat += atoms
    graph_of += [gi] * len(atoms)
    pes.append(laplacian_positional_encoding(len(atoms), gsrc, gdst, 3))
    off += len(atoms)
N, E, G = off, len(src), len(graphs)
g = Graph(torch.tensor(src), torch.tensor(dst), N)
out = {}


def put(name, t):
    out[name] = t.detach().clone().float().contiguous()


for name, t in [("src", src), ("dst", dst), ("node_feat", node_feat), ("edge_feat", edge_feat), ("graph_of", graph_of)]:
    put("graph." + name, torch.tensor(t, dtype=torch.float32))

D, H = 16, 4
for case, ln in [("layer_bn", False), ("layer_ln", True)]:
    layer = GraphTransformerLayer(D, D, H, 0.0, layer_norm=ln, batch_norm=not ln)
    with torch.no_grad():  # gains and biases away from 1 and 0
        for pname, p in layer.named_parameters():
            if "norm" in pname:
                p.add_(torch.randn_like(p) * 0.2)
    for pname, p in layer.named_parameters():
        put(f"{case}.{pname}", p)
    h = torch.randn(N, D, requires_grad=True)
    e = torch.randn(E, D, requires_grad=True)
    layer.train()
    ho, eo = layer(g, h, e)
    gh, ge = torch.randn_like(ho), torch.randn_like(eo)
    (ho * gh).sum().add((eo * ge).sum()).backward()
    for k, v in [("h", h), ("e", e), ("h_out", ho), ("e_out", eo), ("gout_h", gh), ("gout_e", ge),
                 ("grad.h", h.grad), ("grad.e", e.grad)]:
        put(f"{case}.{k}", v)
    for pname, p in layer.named_parameters():
        put(f"{case}.grad.{pname}", p.grad)
    for bname, b in layer.named_buffers():
        if "num_batches" not in bname:
            put(f"{case}.running.{bname}", b)
    layer.eval()
    with torch.no_grad():
        ho, eo = layer(g, h, e)
    put(f"{case}.eval_h_out", ho)
    put(f"{case}.eval_e_out", eo)

net = GraphTransformerNet(5, 3, D, H, 2, 3)
for pname, p in net.named_parameters():
    put("net." + pname, p)
pe = torch.tensor(np.concatenate(pes), dtype=torch.float32)
put("net.pe", pe)
net.train()
y = net(g, torch.tensor(node_feat), torch.tensor(edge_feat), pe, torch.tensor(graph_of), G)
gy = torch.randn_like(y)
(y * gy).sum().backward()
put("net.out", y)
put("net.gout", gy)
for pname, p in net.named_parameters():  # the last layer's edge branch feeds nothing: no gradient, 0
    put("net.grad." + pname, p.grad if p.grad is not None else torch.zeros_like(p))
for bname, b in net.named_buffers():
    if "num_batches" not in bname:
        put("net.running." + bname, b)
net.eval()
with torch.no_grad():
    put("net.eval_out", net(g, torch.tensor(node_feat), torch.tensor(edge_feat), pe, torch.tensor(graph_of), G))

path = os.path.join(HERE, "gt.safetensors")
write_safetensors(path, out, {"generator": "models/graph/testdata/gen_gt.py", "torch": torch.__version__})
print("wrote", path, len(out), "tensors")
