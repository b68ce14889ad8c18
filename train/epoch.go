package train

import (
	"encoding/json"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Examples is a set of examples that makes batches of its own type.
type Examples[B any] interface {
	Len() int
	Batch(idx []int) B
}

// EpochSampler yields batches of a shuffled permutation of a set,
// reshuffled each epoch (a partial last batch is skipped); its state (the
// RNG, the permutation and the position) resumes exactly.
type EpochSampler[B any] struct {
	ex   Examples[B]
	bs   int
	rng  *tensor.RNG
	perm []int
	pos  int
}

// NewEpochSampler samples batches of bs (at most the set's size) from ex.
func NewEpochSampler[B any](ex Examples[B], bs int, seed uint64) *EpochSampler[B] {
	return &EpochSampler[B]{ex: ex, bs: max(1, min(bs, ex.Len())), rng: tensor.NewRNG(seed)}
}

// Next returns the next batch.
func (s *EpochSampler[B]) Next() B {
	if s.perm == nil || s.pos+s.bs > len(s.perm) {
		s.perm, s.pos = s.rng.Perm(s.ex.Len()), 0
	}
	idx := s.perm[s.pos : s.pos+s.bs]
	s.pos += s.bs
	return s.ex.Batch(idx)
}

type epochState struct {
	RNG  []byte
	Perm []int
	Pos  int
}

// State returns the sampler's position.
func (s *EpochSampler[B]) State() ([]byte, error) {
	r, err := s.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(epochState{r, s.perm, s.pos})
}

// SetState restores a position State returned.
func (s *EpochSampler[B]) SetState(b []byte) error {
	var st epochState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	s.perm, s.pos = st.Perm, st.Pos
	return s.rng.UnmarshalBinary(st.RNG)
}

// Labelled is a set of examples with a class each.
type Labelled[B any] interface {
	Examples[B]
	Label(i int) int
}

// Classifier maps a batch to logits [B, classes].
type Classifier[B any] interface {
	Logits(ctx *nn.Ctx, b B) *autograd.Var
}

// Accuracy is the fraction of ex that m classifies right (the largest
// logit, first on ties), in evaluation mode, in batches of bs.
func Accuracy[B any](m Classifier[B], ex Labelled[B], bs int) float64 {
	return Score(m, ex, bs).Accuracy
}

// Scores are a classifier's results on labelled examples.
type Scores struct {
	Examples int
	Accuracy float64 // fraction classified right (the largest logit, first on ties)
	Loss     float64 // mean cross-entropy, nats per example (in float64)
	// Count and Right are each class's examples and those classified
	// right, indexed by label (as long as the logits are wide).
	Count, Right []int
}

// Score scores m on ex in evaluation mode, in batches of bs.
func Score[B any](m Classifier[B], ex Labelled[B], bs int) Scores {
	var s Scores
	s.Examples = ex.Len()
	right := 0
	autograd.NoGrad(func() {
		for lo := 0; lo < ex.Len(); lo += bs {
			idx := make([]int, 0, bs)
			for i := lo; i < min(lo+bs, ex.Len()); i++ {
				idx = append(idx, i)
			}
			logits := m.Logits(nil, ex.Batch(idx)).Value
			C := logits.Dim(1)
			if s.Count == nil {
				s.Count, s.Right = make([]int, C), make([]int, C)
			}
			v := logits.Float32s()
			for r, i := range idx {
				row, y := v[r*C:(r+1)*C], ex.Label(i)
				s.Loss += crossEntropy(row, y)
				s.Count[y]++
				if Argmax(row) == y {
					right++
					s.Right[y]++
				}
			}
		}
	})
	n := float64(max(1, ex.Len()))
	s.Accuracy, s.Loss = float64(right)/n, s.Loss/n
	return s
}

// crossEntropy is −log softmax(logits)[y], in float64.
func crossEntropy(logits []float32, y int) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	z := 0.0
	for _, v := range logits {
		z += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(z) - float64(logits[y])
}

// FineTuneHyper is the fine-tuning recipe of PETL-AST's code (AdamW with
// β = 0.9, 0.98 and ε = 10⁻⁶, cosine decay to 0) with a 5 % warmup, for
// steps optimizer steps of batch examples.
func FineTuneHyper(steps, batch int, lr, weightDecay float64) Hyper {
	return Hyper{Steps: steps, BatchSize: batch, LR: lr, Warmup: max(1, steps/20), MinLRFactor: 0,
		WeightDecay: weightDecay, Beta1: 0.9, Beta2: 0.98, Eps: 1e-6}
}

// Repeat is a sampler that yields the same batch every time (overfitting
// checks, tests); it has no state to save.
type Repeat[B any] struct{ Batch B }

// Next returns the batch.
func (r Repeat[B]) Next() B { return r.Batch }

// State is empty.
func (Repeat[B]) State() ([]byte, error) { return nil, nil }

// SetState accepts any state.
func (Repeat[B]) SetState([]byte) error { return nil }

// Argmax returns the index of the largest of v (the first on ties; 0 for
// an empty v): the predicted class of a row of logits.
func Argmax(v []float32) int {
	best := 0
	for c := 1; c < len(v); c++ {
		if v[c] > v[best] {
			best = c
		}
	}
	return best
}
