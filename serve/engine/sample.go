package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/loomml/loom/tensor"
)

// MaxTopLogprobs is the most alternatives a request may ask for.
const MaxTopLogprobs = 20

// Validate reports the first field of r out of its range for a model of
// vocab token ids, naming the field and the range.
func (r *Request) Validate(vocab int) error {
	switch {
	case len(r.Prompt) == 0:
		return errors.New("engine: Prompt is empty; give at least one token")
	case r.MaxTokens < 1:
		return fmt.Errorf("engine: MaxTokens %d: want ≥ 1", r.MaxTokens)
	case !(r.Temperature >= 0) || math.IsInf(r.Temperature, 1):
		return fmt.Errorf("engine: Temperature %v: want a finite value ≥ 0 (0: greedy)", r.Temperature)
	case !(r.TopP >= 0 && r.TopP <= 1):
		return fmt.Errorf("engine: TopP %v: want 0 < p ≤ 1 (0 or 1: all tokens)", r.TopP)
	case r.TopK < 0:
		return fmt.Errorf("engine: TopK %d: want ≥ 0 (0: all tokens)", r.TopK)
	case !(r.PresencePenalty >= -2 && r.PresencePenalty <= 2):
		return fmt.Errorf("engine: PresencePenalty %v: want −2 … 2", r.PresencePenalty)
	case !(r.FrequencyPenalty >= -2 && r.FrequencyPenalty <= 2):
		return fmt.Errorf("engine: FrequencyPenalty %v: want −2 … 2", r.FrequencyPenalty)
	case !(r.RepetitionPenalty >= 0) || math.IsInf(r.RepetitionPenalty, 1):
		return fmt.Errorf("engine: RepetitionPenalty %v: want a finite value > 0 (0 or 1: off)", r.RepetitionPenalty)
	case r.TopLogprobs < 0 || r.TopLogprobs > MaxTopLogprobs:
		return fmt.Errorf("engine: TopLogprobs %d: want 0 … %d", r.TopLogprobs, MaxTopLogprobs)
	}
	for i, id := range r.Prompt {
		if id < 0 || id >= vocab {
			return fmt.Errorf("engine: Prompt[%d] is token %d, outside the vocabulary of %d", i, id, vocab)
		}
	}
	for i, id := range r.StopTokens {
		if id < 0 || id >= vocab {
			return fmt.Errorf("engine: StopTokens[%d] is token %d, outside the vocabulary of %d", i, id, vocab)
		}
	}
	return nil
}

// sampler picks one request's tokens from logits: the penalties, the
// constraint's mask, the log-probabilities, then temperature, top-k and
// top-p (Hugging Face's order) and a draw from the request's own random
// stream (seeded with Request.Seed), so a request's tokens depend only on
// its logits and its seed.
type sampler struct {
	r       *Request
	rng     *tensor.RNG
	seen    map[int]bool // prompt and output ids (repetition penalty)
	counts  map[int]int  // output ids (presence and frequency penalties)
	l       []float64
	base    []float64 // l before temperature and filters (logprobs)
	allowed []bool
	order   []int
}

func newSampler(r *Request) *sampler {
	s := &sampler{r: r, rng: tensor.NewRNG(r.Seed), seen: map[int]bool{}, counts: map[int]int{}}
	for _, id := range r.Prompt {
		s.seen[id] = true
	}
	return s
}

// errNoToken is returned when a constraint allows no token.
var errNoToken = errors.New("engine: the constraint allows no next token")

// pick returns the next token, its log-probability and (when asked) the
// most likely alternatives, and records the token for the penalties (the
// caller advances the constraint).
func (s *sampler) pick(logits []float32) (id int, logprob float64, top []Alt, err error) {
	r := s.r
	V := len(logits)
	if cap(s.l) < V {
		s.l = make([]float64, V)
	}
	l := s.l[:V]
	for i, v := range logits {
		l[i] = float64(v)
	}
	if p := r.RepetitionPenalty; p > 0 && p != 1 {
		for id := range s.seen {
			if l[id] > 0 {
				l[id] /= p
			} else {
				l[id] *= p
			}
		}
	}
	if r.PresencePenalty != 0 || r.FrequencyPenalty != 0 {
		for id, n := range s.counts {
			l[id] -= r.PresencePenalty + r.FrequencyPenalty*float64(n)
		}
	}
	if r.Constraint != nil {
		if cap(s.allowed) < V {
			s.allowed = make([]bool, V)
		}
		a := s.allowed[:V]
		for i := range a {
			a[i] = true
		}
		r.Constraint.Mask(a)
		any := false
		for i, ok := range a {
			if !ok {
				l[i] = math.Inf(-1)
			} else {
				any = true
			}
		}
		if !any {
			return 0, 0, nil, errNoToken
		}
	}
	// Log-probabilities under the penalised, masked distribution at
	// temperature 1.
	// (choose changes l, so they are read from a copy.)
	var lse float64
	var base []float64
	if r.Logprobs {
		lse = logSumExp(l)
		s.base = append(s.base[:0], l...)
		base = s.base
	}
	id = s.choose(l)
	if r.Logprobs {
		logprob = base[id] - lse
		if k := r.TopLogprobs; k > 0 {
			for _, i := range topK(base, k) {
				top = append(top, Alt{Token: i, Logprob: base[i] - lse})
			}
		}
	}
	s.seen[id] = true
	s.counts[id]++
	return id, logprob, top, nil
}

// choose applies temperature, top-k and top-p to l (changing it) and
// draws a token (the argmax at temperature 0).
func (s *sampler) choose(l []float64) int {
	r := s.r
	if r.Temperature == 0 {
		best := 0
		for i, v := range l {
			if v > l[best] {
				best = i
			}
		}
		return best
	}
	for i := range l {
		l[i] /= r.Temperature
	}
	// Candidates, most likely first (only as many as top-k keeps when no
	// top-p needs the full order).
	keep := len(l)
	if r.TopK > 0 && r.TopK < keep {
		keep = r.TopK
	}
	var cand []int
	if keep < len(l) || (r.TopP > 0 && r.TopP < 1) {
		cand = topK(l, keep)
	} else {
		if cap(s.order) < len(l) {
			s.order = make([]int, len(l))
		}
		cand = s.order[:len(l)]
		for i := range cand {
			cand[i] = i
		}
	}
	mx := math.Inf(-1)
	for _, i := range cand {
		mx = max(mx, l[i])
	}
	probs := make([]float64, len(cand))
	var sum float64
	for j, i := range cand {
		probs[j] = math.Exp(l[i] - mx)
		sum += probs[j]
	}
	if r.TopP > 0 && r.TopP < 1 {
		var c float64
		for j := range probs {
			c += probs[j] / sum
			if c >= r.TopP {
				probs, cand = probs[:j+1], cand[:j+1]
				break
			}
		}
		sum = 0
		for _, p := range probs {
			sum += p
		}
	}
	u := s.rng.Float64() * sum
	for j, p := range probs {
		u -= p
		if u < 0 {
			return cand[j]
		}
	}
	// Rounding left u ≥ 0: the last candidate with any probability.
	for j := len(probs) - 1; j > 0; j-- {
		if probs[j] > 0 {
			return cand[j]
		}
	}
	return cand[0]
}

// topK returns the indices of the k largest values of l, largest first
// (ties: lower index first); −Inf entries are left out.
func topK(l []float64, k int) []int {
	if k > 64 { // a full sort beats insertion
		idx := make([]int, 0, len(l))
		for i, v := range l {
			if !math.IsInf(v, -1) && !math.IsNaN(v) {
				idx = append(idx, i)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool { return l[idx[a]] > l[idx[b]] })
		return idx[:min(k, len(idx))]
	}
	idx := make([]int, 0, k+1)
	for i, v := range l {
		if math.IsInf(v, -1) || math.IsNaN(v) {
			continue
		}
		if len(idx) == k && v <= l[idx[k-1]] {
			continue
		}
		at := sort.Search(len(idx), func(j int) bool { return l[idx[j]] < v })
		idx = slices.Insert(idx, at, i)
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}

func logSumExp(l []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range l {
		mx = max(mx, v)
	}
	if math.IsInf(mx, -1) {
		return mx
	}
	var s float64
	for _, v := range l {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}
