package guidance

import (
	"fmt"

	"github.com/loomml/loom/tensor"
)

// CopyTask is the paper's copy-paste task (language_modeling/copy_paste.py)
// at a fixed length: Len random symbols from 0…Symbols−1, a copy token,
// Len blanks and an end token; the model must emit, at each blank, the
// symbol Len+1 positions back, then the end token. Positions before the
// copy are not scored. Tokens: symbols 0…Symbols−1, Blank = Symbols, Copy
// = Symbols+1, EOS = Symbols+2 (with 10 symbols, copy 11 and end 12 as in
// the paper's code, whose vocabulary of 13 leaves 10 unused; the paper's
// blank is 0, which collides with symbol 0 and makes its loss ignore every
// copied 0 — here the blank has its own token and every copied symbol is
// scored).
type CopyTask struct {
	Len, Symbols int
}

// Ignore marks a target that is not scored.
const Ignore = -1

// Validate reports whether the task is well formed.
func (c CopyTask) Validate() error {
	if c.Len < 1 || c.Symbols < 2 {
		return fmt.Errorf("guidance: copy task of length %d over %d symbols; want length ≥ 1 and ≥ 2 symbols", c.Len, c.Symbols)
	}
	return nil
}

// Vocab is Symbols + 3.
func (c CopyTask) Vocab() int { return c.Symbols + 3 }

// T is the sequence length 2·Len + 2.
func (c CopyTask) T() int { return 2*c.Len + 2 }

// Sample draws n sequences: the inputs and their targets (one per token,
// Ignore where not scored).
func (c CopyTask) Sample(n int, rng *tensor.RNG) Batch {
	T := c.T()
	ids := make([]int, 0, n*T)
	tg := make([]int, 0, n*T)
	for range n {
		seq := make([]int, c.Len)
		for i := range seq {
			seq[i] = rng.Intn(c.Symbols)
		}
		ids = append(ids, seq...)
		ids = append(ids, c.Symbols+1)
		for range c.Len {
			ids = append(ids, c.Symbols)
		}
		ids = append(ids, c.Symbols+2)
		for range c.Len + 1 {
			tg = append(tg, Ignore)
		}
		tg = append(tg, seq...)
		tg = append(tg, c.Symbols+2)
	}
	return Batch{In: Input{IDs: ids, B: n, T: T}, Targets: tg}
}
