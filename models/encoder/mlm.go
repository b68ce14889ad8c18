package encoder

import "github.com/loomml/loom/tensor"

// MLMExamples are token rows for masked-language-model pre-training, as
// BERT's (Devlin et al., arXiv 1810.04805; transformers'
// DataCollatorForLanguageModeling): in each batch, 15 % of the
// non-special tokens of every row are chosen; of those 80 % become the
// mask token, 10 % a random ordinary token and 10 % stay; the model
// predicts the chosen ones (MLMLabels), nothing else. The choice is drawn
// from Seed and the batch's rows, so a batch is the same whenever it is
// made (resumed runs see the same masks).
type MLMExamples struct {
	Rows    [][]int
	Pad     int
	Mask    int
	Special func(id int) bool // tokens never chosen ([CLS], [SEP], padding)
	Vocab   int               // random replacements are drawn from [0, Vocab) minus specials
	Seed    uint64
	// Prob is the chosen fraction (0: 0.15).
	Prob float64
}

// Len is the number of rows.
func (e *MLMExamples) Len() int { return len(e.Rows) }

// Batch returns rows idx, padded on the right, with their masks drawn.
func (e *MLMExamples) Batch(idx []int) Batch {
	p := e.Prob
	if p == 0 {
		p = 0.15
	}
	seed := e.Seed
	for _, i := range idx {
		seed = seed*0x9E3779B97F4A7C15 + uint64(i) + 1
	}
	r := tensor.NewRNG(seed)
	b := padded(e.Rows, idx, e.Pad)
	T := b.T
	b.MLMLabels = make([]int, len(idx)*T)
	for k := range b.MLMLabels {
		b.MLMLabels[k] = IgnoreIndex
	}
	for row, i := range idx {
		ids := b.IDs[row*T : (row+1)*T]
		for j, id := range e.Rows[i] {
			if e.Special != nil && e.Special(id) || r.Float64() >= p {
				continue
			}
			b.MLMLabels[row*T+j] = id
			switch u := r.Float64(); {
			case u < 0.8:
				ids[j] = e.Mask
			case u < 0.9:
				for {
					t := r.Intn(e.Vocab)
					if e.Special == nil || !e.Special(t) {
						ids[j] = t
						break
					}
				}
			}
		}
	}
	return b
}
