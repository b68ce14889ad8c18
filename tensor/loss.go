package tensor

import (
	"fmt"
	"math"
)

// CrossEntropy returns the mean cross-entropy of logits [N, C] (or [..., C])
// against integer targets (one per row), as torch.nn.functional.cross_entropy:
// rows whose target is ignoreIndex do not count, and with label smoothing ε the
// target distribution is (1−ε)·onehot + ε/C. It also returns the
// log-probabilities (for the backward pass) and the number of counted rows.
// With no counted rows the loss is NaN, as in PyTorch.
func CrossEntropy(logits *Tensor, targets []int, ignoreIndex int, smoothing float64) (loss float64, logp *Tensor, count int) {
	C := logits.Dim(-1)
	N := logits.Numel() / max(C, 1)
	if len(targets) != N {
		panic(fmt.Sprintf("tensor: cross-entropy of logits %v with %d targets, want %d", logits.shape, len(targets), N))
	}
	logp = LogSoftmax(logits, -1)
	lp := logp.Float64s()
	var sum float64
	for i, t := range targets {
		if t == ignoreIndex {
			continue
		}
		if t < 0 || t >= C {
			panic(fmt.Sprintf("tensor: cross-entropy target %d out of range [0, %d) at row %d", t, C, i))
		}
		row := lp[i*C : (i+1)*C]
		l := -(1 - smoothing) * row[t]
		if smoothing != 0 {
			var all float64
			for _, v := range row {
				all += v
			}
			l -= smoothing * all / float64(C)
		}
		sum += l
		count++
	}
	if count == 0 {
		return math.NaN(), logp, 0
	}
	return sum / float64(count), logp, count
}

// DropoutMask returns a mask for inverted dropout with drop probability p:
// each element is 0 with probability p and 1/(1−p) otherwise.
func DropoutMask(r *RNG, p float64, dt DType, shape ...int) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor: dropout probability %v outside [0, 1)", p))
	}
	m := New(dt, shape...)
	keep := 1 / (1 - p)
	// One draw per element, in order (the stream seeded runs depend on).
	// r.Float64() is (u>>11)·2⁻⁵³ for u = r.Uint64(), so r.Float64() ≥ p
	// exactly when u>>11 ≥ ⌈p·2⁵³⌉: the same mask without the conversion.
	t := uint64(math.Ceil(p * (1 << 53)))
	if dt == Float32 {
		k32 := float32(keep)
		for i := range m.f32 {
			if r.Uint64()>>11 >= t {
				m.f32[i] = k32
			}
		}
		return m
	}
	for i := range m.f64 {
		if r.Uint64()>>11 >= t {
			m.f64[i] = keep
		}
	}
	return m
}
