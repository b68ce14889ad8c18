package tgraph

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Model is Todyformer (or its MPNN ablation) with the link-prediction
// head. See the package documentation.
type Model struct {
	Time *TimeEncoder
	// In maps an instance's own encoding, φ(age of its last event in the
	// patch), to its initial state: [TimeDim] → [D].
	In     *nn.Linear
	Blocks []*Block
	// Absent is the embedding of a node with no event in the window.
	Absent *autograd.Var // [D]
	// Head scores a pair from [h_u ‖ h_v]: Linear(2D, D), ReLU,
	// Linear(D, 1) (DyGLib's MergeLayer).
	Head1, Head2 *nn.Linear

	cfg Config
}

// Block is one local/global alternation.
type Block struct {
	Local  []*LocalLayer
	PE     *nn.Linear // temporal positional encoding φ(age) → D (nil without global layers)
	Global []*GlobalLayer
}

// New builds c's model with weights drawn from a generator seeded c.Seed
// (PyTorch's default initialisations).
func New(c Config) (*Model, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if c.Arch == ArchTGN {
		return nil, fmt.Errorf("tgraph: New builds todyformer and mpnn; tgn is NewTGN's (or Build's)")
	}
	rng := tensor.NewRNG(c.Seed)
	m := &Model{cfg: c, Time: newTimeEncoder("time", c.TimeDim, c.LearnTime)}
	zdim := c.TimeDim + 2 + c.EdgeFeat
	m.In = nn.NewTorchLinear("in", c.TimeDim, c.Dim, true, rng)
	for b := range c.Blocks {
		pre := nn.Join("blocks", strconv.Itoa(b))
		blk := &Block{}
		for l := range c.LocalLayers {
			blk.Local = append(blk.Local, newLocalLayer(nn.Join(pre, "local", strconv.Itoa(l)), c.Dim, zdim, c.Heads, rng))
		}
		if c.GlobalLayers > 0 {
			blk.PE = nn.NewTorchLinear(nn.Join(pre, "pe"), c.TimeDim, c.Dim, true, rng)
		}
		for l := range c.GlobalLayers {
			blk.Global = append(blk.Global, newGlobalLayer(nn.Join(pre, "global", strconv.Itoa(l)), c.Dim, c.FFN, c.Heads, rng))
		}
		m.Blocks = append(m.Blocks, blk)
	}
	m.Absent = autograd.NewParam("absent", autograd.RoleEmbedding, tensor.Zeros(c.Dim))
	m.Head1 = nn.NewTorchLinear("head.fc1", 2*c.Dim, c.Dim, true, rng)
	m.Head2 = nn.NewTorchLinear("head.fc2", c.Dim, 1, true, rng)
	return m, nil
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Params returns every parameter (the time encoding's are frozen unless
// LearnTime).
func (m *Model) Params() []*autograd.Var {
	ps := append(m.Time.Params(), m.In.Params()...)
	for _, b := range m.Blocks {
		for _, l := range b.Local {
			ps = append(ps, l.Params()...)
		}
		if b.PE != nil {
			ps = append(ps, b.PE.Params()...)
		}
		for _, l := range b.Global {
			ps = append(ps, l.Params()...)
		}
	}
	ps = append(ps, m.Absent)
	return append(ps, nn.Collect(m.Head1, m.Head2)...)
}

// Patches cuts h's window before cutoff as the model's Window and Patches
// say.
func (m *Model) Patches(h *History, cutoff float64) *Patches {
	if m.cfg.EdgeFeat != h.S.FeatDim {
		panic(fmt.Sprintf("tgraph: a model of %d edge features on a stream of %d", m.cfg.EdgeFeat, h.S.FeatDim))
	}
	return NewPatches(h, cutoff, m.cfg.Window, m.cfg.Patches)
}

// Embed returns the embeddings [len(nodes), D] of nodes from the patches
// p: a node's token in the newest patch it occurs in after the last block,
// or Absent for a node outside the window. A training ctx applies
// dropout; nil is evaluation.
func (m *Model) Embed(ctx *nn.Ctx, p *Patches, nodes []int) *autograd.Var {
	c := m.cfg
	I, D := p.Instances(), c.Dim
	rowOf := make([]int, len(nodes)) // the node's row in the final states, or −1
	var rows *autograd.Var           // [R, D]
	if I > 0 {
		z := m.messages(p)
		ageEnc := m.Time.Forward(p.Age) // [I, TimeDim]
		h := m.In.Forward(ageEnc)       // [I, D]
		for b, blk := range m.Blocks {
			for _, l := range blk.Local {
				h = ctx.Dropout(l.Forward(h, z, p), c.Dropout)
			}
			last := b == len(m.Blocks)-1
			if len(blk.Global) == 0 {
				if last { // read the newest instance
					idx := make([]int, len(nodes))
					for q, v := range nodes {
						rowOf[q] = -1
						if k := p.Index(v); k >= 0 {
							rowOf[q] = q
							idx[q] = p.Latest(k)
						}
					}
					rows = autograd.IndexSelect(h, 0, idx)
				}
				continue
			}
			// pack the sequences: every node's, or in the last block only
			// the asked nodes' (sequences are independent)
			var ks []int
			if last {
				pick := map[int]int{}
				for q, v := range nodes {
					rowOf[q] = -1
					k := p.Index(v)
					if k < 0 {
						continue
					}
					j, ok := pick[k]
					if !ok {
						j = len(ks)
						pick[k] = j
						ks = append(ks, k)
					}
					rowOf[q] = j
				}
				if len(ks) == 0 {
					break
				}
			} else {
				ks = make([]int, len(p.Nodes))
				for k := range ks {
					ks[k] = k
				}
			}
			T := 0
			for _, k := range ks {
				T = max(T, len(p.Seqs[k]))
			}
			gather := make([]int, len(ks)*T) // instance, or I for padding
			lens := make([]int, len(ks))
			for j, k := range ks {
				lens[j] = len(p.Seqs[k])
				for t := range T {
					gather[j*T+t] = I
					if t < lens[j] {
						gather[j*T+t] = p.Seqs[k][t]
					}
				}
			}
			tok := autograd.Add(h, blk.PE.Forward(ageEnc)) // [I, D]
			pad := autograd.Const(tensor.New(tok.Value.DType(), 1, D))
			x := autograd.Reshape(autograd.IndexSelect(autograd.Concat(0, tok, pad), 0, gather), len(ks), T, D)
			for _, g := range blk.Global {
				x = g.Forward(ctx, x, lens, c.Dropout)
			}
			flat := autograd.Reshape(x, len(ks)*T, D)
			if last { // each asked node's newest token
				idx := make([]int, len(ks))
				for j := range ks {
					idx[j] = j*T + lens[j] - 1
				}
				rows = autograd.IndexSelect(flat, 0, idx)
				continue
			}
			back := make([]int, I) // unpack: instance i's token
			for i := range back {
				back[i] = p.nodeIndex[p.Node[i]]*T + p.Pos[i]
			}
			h = autograd.IndexSelect(flat, 0, back)
		}
	} else {
		for q := range rowOf {
			rowOf[q] = -1
		}
	}
	R := 0
	if rows != nil {
		R = rows.Dim(0)
	}
	idx := make([]int, len(nodes))
	for q, r := range rowOf {
		idx[q] = r
		if r < 0 {
			idx[q] = R
		}
	}
	table := autograd.Reshape(m.Absent, 1, D)
	if rows != nil {
		table = autograd.Concat(0, rows, table)
	}
	return autograd.IndexSelect(table, 0, idx)
}

// messages encodes p's messages: [φ(age) ‖ one-hot direction ‖ edge
// features], [2·events, TimeDim+2+EdgeFeat].
func (m *Model) messages(p *Patches) *autograd.Var {
	E := len(p.From)
	phi := m.Time.Forward(p.MsgAge)
	F := m.cfg.EdgeFeat
	extra := make([]float32, E*(2+F))
	s := p.Stream
	for e := range E {
		row := extra[e*(2+F) : (e+1)*(2+F)]
		if p.Reverse[e] {
			row[1] = 1
		} else {
			row[0] = 1
		}
		if F > 0 {
			copy(row[2:], s.Features(p.MsgEvent[e]))
		}
	}
	ex := autograd.Const(tensor.FromFloat32(extra, E, 2+F).To(phi.Value.DType()))
	return autograd.Concat(1, phi, ex)
}

// Logits scores the pairs src[i] → dst[i] at cutoff from the history h
// before it: [len(src)].
func (m *Model) Logits(ctx *nn.Ctx, h *History, cutoff float64, src, dst []int) *autograd.Var {
	if len(src) != len(dst) {
		panic(fmt.Sprintf("tgraph: %d sources for %d destinations", len(src), len(dst)))
	}
	uniq := uniqueNodes(src, dst)
	return pairLogits(m.Head1, m.Head2, m.Embed(ctx, m.Patches(h, cutoff), uniq), uniq, src, dst)
}

// uniqueNodes returns the distinct nodes of src and dst, ascending.
func uniqueNodes(src, dst []int) []int {
	uniq := append(slices.Clone(src), dst...)
	slices.Sort(uniq)
	return slices.Compact(uniq)
}

// pairLogits scores src[i] → dst[i] with the decoder head1, head2 on the
// embeddings emb [len(uniq), D] of the nodes uniq: [len(src)].
func pairLogits(head1, head2 *nn.Linear, emb *autograd.Var, uniq, src, dst []int) *autograd.Var {
	at := func(vs []int) []int {
		out := make([]int, len(vs))
		for i, v := range vs {
			out[i], _ = slices.BinarySearch(uniq, v)
		}
		return out
	}
	hu, hv := autograd.IndexSelect(emb, 0, at(src)), autograd.IndexSelect(emb, 0, at(dst))
	y := head2.Forward(autograd.Relu(head1.Forward(autograd.Concat(1, hu, hv))))
	return autograd.Reshape(y, len(src))
}

// Score returns the probabilities σ(logit) of the pairs src[i] → dst[i]
// at cutoff, in evaluation mode.
func (m *Model) Score(h *History, cutoff float64, src, dst []int) []float64 {
	return probabilities(m, h, cutoff, src, dst)
}

// probabilities is σ of m's logits in evaluation mode, without a tape.
func probabilities(m LinkModel, h *History, cutoff float64, src, dst []int) []float64 {
	var out []float64
	autograd.NoGrad(func() {
		out = m.Logits(nil, h, cutoff, src, dst).Value.Float64s()
	})
	for i, x := range out {
		out[i] = 1 / (1 + math.Exp(-x))
	}
	return out
}
