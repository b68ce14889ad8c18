package tgraph

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TGN is the TGN-style memory baseline (Rossi et al., "Temporal Graph
// Networks for Deep Learning on Dynamic Graphs", arXiv 2006.10637): each
// node keeps a memory s_v [D], zero at first, and the time of its last
// update. The events are taken MemoryBatch at a time; an event u → v at t
// (features f) gives u the message [s_u ‖ s_v ‖ φ(t − t_u) ‖ f] and v the
// message [s_v ‖ s_u ‖ φ(t − t_v) ‖ f] (TGN's identity message function,
// from the memory before the batch), each node keeps its last message of
// the batch (TGN's "last" aggregator), and a GRU cell updates its memory:
// s_v ← GRU(m_v, s_v).
//
// The embedding of v at a prediction time t is
// W_e[s_v ‖ φ(t − t_v)] + b_e — a choice: TGN's default embeds with graph
// attention over sampled neighbours; this keeps the memory and adds how
// long ago it was updated (a node never updated counts from the first
// event of the history). The decoder is Model's MLP on [h_u ‖ h_v].
//
// As in TGN's training, the memory is updated with the previous batch's
// events at the start of each batch, on the tape, so that the link loss
// reaches the message and update functions; older memory is a constant.
// Logits and Score read the history h strictly before the cutoff: they
// advance the memory over the events of h not yet read (all before the
// cutoff) and start again from zero memory when given another History or
// an earlier cutoff (a new epoch, or evaluation after training, which
// thus replays the training and validation events with the trained
// weights before the test). The memory is state, not a parameter: a
// checkpoint holds the weights and the memory is rebuilt on first use.
type TGN struct {
	Time *TimeEncoder
	// GRU cell: the input and hidden maps [in] → [3D] (reset, update and
	// new gates, PyTorch's GRUCell order).
	GRUIn, GRUHidden *nn.Linear
	Emb              *nn.Linear // [D + TimeDim] → [D]
	Head1, Head2     *nn.Linear

	cfg Config

	// memory state
	mem   []float32 // [N·D]
	last  []float64 // [N]
	h     *History
	read  int // events of h taken into the memory
	t     float64
	start bool
}

// NewTGN builds the TGN baseline of c (Arch tgn), seeded.
func NewTGN(c Config) (*TGN, error) {
	if c.Arch != ArchTGN {
		return nil, fmt.Errorf("tgraph: NewTGN of arch %q", c.Arch)
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(c.Seed)
	D, T := c.Dim, c.TimeDim
	in := 2*D + T + c.EdgeFeat
	return &TGN{
		Time:      newTimeEncoder("time", T, c.LearnTime),
		GRUIn:     nn.NewTorchLinear("memory_updater.weight_ih", in, 3*D, true, rng),
		GRUHidden: nn.NewTorchLinear("memory_updater.weight_hh", D, 3*D, true, rng),
		Emb:       nn.NewTorchLinear("embedding", D+T, D, true, rng),
		Head1:     nn.NewTorchLinear("head.fc1", 2*D, D, true, rng),
		Head2:     nn.NewTorchLinear("head.fc2", D, 1, true, rng),
		cfg:       c,
	}, nil
}

// Config returns the model's configuration.
func (m *TGN) Config() Config { return m.cfg }

// Params returns the parameters (the time encoding's frozen unless
// LearnTime).
func (m *TGN) Params() []*autograd.Var {
	return append(m.Time.Params(), nn.Collect(m.GRUIn, m.GRUHidden, m.Emb, m.Head1, m.Head2)...)
}

// reset empties the memory for history h.
func (m *TGN) reset(h *History) {
	N, D := h.S.NumNodes(), m.cfg.Dim
	m.mem = make([]float32, N*D)
	m.last = make([]float64, N)
	first := 0.0
	if len(h.Idx) > 0 {
		first = h.S.Time[h.Idx[0]]
	}
	for v := range m.last {
		m.last[v] = first
	}
	m.h, m.read, m.start = h, 0, true
}

// advance takes the events of h before cutoff into the memory, batch by
// batch; the last batch is recorded on the tape (when gradients are on).
// It returns the updated nodes of that batch and their new memory
// [len(nodes), D] (nil when nothing was read).
func (m *TGN) advance(h *History, cutoff float64) (nodes []int, rows *autograd.Var) {
	if m.cfg.EdgeFeat != h.S.FeatDim {
		panic(fmt.Sprintf("tgraph: a model of %d edge features on a stream of %d", m.cfg.EdgeFeat, h.S.FeatDim))
	}
	if m.h != h || !m.start || cutoff < m.t {
		m.reset(h)
	}
	m.t = cutoff
	end := h.Before(cutoff)
	for m.read < end {
		n := min(m.cfg.MemoryBatch, end-m.read)
		if end-m.read-n > 0 { // not the last batch: no tape
			autograd.NoGrad(func() { m.update(h.Idx[m.read : m.read+n]) })
		} else {
			nodes, rows = m.update(h.Idx[m.read : m.read+n])
		}
		m.read += n
	}
	return nodes, rows
}

// update takes one batch of events into the memory and returns the nodes
// it updated with their new memory.
func (m *TGN) update(ev []int) ([]int, *autograd.Var) {
	s, D, F := m.h.S, m.cfg.Dim, m.cfg.EdgeFeat
	lastMsg := map[int][2]int{} // node → (event, 0 if it is the source, 1 if the destination)
	var nodes []int
	for _, e := range ev {
		for side, v := range [2]int{s.Src[e], s.Dst[e]} {
			if _, ok := lastMsg[v]; !ok {
				nodes = append(nodes, v)
			}
			lastMsg[v] = [2]int{e, side}
		}
	}
	n := len(nodes)
	self := make([]float32, n*D)
	other := make([]float32, n*D)
	dt := make([]float64, n)
	feat := make([]float32, n*F)
	for k, v := range nodes {
		e, side := lastMsg[v][0], lastMsg[v][1]
		w := s.Dst[e]
		if side == 1 {
			w = s.Src[e]
		}
		copy(self[k*D:(k+1)*D], m.mem[v*D:(v+1)*D])
		copy(other[k*D:(k+1)*D], m.mem[w*D:(w+1)*D])
		dt[k] = s.Time[e] - m.last[v]
		if F > 0 {
			copy(feat[k*F:(k+1)*F], s.Features(e))
		}
	}
	dtype := m.GRUIn.Weight.Value.DType()
	hPrev := autograd.Const(tensor.FromFloat32(self, n, D).To(dtype))
	parts := []*autograd.Var{hPrev, autograd.Const(tensor.FromFloat32(other, n, D).To(dtype)), m.Time.Forward(dt)}
	if F > 0 {
		parts = append(parts, autograd.Const(tensor.FromFloat32(feat, n, F).To(dtype)))
	}
	hNew := m.gru(autograd.Concat(1, parts...), hPrev)
	vals := hNew.Value.Contiguous().Float32s()
	for k, v := range nodes {
		copy(m.mem[v*D:(v+1)*D], vals[k*D:(k+1)*D])
		m.last[v] = s.Time[lastMsg[v][0]]
	}
	return nodes, hNew
}

// gru is PyTorch's GRUCell: r = σ(W_ir x + W_hr h), z = σ(W_iz x + W_hz h),
// n = tanh(W_in x + r ⊙ (W_hn h)), h′ = (1 − z) ⊙ n + z ⊙ h (biases in
// the maps).
func (m *TGN) gru(x, h *autograd.Var) *autograd.Var {
	D := m.cfg.Dim
	gi := autograd.Split(m.GRUIn.Forward(x), 1, D, D, D)
	gh := autograd.Split(m.GRUHidden.Forward(h), 1, D, D, D)
	r := autograd.Sigmoid(autograd.Add(gi[0], gh[0]))
	z := autograd.Sigmoid(autograd.Add(gi[1], gh[1]))
	n := autograd.Tanh(autograd.Add(gi[2], autograd.Mul(r, gh[2])))
	return autograd.Add(n, autograd.Mul(z, autograd.Sub(h, n)))
}

// Logits scores the pairs src[i] → dst[i] at cutoff: [len(src)].
func (m *TGN) Logits(ctx *nn.Ctx, h *History, cutoff float64, src, dst []int) *autograd.Var {
	if len(src) != len(dst) {
		panic(fmt.Sprintf("tgraph: %d sources for %d destinations", len(src), len(dst)))
	}
	updated, rows := m.advance(h, cutoff)
	uniq := uniqueNodes(src, dst)
	D := m.cfg.Dim
	// the memory of uniq: the batch just taken in from the tape, the rest
	// constant
	fresh := map[int]int{}
	for k, v := range updated {
		fresh[v] = k
	}
	constRows := make([]float32, 0, len(uniq)*D)
	idx := make([]int, len(uniq))
	dt := make([]float64, len(uniq))
	R := len(updated)
	for q, v := range uniq {
		dt[q] = cutoff - m.last[v]
		if k, ok := fresh[v]; ok {
			idx[q] = k
			continue
		}
		idx[q] = R + len(constRows)/D
		constRows = append(constRows, m.mem[v*D:(v+1)*D]...)
	}
	dtype := m.Emb.Weight.Value.DType()
	var table *autograd.Var
	if len(constRows) > 0 {
		table = autograd.Const(tensor.FromFloat32(constRows, len(constRows)/D, D).To(dtype))
	}
	switch {
	case rows != nil && table != nil:
		table = autograd.Concat(0, rows, table)
	case rows != nil:
		table = rows
	}
	mem := autograd.IndexSelect(table, 0, idx)
	emb := m.Emb.Forward(autograd.Concat(1, mem, m.Time.Forward(dt)))
	return pairLogits(m.Head1, m.Head2, emb, uniq, src, dst)
}

// Score returns the probabilities σ(logit) of the pairs at cutoff, in
// evaluation mode.
func (m *TGN) Score(h *History, cutoff float64, src, dst []int) []float64 {
	return probabilities(m, h, cutoff, src, dst)
}
