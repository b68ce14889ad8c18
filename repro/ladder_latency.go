package repro

import (
	"fmt"
	"slices"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// decodeLatency is what `loom bench decode` measures, at batch 1 with the
// key/value cache (f16, loom's default): the median time of a
// single-token decoding step, and the time to prefill a prompt.
type decodeLatency struct {
	DecodeMs  float64 // median step, ms/token
	PrefillMs float64 // median prefill of PrefillLen tokens, ms
}

// ladderPrefill is the prompt length whose prefill is timed; ladderDecode
// the decoding steps timed per repeat (after a prefill of
// ladderPrefill−ladderDecode tokens, so the last step attends to
// ladderPrefill positions, the quickstart's whole context).
const (
	ladderPrefill = 128
	ladderDecode  = 64
)

// medianOf returns the median of xs (the mean of the middle two for an
// even count); xs is not changed.
func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// measureDecoder times m at the given thread count: repeats runs of
// generate.Time (prefill, then ladderDecode greedy steps, its median step)
// and repeats prefills of ladderPrefill tokens into an empty cache, after
// one warm-up of each; it returns the medians over the repeats. The thread
// setting is restored afterwards.
func measureDecoder(m *decoder.Model, threads, repeats int) (decodeLatency, error) {
	if m.MaxPositions() < ladderPrefill {
		return decodeLatency{}, fmt.Errorf("timing needs a context of %d positions, the model has %d", ladderPrefill, m.MaxPositions())
	}
	if err := m.SetCacheDType(tensor.Float16); err != nil {
		return decodeLatency{}, err
	}
	old := kernels.SetThreads(threads)
	defer kernels.SetThreads(old)
	prompt := make([]int, ladderPrefill)
	for i := range prompt {
		prompt[i] = (i*31 + 7) % min(m.VocabSize(), 256)
	}
	prefill := func() time.Duration {
		cache := m.NewCache(1, ladderPrefill)
		t0 := time.Now()
		autograd.NoGrad(func() { generate.ForwardLast(m, &nn.Ctx{Cache: cache}, prompt, 1, len(prompt)) })
		return time.Since(t0)
	}
	var dec, pre []float64
	for r := range repeats + 1 {
		t, err := generate.Time(m, ladderPrefill, ladderDecode)
		if err != nil {
			return decodeLatency{}, err
		}
		p := prefill()
		if r == 0 {
			continue // warm-up
		}
		dec = append(dec, t.MsPerToken)
		pre = append(pre, float64(p.Microseconds())/1000)
	}
	return decodeLatency{DecodeMs: medianOf(dec), PrefillMs: medianOf(pre)}, nil
}

// weightBytes is the size of m's parameters as its forward reads them:
// block-quantised tensors as their blocks, float tensors as float32, and
// the block linears packed in the 2:4 layout (packed24, when positive) as
// those packed bytes instead of their dense copies.
func weightBytes(m *decoder.Model, packed24 int64) int64 {
	var n int64
	lin := map[*autograd.Var]bool{}
	if packed24 > 0 {
		for _, l := range m.BlockLinears() {
			lin[l.Weight] = true
		}
	}
	for _, p := range m.Params() {
		switch {
		case lin[p]:
		case p.Value.DType().Packed():
			n += int64(len(p.Value.Raw()))
		default:
			n += 4 * int64(p.Value.Numel())
		}
	}
	return n + packed24
}
