package encoder

import (
	"math"
	"slices"
	"testing"
)

// TestMLMExamples: about 15 % of ordinary tokens are chosen, 80/10/10
// masked/replaced/kept; specials and padding never; the same batch is drawn
// the same way twice.
func TestMLMExamples(t *testing.T) {
	const pad, cls, mask, V = 0, 1, 2, 50
	var rows [][]int
	for i := range 400 {
		row := []int{cls}
		for j := range 60 + i%7 {
			row = append(row, 3+(i*7+j)%(V-3))
		}
		rows = append(rows, row)
	}
	e := &MLMExamples{Rows: rows, Pad: pad, Mask: mask, Special: func(id int) bool { return id < 3 }, Vocab: V, Seed: 5}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	b := e.Batch(idx)
	chosen, masked, kept, total := 0, 0, 0, 0
	for r, row := range rows {
		for j, id := range row {
			k := r*b.T + j
			if id < 3 {
				if b.MLMLabels[k] != IgnoreIndex || b.IDs[k] != id {
					t.Fatalf("special token at %d,%d chosen or changed", r, j)
				}
				continue
			}
			total++
			if b.MLMLabels[k] == IgnoreIndex {
				if b.IDs[k] != id {
					t.Fatalf("unchosen token at %d,%d changed", r, j)
				}
				continue
			}
			chosen++
			switch {
			case b.IDs[k] == mask:
				masked++
			case b.IDs[k] == id:
				kept++
			}
		}
		for j := len(row); j < b.T; j++ {
			if b.IDs[r*b.T+j] != pad || b.MLMLabels[r*b.T+j] != IgnoreIndex {
				t.Fatalf("padding at %d,%d", r, j)
			}
		}
	}
	frac := float64(chosen) / float64(total)
	if math.Abs(frac-0.15) > 0.01 || math.Abs(float64(masked)/float64(chosen)-0.8) > 0.03 || math.Abs(float64(kept)/float64(chosen)-0.1) > 0.03 {
		t.Fatalf("chosen %.3f of tokens, masked %.3f and kept %.3f of those", frac, float64(masked)/float64(chosen), float64(kept)/float64(chosen))
	}
	if !slices.Equal(e.Batch(idx).IDs, b.IDs) {
		t.Fatal("the same batch drew other masks")
	}
}
