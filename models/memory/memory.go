// Package memory is hierarchical memories (Pouransari, Grangier, Thomas,
// Kirchhof and Tuzel, "Pretraining with hierarchical memories: separating
// long-tail and common knowledge", arXiv 2510.02375): a small anchor
// decoder whose every feed-forward layer is augmented with memory blocks
// fetched per document from a large bank,
//
//	FFN(x) + Σ_b V_bᵀ σ(K_b x),
//
// the sum over the blocks b on the document's root-to-leaf path in a
// hierarchical clustering of the training documents (one block per level;
// Tree, BuildTree). A block holds, for every layer, K_b and V_b of Width
// rows each (σ: GELU). Blocks live in a memory-mapped bank (package bank);
// a training step fetches the blocks of its documents' paths, and only
// they receive gradients and optimizer updates (bank.Update): the bank's
// other blocks, their AdamW moments included, stay bit-identical.
package memory

import (
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/memory/bank"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// Shape is the geometry of a bank's blocks for a decoder.
type Shape struct {
	Layers, Dim int // the anchor's layers and width
	Width       int // memory rows per block per layer
}

// BlockFloats is the parameters of one block: K and V [Width, Dim] per
// layer.
func (s Shape) BlockFloats() int { return s.Layers * 2 * s.Width * s.Dim }

// Model is an anchor decoder with memory-augmented FFNs. With no blocks
// mounted it computes exactly the anchor.
type Model struct {
	Anchor *decoder.Model
	Shape  Shape
	ffns   []*ffn
}

// ffn is a layer's FFN plus the rows' mounted memories.
type ffn struct {
	base nn.FFN
	// k, v hold each batch row's fetched memory for this layer,
	// [Σ Width, Dim]; nil: none mounted.
	k, v []*autograd.Var
}

func (f *ffn) Params() []*autograd.Var { return f.base.Params() }

func (f *ffn) Forward(x *autograd.Var) *autograd.Var {
	y := f.base.Forward(x)
	if f.k == nil {
		return y
	}
	B, T, D := x.Dim(0), x.Dim(1), x.Dim(2)
	if len(f.k) != B {
		panic(fmt.Sprintf("memory: %d rows mounted for a batch of %d", len(f.k), B))
	}
	rows := make([]*autograd.Var, B)
	for b := range B {
		xb := autograd.Reshape(autograd.Slice(x, 0, b, b+1), T, D)
		h := autograd.Gelu(autograd.MatMul(xb, f.k[b], false, true)) // [T, M]
		rows[b] = autograd.MatMul(h, f.v[b], false, false)           // [T, D]
	}
	m := autograd.Reshape(autograd.Concat(0, rows...), B, T, D)
	return autograd.Add(y, m)
}

// New wraps anchor's FFNs (a pre-norm layout) so blocks of width width can
// be mounted.
func New(anchor *decoder.Model, width int) (*Model, error) {
	if width < 1 {
		return nil, fmt.Errorf("memory: width must be at least 1, have %d", width)
	}
	m := &Model{Anchor: anchor, Shape: Shape{Layers: len(anchor.Layers), Dim: anchor.Config.HiddenSize, Width: width}}
	for i, l := range anchor.Layers {
		pb, ok := l.(*decoder.PreNorm)
		if !ok || pb.FFN == nil {
			return nil, fmt.Errorf("memory: layer %d is not a pre-norm block with an FFN (layout %s)", i, anchor.Config.LayoutName())
		}
		f := &ffn{base: pb.FFN}
		pb.FFN = f
		m.ffns = append(m.ffns, f)
	}
	return m, nil
}

// Block is a fetched block: its parameters as trainable variables, K and
// V per layer, copied from the bank.
type Block struct {
	ID   int
	K, V []*autograd.Var
}

// Fetch copies block id's parameters out of the bank into variables
// (requiring gradients when grad is set).
func (m *Model) Fetch(b *bank.Bank, id int, grad bool) (*Block, error) {
	if b.BlockFloats() != m.Shape.BlockFloats() {
		return nil, fmt.Errorf("memory: bank %s has %d parameters per block; layers %d × 2 × width %d × dim %d need %d", b.Dir(), b.BlockFloats(), m.Shape.Layers, m.Shape.Width, m.Shape.Dim, m.Shape.BlockFloats())
	}
	if id < 0 || id >= b.Blocks() {
		return nil, fmt.Errorf("memory: block %d is not in bank %s (%d blocks)", id, b.Dir(), b.Blocks())
	}
	p := b.Params(id)
	s := m.Shape
	n := s.Width * s.Dim
	blk := &Block{ID: id}
	mk := func(off int) *autograd.Var {
		t := tensor.FromFloat32(slices.Clone(p[off:off+n]), s.Width, s.Dim)
		if grad {
			return autograd.Leaf(t)
		}
		return autograd.Const(t)
	}
	for l := range s.Layers {
		blk.K = append(blk.K, mk(2*l*n))
		blk.V = append(blk.V, mk((2*l+1)*n))
	}
	return blk, nil
}

// Grad returns the block's gradient in the bank's layout (zeros where a
// variable got none).
func (blk *Block) Grad() []float32 {
	var out []float32
	for l := range blk.K {
		for _, v := range []*autograd.Var{blk.K[l], blk.V[l]} {
			if v.Grad == nil {
				out = append(out, make([]float32, v.Value.Numel())...)
			} else {
				out = append(out, v.Grad.Contiguous().F32()...)
			}
		}
	}
	return out
}

// Vars returns the block's variables.
func (blk *Block) Vars() []*autograd.Var { return append(slices.Clone(blk.K), blk.V...) }

// Mount sets the memories of a batch: rows[r] are the blocks of row r's
// path (nil or empty: the anchor alone for every row when all are).
func (m *Model) Mount(rows [][]*Block) {
	empty := true
	for _, r := range rows {
		if len(r) > 0 {
			empty = false
		}
	}
	for l, f := range m.ffns {
		f.k, f.v = nil, nil
		if empty {
			continue
		}
		for _, r := range rows {
			ks, vs := make([]*autograd.Var, len(r)), make([]*autograd.Var, len(r))
			for i, blk := range r {
				ks[i], vs[i] = blk.K[l], blk.V[l]
			}
			if len(r) == 0 { // a row without memory: one zero row adds nothing
				z := autograd.Const(tensor.Zeros(1, m.Shape.Dim))
				ks, vs = []*autograd.Var{z}, []*autograd.Var{z}
			}
			f.k = append(f.k, autograd.Concat(0, ks...))
			f.v = append(f.v, autograd.Concat(0, vs...))
		}
	}
}

// InitBlock draws a block's initial parameters: K ~ N(0, 1/Dim) (unit
// pre-activations) and V ~ N(0, std²); with std 0 V starts at zero, so an
// untrained block adds nothing.
func InitBlock(s Shape, std float64, seed uint64) func(id int, p []float32) {
	return func(id int, p []float32) {
		r := tensor.NewRNG(seed ^ (uint64(id)+1)*0x9e3779b97f4a7c15)
		n := s.Width * s.Dim
		for l := range s.Layers {
			for i := range n {
				p[2*l*n+i] = float32(r.Normal() / math.Sqrt(float64(s.Dim)))
				p[(2*l+1)*n+i] = float32(r.Normal() * std)
			}
		}
	}
}

// Batch is documents as rows of byte tokens, right-padded.
type Batch struct {
	IDs, Targets []int // [B·T]; padded targets are autograd.IgnoreIndex
	B, T         int
}

// MakeBatch turns texts (byte tokens, each at most maxT+1 bytes are used)
// into a next-byte batch.
func MakeBatch(texts []string, maxT int) Batch {
	T := 1
	for _, s := range texts {
		T = max(T, min(len(s)-1, maxT))
	}
	b := Batch{B: len(texts), T: T, IDs: make([]int, len(texts)*T), Targets: make([]int, len(texts)*T)}
	for r, s := range texts {
		for t := range T {
			i := r*T + t
			if t+1 < len(s) && t < maxT {
				b.IDs[i], b.Targets[i] = int(s[t]), int(s[t+1])
			} else {
				b.Targets[i] = autograd.IgnoreIndex
			}
		}
	}
	return b
}

// Logits runs the model on a batch with rows' blocks mounted.
func (m *Model) Logits(b Batch, rows [][]*Block) *autograd.Var {
	m.Mount(rows)
	defer m.Mount(nil)
	return m.Anchor.Forward(&nn.Ctx{}, b.IDs, b.B, b.T)
}

// Trainer trains the anchor (AdamW from package optim) and the bank's
// fetched blocks (bank.Update) together.
type Trainer struct {
	Model *Model
	Bank  *bank.Bank // nil: the anchor alone
	Opt   *optim.Adam
	Adam  bank.AdamW // the blocks' settings; LR is scaled like the anchor's
	Clip  float64    // global gradient-norm clip over anchor and fetched blocks (0: none)
}

// NewTrainer sets AdamW on the anchor (weight decay on matrices) with the
// same settings the blocks get.
func NewTrainer(m *Model, b *bank.Bank, o bank.AdamW, clip float64) *Trainer {
	var decay, plain []*autograd.Var
	for _, p := range m.Anchor.Params() {
		if p.Decays() {
			decay = append(decay, p)
		} else {
			plain = append(plain, p)
		}
	}
	opt := optim.NewAdamW([]*optim.Group{{Params: decay, LR: o.LR, WeightDecay: o.WeightDecay}, {Params: plain, LR: o.LR}})
	opt.Beta1, opt.Beta2, opt.Eps = o.Beta1, o.Beta2, o.Eps
	return &Trainer{Model: m, Bank: b, Opt: opt, Adam: o, Clip: clip}
}

// Step trains on one batch whose row r fetches the blocks paths[r] (nil
// paths, or a nil Bank: the anchor alone), with the learning rate scaled
// by scale. It returns the loss and the ids of the blocks it updated.
func (t *Trainer) Step(b Batch, paths [][]int, scale float64) (float64, []int, error) {
	var rows [][]*Block
	var fetched []*Block
	if t.Bank != nil && paths != nil {
		byID := map[int]*Block{}
		rows = make([][]*Block, len(paths))
		for r, p := range paths {
			for _, id := range p {
				blk, ok := byID[id]
				if !ok {
					var err error
					if blk, err = t.Model.Fetch(t.Bank, id, true); err != nil {
						return 0, nil, err
					}
					byID[id] = blk
					fetched = append(fetched, blk)
				}
				rows[r] = append(rows[r], blk)
			}
		}
	}
	t.Opt.ZeroGrad()
	logits := t.Model.Logits(b, rows)
	loss := autograd.CrossEntropy(autograd.Reshape(logits, b.B*b.T, t.Model.Anchor.Config.VocabSize), b.Targets, autograd.IgnoreIndex, 0)
	lv := loss.Item()
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		return lv, nil, fmt.Errorf("memory: the loss diverged (%g)", lv)
	}
	loss.Backward()
	if t.Clip > 0 {
		all := t.Model.Anchor.Params()
		for _, blk := range fetched {
			all = append(all, blk.Vars()...)
		}
		optim.ClipGradNorm(all, t.Clip)
	}
	t.Opt.SetLRScale(scale)
	t.Opt.Step()
	o := t.Adam
	o.LR *= scale
	ids := make([]int, 0, len(fetched))
	for _, blk := range fetched {
		if err := t.Bank.Update(blk.ID, blk.Grad(), o); err != nil {
			return lv, ids, err
		}
		ids = append(ids, blk.ID)
	}
	return lv, ids, nil
}
