// Package finercut implements FinerCut (Zhang et al., "FinerCut:
// Finer-grained Interpretable Layer Pruning for Large Language Models",
// arXiv 2405.18218): every attention and every feed-forward sublayer of a
// decoder is a pruning candidate, and sublayers are removed greedily, each
// step removing the candidate whose removal moves the model's next-token
// distributions on a calibration set least away from the unpruned model's.
//
// The search runs on the no-grad path and caches the residual stream at
// every layer boundary of the current model: a candidate in layer l shares
// layers < l with it, so only layers l… are recomputed (Result reports the
// layer-forwards done and those a naive search would do).
//
//	res, err := finercut.Prune(m, calib, finercut.Options{Count: 6})
//	// m now has 6 sublayers fewer; res.Order lists them with their scores.
package finercut

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
)

// Options configure a search.
type Options struct {
	// Count is the number of sublayers to remove; when 0, Ratio (in (0, 1))
	// of all 2·L sublayers, rounded to the nearest integer.
	Count int
	Ratio float64
	// Distance between reference and pruned next-token distributions,
	// averaged over all calibration tokens: "js" (Jensen–Shannon, the
	// default), "kl" (KL(reference ‖ pruned)) or "angular" (arccos of the
	// cosine similarity of the probability vectors, divided by π), or
	// "dissect", the paper code's (llm_dissect's Output evaluator): the
	// Frobenius norm of the logit difference over each calibration window
	// [T, V], averaged over windows.
	Distance string
	// Protect shields layers 0…Protect−1 from removal (the paper code's
	// option to keep the first layers).
	Protect int
	// Naive recomputes every candidate from the embeddings, without the
	// layer-boundary cache (for checking the cache and for comparison).
	Naive bool
	// OneShot scores every candidate once, on the unpruned model, and
	// removes the Count lowest (the paper's one-shot baseline) instead of
	// rescoring after each removal.
	OneShot bool
	// Workers scores candidates concurrently (0: GOMAXPROCS).
	Workers int
	// Progress, if not nil, is called after each removal.
	Progress func(step, total int)
}

// Step is one removal and its score: FinerCut's distance to the reference
// after removing it (and, in package prune, each method's own score).
type Step struct {
	decoder.Sublayer
	Score float64 `json:"score"`
}

// Result is the removal order and the work done.
type Result struct {
	Order []Step `json:"order"`
	// LayerForwards counts block forwards over the calibration batch;
	// NaiveLayerForwards is what recomputing every candidate from the
	// embeddings would have cost.
	LayerForwards      int `json:"layer_forwards"`
	NaiveLayerForwards int `json:"naive_layer_forwards"`
}

// Distances lists the distance names Options.Distance accepts.
var Distances = []string{"js", "kl", "angular", "dissect"}

// count returns the number of removals o asks for on a model of layers.
func (o Options) count(layers int) (int, error) {
	total := 2 * layers
	n := o.Count
	if n == 0 {
		if !(o.Ratio > 0 && o.Ratio < 1) {
			return 0, fmt.Errorf("finercut: ratio %v: want a fraction strictly between 0 and 1", o.Ratio)
		}
		n = int(math.Round(o.Ratio * float64(total)))
	}
	if n < 1 || n >= total {
		return 0, fmt.Errorf("finercut: removing %d of %d sublayers: want 1 to %d", n, total, total-1)
	}
	return n, nil
}

// Prune removes sublayers from m greedily (m is changed in place: its
// blocks and its config's loom.removed map) and returns the order. calib
// holds the calibration windows, each of the same length T ≤ the model's
// context.
func Prune(m *decoder.Model, calib [][]int, o Options) (*Result, error) {
	L := len(m.Layers)
	n, err := o.count(L)
	if err != nil {
		return nil, err
	}
	dist, err := distance(o.Distance)
	if err != nil {
		return nil, err
	}
	ids, T, err := data.Stack(calib)
	if err != nil {
		return nil, fmt.Errorf("finercut: %w", err)
	}
	if T > m.MaxPositions() {
		return nil, fmt.Errorf("finercut: calibration windows of %d tokens exceed the model's %d positions", T, m.MaxPositions())
	}
	var cands []Step
	for l := o.Protect; l < L; l++ {
		for _, k := range decoder.SublayerKinds {
			if m.HasSublayer(l, k) {
				cands = append(cands, Step{Sublayer: decoder.Sublayer{Layer: l, Kind: k}})
			}
		}
	}
	for l := range L {
		if _, ok := m.Layers[l].(decoder.Pruner); !ok {
			return nil, fmt.Errorf("finercut: layer %d (%s layout) has no removable sublayers", l, m.Config.LayoutName())
		}
	}
	if len(cands) < n {
		return nil, fmt.Errorf("finercut: %d sublayers are candidates (protecting %d layers), fewer than the %d to remove", len(cands), o.Protect, n)
	}
	B := len(calib)
	s := &search{m: m, B: B, T: T, dist: dist, logitNorm: o.Distance == "dissect"}
	res := &Result{}
	autograd.NoGrad(func() {
		// Boundaries: h[l] enters layer l; h[L] leaves the last layer.
		h := make([]*autograd.Var, L+1)
		h[0] = m.Embeddings(nil, ids, B, T)
		for l := range L {
			h[l+1] = m.Layers[l].Forward(nil, h[l])
		}
		res.LayerForwards += L
		res.NaiveLayerForwards += L
		ref := s.probs(h[L])
		workers := o.Workers
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		if o.OneShot {
			scores := s.scoreAll(cands, h, ref, workers, o.Naive)
			idx := make([]int, len(cands))
			for i := range idx {
				idx[i] = i
				res.LayerForwards += L - cands[i].Layer
				res.NaiveLayerForwards += L
			}
			sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
			for step, i := range idx[:n] {
				c := cands[i]
				c.Score = scores[i]
				if err = m.RemoveSublayer(c.Layer, c.Kind); err != nil {
					return
				}
				res.Order = append(res.Order, c)
				if o.Progress != nil {
					o.Progress(step+1, n)
				}
			}
			return
		}
		for step := range n {
			scores := s.scoreAll(cands, h, ref, workers, o.Naive)
			best := 0
			for i, c := range cands {
				if o.Naive {
					res.LayerForwards += L
				} else {
					res.LayerForwards += L - c.Layer
				}
				res.NaiveLayerForwards += L
				if scores[i] < scores[best] {
					best = i
				}
			}
			c := cands[best]
			c.Score = scores[best]
			if err = m.RemoveSublayer(c.Layer, c.Kind); err != nil {
				return
			}
			res.Order = append(res.Order, c)
			cands = append(cands[:best], cands[best+1:]...)
			// Refresh the boundaries from the changed layer on.
			for l := c.Layer; l < L; l++ {
				h[l+1] = m.Layers[l].Forward(nil, h[l])
			}
			res.LayerForwards += L - c.Layer
			res.NaiveLayerForwards += L
			if o.Progress != nil {
				o.Progress(step+1, n)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// scoreAll returns each candidate's distance to ref when it alone is
// skipped in the current model, whose layer boundaries are h; workers
// candidates are scored at once.
func (s *search) scoreAll(cands []Step, h []*autograd.Var, ref [][]float64, workers int, naive bool) []float64 {
	m, L := s.m, len(s.m.Layers)
	scores := make([]float64, len(cands))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, len(cands)) {
		wg.Go(func() {
			for i := range next {
				c := cands[i]
				start, x := c.Layer, h[c.Layer]
				if naive {
					start, x = 0, h[0]
				}
				for l := start; l < L; l++ {
					if l == c.Layer {
						x = m.Layers[l].(decoder.Pruner).ForwardSkipping(nil, x, c.Kind)
					} else {
						x = m.Layers[l].Forward(nil, x)
					}
				}
				scores[i] = s.score(ref, x)
			}
		})
	}
	for i := range cands {
		next <- i
	}
	close(next)
	wg.Wait()
	return scores
}

// search holds what scoring needs.
type search struct {
	m         *decoder.Model
	B, T      int
	dist      func(p, q []float64) float64
	logitNorm bool // "dissect": compare raw logits per window
}

// probs returns the next-token distributions [B·T][V] of the residual
// stream h leaving the last layer.
func (s *search) probs(h *autograd.Var) [][]float64 {
	logits := s.m.Logits(s.m.Norm.Forward(h)).Value.Contiguous().F32()
	V := s.m.Config.VocabSize
	out := make([][]float64, len(logits)/V)
	for i := range out {
		if s.logitNorm {
			out[i] = make([]float64, V)
			for j, v := range logits[i*V : (i+1)*V] {
				out[i][j] = float64(v)
			}
			continue
		}
		out[i] = softmax(logits[i*V : (i+1)*V])
	}
	return out
}

// score is the mean distance over all tokens between ref and the
// distributions of h.
func (s *search) score(ref [][]float64, h *autograd.Var) float64 {
	p := s.probs(h)
	if s.logitNorm {
		// Σ over windows of ‖Δlogits‖_F over [T, V], divided by B.
		sum := 0.0
		for b := range s.B {
			sq := 0.0
			for i := b * s.T; i < (b+1)*s.T; i++ {
				for j, v := range p[i] {
					d := ref[i][j] - v
					sq += d * d
				}
			}
			sum += math.Sqrt(sq)
		}
		return sum / float64(s.B)
	}
	sum := 0.0
	for i := range p {
		sum += s.dist(ref[i], p[i])
	}
	return sum / float64(len(p))
}

func softmax(l []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range l {
		mx = math.Max(mx, float64(v))
	}
	out := make([]float64, len(l))
	z := 0.0
	for i, v := range l {
		out[i] = math.Exp(float64(v) - mx)
		z += out[i]
	}
	for i := range out {
		out[i] /= z
	}
	return out
}

func distance(name string) (func(p, q []float64) float64, error) {
	switch name {
	case "", "js":
		return js, nil
	case "kl":
		return kl, nil
	case "angular":
		return angular, nil
	case "dissect":
		return nil, nil // logit norms, in search.score
	}
	return nil, fmt.Errorf("finercut: distance %q: want one of %v", name, Distances)
}

// kl is KL(p ‖ q) in nats.
func kl(p, q []float64) float64 {
	d := 0.0
	for i, pi := range p {
		if pi > 0 {
			d += pi * math.Log(pi/math.Max(q[i], 1e-300))
		}
	}
	return d
}

// js is the Jensen–Shannon divergence in nats.
func js(p, q []float64) float64 {
	d := 0.0
	for i := range p {
		m := (p[i] + q[i]) / 2
		if p[i] > 0 {
			d += p[i] * math.Log(p[i]/m)
		}
		if q[i] > 0 {
			d += q[i] * math.Log(q[i]/m)
		}
	}
	return d / 2
}

// angular is arccos(cos(p, q))/π.
func angular(p, q []float64) float64 {
	var dot, np, nq float64
	for i := range p {
		dot += p[i] * q[i]
		np += p[i] * p[i]
		nq += q[i] * q[i]
	}
	c := dot / math.Sqrt(np*nq)
	return math.Acos(math.Max(-1, math.Min(1, c))) / math.Pi
}
