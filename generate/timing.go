package generate

import (
	"fmt"
	"sort"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

// Timing is the speed of greedy decoding with the cache.
type Timing struct {
	Context     int           // positions attended by the last step
	Prefill     time.Duration // of Context−Tokens prompt tokens
	Steps       []time.Duration
	TokensPerS  float64 // decoded tokens over the decoding time
	MsPerToken  float64 // median step
	PrefillTokS float64
}

// Time prefills ctx−n deterministic tokens, then times n single-token
// greedy steps with the cache, so the last steps attend to ctx positions.
func Time(m Model, ctx, n int) (Timing, error) {
	if n < 1 || ctx <= n || ctx > m.MaxPositions() {
		return Timing{}, fmt.Errorf("generate: timing %d tokens at context %d (the model has %d positions)", n, ctx, m.MaxPositions())
	}
	cache := m.NewCache(1, ctx)
	prompt := make([]int, ctx-n)
	for i := range prompt {
		prompt[i] = (i*31 + 7) % min(m.VocabSize(), 256)
	}
	var logits *autograd.Var
	t0 := time.Now()
	autograd.NoGrad(func() { logits = ForwardLast(m, &nn.Ctx{Cache: cache}, prompt, 1, len(prompt)) })
	res := Timing{Context: ctx, Prefill: time.Since(t0)}
	next := argmax(lastRow(logits))
	start := time.Now()
	for i := range n {
		t := time.Now()
		autograd.NoGrad(func() { logits = m.Forward(&nn.Ctx{Cache: cache, Pos: len(prompt) + i}, []int{next}, 1, 1) })
		next = argmax(lastRow(logits))
		res.Steps = append(res.Steps, time.Since(t))
	}
	total := time.Since(start)
	sorted := append([]time.Duration(nil), res.Steps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	res.TokensPerS = float64(n) / total.Seconds()
	res.MsPerToken = float64(sorted[len(sorted)/2].Microseconds()) / 1000
	res.PrefillTokS = float64(len(prompt)) / res.Prefill.Seconds()
	return res, nil
}

// argmax is the index of the largest value, the first of ties: the greedy
// choice of Sample and of Time.
func argmax[T float32 | float64](xs []T) int {
	best := 0
	for i, v := range xs {
		if v > xs[best] {
			best = i
		}
	}
	return best
}
