package graph

import (
	"fmt"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// FeatureEmbedding embeds rows of categorical features as the sum of one
// table per feature: row i ↦ Σ_f Tables[f][x_if]. With one feature it is
// the reference's nn.Embedding(num_atom_type, hidden_dim). With NoEdge
// rows each table has one row more than its vocabulary, which NoEdge
// indices select.
type FeatureEmbedding struct {
	Tables []*nn.Embedding
	vocab  []int
}

// newFeatureEmbedding returns tables named prefix.<f>.weight for vocab
// (one row more each with noEdge), drawn from N(0, 1) as PyTorch's
// nn.Embedding.
func newFeatureEmbedding(prefix string, vocab []int, dim int, noEdge bool, rng *tensor.RNG) *FeatureEmbedding {
	e := &FeatureEmbedding{vocab: vocab}
	for f, v := range vocab {
		rows := v
		if noEdge {
			rows++
		}
		e.Tables = append(e.Tables, &nn.Embedding{Weight: autograd.NewParam(nn.Join(prefix, strconv.Itoa(f), "weight"), autograd.RoleEmbedding, tensor.RandN(rng, rows, dim))})
	}
	return e
}

// Forward embeds rows rows of F = len(Tables) feature indices x [rows·F]
// (row-major) as [rows, D].
func (e *FeatureEmbedding) Forward(x []int, rows int) *autograd.Var {
	F := len(e.Tables)
	if len(x) != rows*F {
		panic(fmt.Sprintf("graph: %d feature indices for %d rows of %d features", len(x), rows, F))
	}
	var sum *autograd.Var
	ids := make([]int, rows)
	for f, t := range e.Tables {
		for i := range rows {
			v := x[i*F+f]
			switch {
			case v == NoEdge && t.Weight.Dim(0) > e.vocab[f]:
				v = e.vocab[f]
			case v < 0 || v >= e.vocab[f]:
				panic(fmt.Sprintf("graph: feature %d of row %d is %d, outside its vocabulary of %d", f, i, v, e.vocab[f]))
			}
			ids[i] = v
		}
		y := t.Forward(ids)
		if sum == nil {
			sum = y
		} else {
			sum = autograd.Add(sum, y)
		}
	}
	return sum
}

// Params returns the tables.
func (e *FeatureEmbedding) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, t := range e.Tables {
		out = append(out, t.Params()...)
	}
	return out
}
