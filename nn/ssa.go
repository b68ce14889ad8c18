package nn

import (
	"fmt"
	"sync"

	"github.com/loomml/loom/tensor"
)

// SSA is stochastically subsampled self-attention (Hussain, Zaki and
// Subramanian, "The Information Pathways Hypothesis: Transformers are
// Dynamic Self-Ensembles", arXiv 2306.01705) for the attention layers it is
// set on (Attention.SSA; one SSA may serve every layer of a model): in
// training, each call draws a new plan (tensor.SampleSSA: per batch row,
// head and query tile of 64 positions, the diagonal key tile plus
// ⌈Ratio·visible⌉ − 1 others drawn without replacement with weights
// (1 + tile distance)^(−Locality)) and the fused kernel computes only the
// sampled tiles, forward and backward. At evaluation attention is dense
// unless Ensemble is set (the paper's self-ensembling: average the
// predictions of several subsampled passes); Off makes it dense
// everywhere (the paper's dense fine-tune after SSA training).
//
// Subsampling applies to self-attention over a whole sequence (no cache,
// no per-call bias or attention dropout: those calls stay dense).
type SSA struct {
	Ratio    float64 // share of the visible key tiles each query tile keeps, (0, 1]
	Locality float64 // ≥ 0: 0 samples tiles uniformly, larger favours near tiles
	Ensemble bool    // subsample at evaluation too
	Off      bool    // dense everywhere

	mu             sync.Mutex
	rng            *tensor.RNG
	sampled, dense int64
}

// NewSSA returns the sampler, drawing from a generator seeded with seed.
func NewSSA(ratio, locality float64, seed uint64) (*SSA, error) {
	if !(ratio > 0 && ratio <= 1) {
		return nil, fmt.Errorf("SSA ratio %v, want a number in (0, 1]", ratio)
	}
	if !(locality >= 0) {
		return nil, fmt.Errorf("SSA locality %v, want a number ≥ 0", locality)
	}
	return &SSA{Ratio: ratio, Locality: locality, rng: tensor.NewRNG(seed)}, nil
}

// Active reports whether a call with ctx subsamples.
func (s *SSA) Active(ctx *Ctx) bool {
	return s != nil && !s.Off && (ctx.Training() || s.Ensemble)
}

// Plan draws the plan of one self-attention call over B rows of H heads
// and T positions, or returns nil when the call is dense (s nil or not
// active for ctx).
func (s *SSA) Plan(ctx *Ctx, B, H, T int, causal bool) *tensor.SSAPlan {
	if !s.Active(ctx) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := tensor.SampleSSA(s.rng, B, H, T, s.Ratio, s.Locality, causal)
	if err != nil {
		panic(err.Error()) // Ratio and Locality were checked by NewSSA
	}
	a, d := p.Pairs()
	s.sampled += a
	s.dense += d
	return p
}

// Pairs returns the (query, key) pairs computed by the subsampled calls so
// far and what dense attention would have computed in the same calls: their
// ratio is the measured share of attention's FLOPs (and of the score
// entries a non-fused attention would hold).
func (s *SSA) Pairs() (sampled, dense int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sampled, s.dense
}

// ResetPairs clears the counts Pairs returns.
func (s *SSA) ResetPairs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sampled, s.dense = 0, 0
}

// Reseed restarts the generator from seed.
func (s *SSA) Reseed(seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rng = tensor.NewRNG(seed)
}
