package tgraph

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/events"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Batch is one training step: consecutive positive events and one
// negative per positive. The model sees the history strictly before
// Cutoff, the time of the batch's first event, so no event of the batch
// or after it (DyG2Vec's window before the target batch).
type Batch struct {
	Cutoff         float64
	Events         []int // the positives' event indices
	Src, Dst       []int // positives
	NegSrc, NegDst []int // negatives
}

// Tokens counts the batch's positive events (train.Loop's throughput).
func (b *Batch) Tokens() int { return len(b.Events) }

// Sampler yields the training events in time order, in batches of BS
// consecutive events (the last batch of an epoch may be shorter), each
// positive u → v with a random negative u → v′, v′ drawn uniformly from
// the destinations of the training events (DyGLib's train negative edge
// sampler); then it starts the next epoch. Its state (position and RNG)
// resumes exactly.
type Sampler struct {
	S   *events.Stream
	Idx []int // training events, chronological
	BS  int

	dsts []int
	rng  *tensor.RNG
	pos  int
}

// NewSampler samples batches of bs events of idx (chronological), seeded.
func NewSampler(s *events.Stream, idx []int, bs int, seed uint64) (*Sampler, error) {
	if len(idx) == 0 || bs < 1 {
		return nil, fmt.Errorf("tgraph: a sampler of batches of %d over %d events", bs, len(idx))
	}
	if _, err := NewHistory(s, idx); err != nil {
		return nil, err
	}
	d := map[int]bool{}
	for _, i := range idx {
		d[s.Dst[i]] = true
	}
	return &Sampler{S: s, Idx: idx, BS: bs, dsts: sortedKeys(d), rng: tensor.NewRNG(seed)}, nil
}

// StepsPerEpoch is the number of batches in one pass over the events.
func (s *Sampler) StepsPerEpoch() int { return (len(s.Idx) + s.BS - 1) / s.BS }

// Next returns the next batch.
func (s *Sampler) Next() *Batch {
	if s.pos >= len(s.Idx) {
		s.pos = 0
	}
	ev := s.Idx[s.pos:min(s.pos+s.BS, len(s.Idx))]
	s.pos += len(ev)
	b := &Batch{Cutoff: s.S.Time[ev[0]], Events: ev}
	for _, i := range ev {
		b.Src = append(b.Src, s.S.Src[i])
		b.Dst = append(b.Dst, s.S.Dst[i])
		b.NegDst = append(b.NegDst, s.dsts[s.rng.Intn(len(s.dsts))])
	}
	b.NegSrc = slices.Clone(b.Src)
	return b
}

type samplerState struct {
	Pos int    `json:"pos"`
	RNG []byte `json:"rng"`
}

// State returns the sampler's position.
func (s *Sampler) State() ([]byte, error) {
	r, err := s.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(samplerState{s.pos, r})
}

// SetState restores a position State returned.
func (s *Sampler) SetState(b []byte) error {
	var st samplerState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Pos < 0 || st.Pos > len(s.Idx) {
		return fmt.Errorf("tgraph: sampler position %d of %d events", st.Pos, len(s.Idx))
	}
	s.pos = st.Pos
	return s.rng.UnmarshalBinary(st.RNG)
}

// Trainer adapts a LinkModel to train.Loop: the objective of a batch is
// the binary cross-entropy of its positives (label 1) and negatives (label
// 0), as in DyGLib, with the model reading H (the training events:
// TrainHistory).
type Trainer struct {
	M LinkModel
	H *History
}

// TrainHistory is the history a model trains on: the split's training
// events.
func TrainHistory(s *events.Stream, sp *events.Split) *History {
	return &History{S: s, Idx: sp.Train}
}

// Params returns the model's parameters.
func (t Trainer) Params() []*autograd.Var { return t.M.Params() }

// Loss is the mean binary cross-entropy over the batch's 2·n pairs.
func (t Trainer) Loss(ctx *nn.Ctx, b *Batch) *autograd.Var {
	src := append(slices.Clone(b.Src), b.NegSrc...)
	dst := append(slices.Clone(b.Dst), b.NegDst...)
	labels := make([]bool, len(src))
	for i := range b.Src {
		labels[i] = true
	}
	return BCEWithLogits(t.M.Logits(ctx, t.H, b.Cutoff, src, dst), labels)
}

// BCEWithLogits is the mean binary cross-entropy of logits x [n] against
// labels, −log σ(x) for a positive and −log(1 − σ(x)) for a negative,
// computed stably as softplus(∓x) = max(∓x, 0) + log(1 + e^−|x|).
func BCEWithLogits(x *autograd.Var, labels []bool) *autograd.Var {
	sign := make([]float32, len(labels))
	for i, y := range labels {
		sign[i] = 1
		if y {
			sign[i] = -1
		}
	}
	z := autograd.Mul(x, autograd.Const(tensor.FromFloat32(sign, len(sign)).To(x.Value.DType())))
	sp := autograd.Add(autograd.Relu(z), autograd.Log(autograd.AddScalar(autograd.Exp(autograd.Neg(autograd.Abs(z))), 1)))
	return autograd.Mean(sp, false)
}
