// Package sparse prunes individual weights of a model's linear layers, the
// first rungs of the compression ladder of "A Survey of Techniques for
// Optimizing Transformer Inference" (arXiv 2307.07982):
//
//   - unstructured magnitude pruning (Han et al., "Learning both Weights
//     and Connections for Efficient Neural Networks", arXiv 1506.02626):
//     the fraction ratio of weights with the smallest |w| is set to zero,
//     either in each layer (ScopeLayer) or over all layers at once
//     (ScopeGlobal, one threshold);
//   - 2:4 semi-structured pruning (Mishra et al., "Accelerating Sparse Deep
//     Neural Networks", arXiv 2104.08378): in every group of 4 consecutive
//     weights along an input row the 2 smallest |w| are set to zero, the
//     pattern sparse tensor cores and kernels.MatMul24 multiply in half the
//     work.
//
// Both leave zeros in the dense weights, so the pruned model loads and runs
// everywhere. Unstructured sparsity has no kernel here: it saves nothing at
// run time and the dense file is as large as before; its only gain is size
// under a sparse or compressed encoding (Stats.SparseBytes). The 2:4
// pattern can be packed (Pack24) for kernels.MatMul24.
//
// The weights pruned are those of the nn.Linear layers inside the decoder
// blocks or the encoder layers (attention projections and the FFN:
// Targets, EncoderTargets); the embedding table, an encoder's pooler and
// the output or task head are kept dense, as in the magnitude and 2:4
// baselines of the LLM pruning literature.
package sparse

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Scopes of magnitude pruning.
const (
	ScopeLayer  = "layer"  // the same ratio in every layer
	ScopeGlobal = "global" // one threshold over all layers
)

// Target is one prunable weight matrix [out, in].
type Target struct {
	Name    string    // checkpoint name of the weight
	Out, In int       // its shape
	W       []float32 // its values, aliased: pruning writes here
}

// Targets lists the weights of the linear layers in m's blocks. It returns
// an error when the model has none or one is not a contiguous float32
// matrix (a quantised model: prune the float model, then quantise).
func Targets(m *decoder.Model) ([]Target, error) {
	blocks := make([]nn.Module, len(m.Layers))
	for i, b := range m.Layers {
		blocks[i] = b
	}
	return blockTargets(blocks, "the model ("+m.Config.LayoutName()+" layout)")
}

// EncoderTargets lists the weights of the linear layers in an encoder's
// layers (attention projections and FFN; not the embeddings, the pooler or
// the task head), with Targets' errors.
func EncoderTargets(m *encoder.Model) ([]Target, error) {
	blocks := make([]nn.Module, len(m.Layers))
	for i, b := range m.Layers {
		blocks[i] = b
	}
	return blockTargets(blocks, "the encoder ("+m.Config.Architecture()+")")
}

// blockTargets lists the float32 weights of the nn.Linear layers inside
// blocks, each once.
func blockTargets(blocks []nn.Module, what string) ([]Target, error) {
	var out []Target
	seen := map[*tensor.Tensor]bool{} // a weight shared by layers is pruned once
	for i, b := range blocks {
		err := nn.Walk(b, func(n *nn.Node) error {
			l, ok := n.Module.(*nn.Linear)
			if !ok || l == nil || l.Weight == nil {
				return nil
			}
			w := l.Weight.Value
			if seen[w] {
				return nil
			}
			seen[w] = true
			name := cmp.Or(l.Weight.Name, fmt.Sprintf("layer %d %s", i, n.Path))
			if w.DType() != tensor.Float32 || len(w.Shape()) != 2 || !w.IsContiguous() {
				return fmt.Errorf("%s: a %s tensor %v: weight pruning needs contiguous float32 matrices (prune the float model, then quantise)",
					name, w.DType(), w.Shape())
			}
			out = append(out, Target{Name: name, Out: w.Dim(0), In: w.Dim(1), W: w.F32()})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no linear layers in its blocks to prune", what)
	}
	return out, nil
}

// Layer is one target's result.
type Layer struct {
	Name     string  `json:"name"`
	Weights  int     `json:"weights"`
	Zeros    int     `json:"zeros"`
	Sparsity float64 `json:"sparsity"`
}

// Stats summarises a pruning.
type Stats struct {
	Method   string  `json:"method"`
	Scope    string  `json:"scope,omitempty"`
	Ratio    float64 `json:"ratio"`
	Weights  int     `json:"weights"` // in the targets
	Zeros    int     `json:"zeros"`   // in the targets, after pruning
	Sparsity float64 `json:"sparsity"`
	// DenseBytes is the targets' size as float32; SparseBytes their size
	// in the method's compact encoding: for 2:4 the values and 2-bit
	// indices (the storage format's minimum; kernels.Packed24, the layout
	// the kernel reads, spends a byte per index: its Bytes), unstructured
	// the non-zeros with a 4-byte index each.
	DenseBytes  int64   `json:"dense_bytes"`
	SparseBytes int64   `json:"sparse_bytes"`
	Layers      []Layer `json:"layers"`
}

func stats(method, scope string, ratio float64, ts []Target) Stats {
	s := Stats{Method: method, Scope: scope, Ratio: ratio}
	for _, t := range ts {
		z := 0
		for _, v := range t.W {
			if v == 0 {
				z++
			}
		}
		s.Layers = append(s.Layers, Layer{Name: t.Name, Weights: len(t.W), Zeros: z, Sparsity: float64(z) / float64(len(t.W))})
		s.Weights += len(t.W)
		s.Zeros += z
	}
	s.Sparsity = float64(s.Zeros) / float64(s.Weights)
	s.DenseBytes = 4 * int64(s.Weights)
	if method == "2:4" {
		for _, t := range ts {
			g := int64(len(t.W) / 4)
			s.SparseBytes += 4*2*g + (g+1)/2
		}
	} else {
		s.SparseBytes = 8 * int64(s.Weights-s.Zeros)
	}
	return s
}

// Magnitude zeroes the round(ratio·n) weights of smallest |w|, n counted
// per target (ScopeLayer) or over all targets together (ScopeGlobal). Ties
// at the threshold are broken by position, so exactly that many are zero
// (weights already zero count among them).
func Magnitude(ts []Target, ratio float64, scope string) (Stats, error) {
	if !(ratio > 0 && ratio < 1) {
		return Stats{}, fmt.Errorf("ratio %v: want a fraction strictly between 0 and 1", ratio)
	}
	switch scope {
	case ScopeLayer:
		for _, t := range ts {
			prune([][]float32{t.W}, ratio)
		}
	case ScopeGlobal:
		ws := make([][]float32, len(ts))
		for i, t := range ts {
			ws[i] = t.W
		}
		prune(ws, ratio)
	default:
		return Stats{}, fmt.Errorf("scope %q: want %s or %s", scope, ScopeLayer, ScopeGlobal)
	}
	return stats("magnitude", scope, ratio, ts), nil
}

// prune zeroes the round(ratio·n) smallest |w| over the slices ws.
func prune(ws [][]float32, ratio float64) {
	n := 0
	for _, w := range ws {
		n += len(w)
	}
	k := int(math.Round(ratio * float64(n)))
	if k == 0 {
		return
	}
	abs := make([]float32, 0, n)
	for _, w := range ws {
		for _, v := range w {
			abs = append(abs, float32(math.Abs(float64(v))))
		}
	}
	slices.Sort(abs)
	th := abs[k-1]
	below := 0 // |w| < th: all pruned
	for _, a := range abs {
		if a >= th {
			break
		}
		below++
	}
	atTh := k - below // how many of |w| == th to prune, first by position
	for _, w := range ws {
		for i, v := range w {
			a := float32(math.Abs(float64(v)))
			switch {
			case a < th:
				w[i] = 0
			case a == th && atTh > 0:
				w[i] = 0
				atTh--
			}
		}
	}
}

// TwoFour zeroes the 2 smallest |w| in every group of 4 consecutive weights
// of each row (ties: the earlier one is pruned). Every target's input width
// must be a multiple of 4.
func TwoFour(ts []Target) (Stats, error) {
	for _, t := range ts {
		if t.In%4 != 0 {
			return Stats{}, fmt.Errorf("2:4 pruning: %s has %d inputs, not a multiple of 4", t.Name, t.In)
		}
	}
	for _, t := range ts {
		Prune24(t.W)
	}
	return stats("2:4", "", 0.5, ts), nil
}

// Prune24 keeps the 2 largest |w| of each consecutive group of 4 in w
// (len(w) a multiple of 4; a trailing partial group is left alone).
func Prune24(w []float32) {
	for g := 0; g+4 <= len(w); g += 4 {
		x := w[g : g+4]
		// The index of the largest, then of the second largest, |x|; on
		// ties the later one is kept, so the earlier one is pruned.
		var a [4]float64
		for i, v := range x {
			a[i] = math.Abs(float64(v))
		}
		first := 0
		for i := 1; i < 4; i++ {
			if a[i] >= a[first] {
				first = i
			}
		}
		second := -1
		for i := range 4 {
			if i != first && (second < 0 || a[i] >= a[second]) {
				second = i
			}
		}
		for i := range 4 {
			if i != first && i != second {
				x[i] = 0
			}
		}
	}
}

// Pack24 packs the targets (already 2:4 sparse) for kernels.MatMul24.
func Pack24(ts []Target) ([]*kernels.Packed24, error) {
	out := make([]*kernels.Packed24, len(ts))
	for i, t := range ts {
		p, err := kernels.Pack24(t.W, t.Out, t.In, t.In)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		out[i] = p
	}
	return out, nil
}

// Markdown renders the stats as a short table.
func (s Stats) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Weight pruning: %s", s.Method)
	if s.Scope != "" {
		fmt.Fprintf(&b, " (%s scope)", s.Scope)
	}
	fmt.Fprintf(&b, ", %d of %d weights zero (%.1f %%) in %d matrices.\n\n", s.Zeros, s.Weights, 100*s.Sparsity, len(s.Layers))
	fmt.Fprintf(&b, "Size of the pruned matrices: %.2f MB dense float32 (as saved), %.2f MB in the %s encoding.\n",
		float64(s.DenseBytes)/1e6, float64(s.SparseBytes)/1e6, map[bool]string{true: "2:4 packed (values + 2-bit indices)", false: "sparse (value + 4-byte index per non-zero)"}[s.Method == "2:4"])
	if s.Method != "2:4" {
		b.WriteString("Unstructured sparsity has no sparse kernel in loom: the pruned model is exactly as fast as the dense one, and the saved file is as large; the gain is size only, under a sparse or compressed encoding.\n")
	} else {
		b.WriteString("The saved model keeps the zeros in dense weights (it loads everywhere); kernels.MatMul24 multiplies the packed layout.\n")
	}
	b.WriteString("\n| matrix | weights | sparsity |\n|---|---:|---:|\n")
	for _, l := range s.Layers {
		fmt.Fprintf(&b, "| %s | %d | %.3f |\n", l.Name, l.Weights, l.Sparsity)
	}
	return b.String()
}
