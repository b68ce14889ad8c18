// Package axformer implements AxFormer (Nagarajan, Sen, Stevens and
// Raghunathan, "AxFormer: Accuracy-driven Approximation of Transformers
// for Faster, Smaller and more Accurate NLP Models", arXiv 2010.03688; no
// official code): starting from a fine-tuned model, elements are removed
// greedily while the validation score does not drop (accuracy-driven
// pruning), then softmax attention is replaced by top-k hard attention in
// the layers where that is free (selective hard attention).
//
// The search is hierarchical, coarse to fine: whole layers first, then the
// attention and feed-forward blocks of the layers that remain. Within a
// stage the candidates are tried in order of their single-removal
// validation score on the current model (the least useful element first),
// and a removal is kept when the validation score with it removed is at
// least the current model's (Options.Tolerance relaxes this; 0 is the
// paper's rule: the score must not drop). Finally, layer by layer, the
// smallest k of Options.Ks whose top-k attention does not drop the score
// is kept (none: the layer stays dense).
//
// The search sees the model only through a Target (encoder: NewEncoder;
// decoder: NewDecoder) and the validation split only through a score
// function (higher is better: accuracy for a classifier, minus the loss
// for a language model); Run evaluates the test split once, after every
// choice is made.
//
// Removed blocks are not computed: the encoder's layers become Layer
// blocks with nil sublayers, the decoder's PreNorm blocks get nil
// sublayers (its own convention for a removed sublayer), so the parameter
// count drops and the forward pass skips them. Top-k attention
// (TopKAttention) computes the dense scores and masks all but the k largest
// per query: it changes what the model computes, not its speed on a CPU.
package axformer

import (
	"errors"
	"fmt"
	"sort"
)

// Kind is the kind of a removable element.
type Kind int

// The elements AxFormer removes.
const (
	WholeLayer Kind = iota
	AttentionBlock
	FFNBlock
)

func (k Kind) String() string {
	switch k {
	case WholeLayer:
		return "layer"
	case AttentionBlock:
		return "attention"
	case FFNBlock:
		return "ffn"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Unit is one removable element: a layer, or its attention or FFN block.
type Unit struct {
	Kind  Kind
	Layer int
}

func (u Unit) String() string { return fmt.Sprintf("%s %d", u.Kind, u.Layer) }

// Target is a model AxFormer edits in place.
type Target interface {
	// NumLayers is the number of layers.
	NumLayers() int
	// Present reports whether u is still in the model (a layer is present
	// while either of its blocks is).
	Present(u Unit) bool
	// Remove takes u out of the model and returns the function that puts
	// it back.
	Remove(u Unit) (restore func(), err error)
	// SetTopK makes layer's attention keep the k largest scores per query
	// (k = 0: dense softmax attention).
	SetTopK(layer, k int) error
}

// Score evaluates the current model on one split; higher is better.
type Score func() (float64, error)

// Options configure a search.
type Options struct {
	// Tolerance is how far below the current validation score a removal
	// may bring it and still be accepted (0: the paper's rule).
	Tolerance float64
	// Ks are the top-k values tried per layer, smallest first (nil: no
	// hard-attention stage).
	Ks []int
	// NoLayers and NoBlocks skip the whole-layer and the block stage.
	NoLayers, NoBlocks bool
	// Progress, if not nil, is called after each evaluation.
	Progress func(s Step)
}

// Step is one evaluation of the search.
type Step struct {
	Stage    string // "rank layers", "layers", "rank blocks", "blocks", "top-k"
	Unit     Unit   // the element (top-k: the layer, Kind AttentionBlock)
	K        int    // top-k stage: the k tried
	Score    float64
	Accepted bool
}

// Result is what a search chose.
type Result struct {
	Base, Final float64 // validation score before and after
	Removed     []Unit  // in the order removed
	TopK        []int   // per layer: k, or 0 for dense
	Steps       []Step
	Evals       int // validation evaluations
	// Test is the test score of the final model (Run only).
	Test float64
}

// Sublayers counts the attention and FFN blocks still present.
func Sublayers(t Target) int {
	n := 0
	for l := range t.NumLayers() {
		for _, k := range []Kind{AttentionBlock, FFNBlock} {
			if t.Present(Unit{k, l}) {
				n++
			}
		}
	}
	return n
}

// Prune runs the search on t, scoring each candidate with val, and leaves
// t in the chosen state.
func Prune(t Target, val Score, opt Options) (*Result, error) {
	if t == nil || val == nil {
		return nil, errors.New("axformer: a target and a validation score are needed")
	}
	for _, k := range opt.Ks {
		if k < 1 {
			return nil, fmt.Errorf("axformer: top-k values must be at least 1, got %d", k)
		}
	}
	if opt.Tolerance < 0 {
		return nil, fmt.Errorf("axformer: tolerance must be at least 0, got %g", opt.Tolerance)
	}
	res := &Result{TopK: make([]int, t.NumLayers())}
	eval := func(st Step) (float64, error) {
		s, err := val()
		if err != nil {
			return 0, err
		}
		res.Evals++
		st.Score = s
		res.Steps = append(res.Steps, st)
		if opt.Progress != nil {
			opt.Progress(st)
		}
		return s, nil
	}
	cur, err := eval(Step{Stage: "base"})
	if err != nil {
		return nil, err
	}
	res.Base = cur
	accept := func(s float64) bool { return s >= cur-opt.Tolerance }
	stage := func(kinds []Kind, name string) error {
		// Rank the candidates by their single-removal score on the current
		// model, best (least useful element) first.
		type cand struct {
			u Unit
			s float64
		}
		var cands []cand
		for l := range t.NumLayers() {
			for _, k := range kinds {
				u := Unit{k, l}
				if !t.Present(u) {
					continue
				}
				restore, err := t.Remove(u)
				if err != nil {
					return err
				}
				s, err := eval(Step{Stage: "rank " + name, Unit: u})
				restore()
				if err != nil {
					return err
				}
				cands = append(cands, cand{u, s})
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].s > cands[j].s })
		for _, c := range cands {
			if !t.Present(c.u) {
				continue
			}
			restore, err := t.Remove(c.u)
			if err != nil {
				return err
			}
			s, err := eval(Step{Stage: name, Unit: c.u})
			if err != nil {
				restore()
				return err
			}
			if accept(s) {
				cur = s
				res.Removed = append(res.Removed, c.u)
				res.Steps[len(res.Steps)-1].Accepted = true
			} else {
				restore()
			}
		}
		return nil
	}
	if !opt.NoLayers {
		if err := stage([]Kind{WholeLayer}, "layers"); err != nil {
			return nil, err
		}
	}
	if !opt.NoBlocks {
		if err := stage([]Kind{AttentionBlock, FFNBlock}, "blocks"); err != nil {
			return nil, err
		}
	}
	if len(opt.Ks) > 0 {
		ks := append([]int(nil), opt.Ks...)
		sort.Ints(ks)
		for l := range t.NumLayers() {
			u := Unit{AttentionBlock, l}
			if !t.Present(u) {
				continue
			}
			for _, k := range ks {
				if err := t.SetTopK(l, k); err != nil {
					return nil, err
				}
				s, err := eval(Step{Stage: "top-k", Unit: u, K: k})
				if err != nil {
					return nil, err
				}
				if accept(s) {
					cur = s
					res.TopK[l] = k
					res.Steps[len(res.Steps)-1].Accepted = true
					break
				}
				if err := t.SetTopK(l, 0); err != nil {
					return nil, err
				}
			}
		}
	}
	res.Final = cur
	return res, nil
}

// Run is Prune followed by one evaluation of the final model with test:
// the test split is read only after every choice is made.
func Run(t Target, val, test Score, opt Options) (*Result, error) {
	if test == nil {
		return nil, errors.New("axformer: a test score is needed")
	}
	res, err := Prune(t, val, opt)
	if err != nil {
		return nil, err
	}
	if res.Test, err = test(); err != nil {
		return nil, err
	}
	return res, nil
}
