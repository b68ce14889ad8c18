package tgraph

import (
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/data/events"
)

// Scorer scores candidate links from a history: Model (Todyformer, the
// MPNN ablation) and EdgeBank.
type Scorer interface {
	// Score returns a score per pair src[i] → dst[i], higher for likelier
	// links, from the events of h strictly before cutoff.
	Score(h *History, cutoff float64, src, dst []int) []float64
}

// Settings of evaluation.
const (
	Transductive = "transductive" // every evaluation event
	// InductiveSetting keeps the evaluation events with an endpoint that
	// no training event touches (Split.Inductive): DyGLib's new-node
	// evaluation.
	InductiveSetting = "inductive"
)

// EvalOptions control Evaluate.
type EvalOptions struct {
	BatchSize  int        // positives per batch (0: 200, DyGLib's)
	Strategies []Strategy // negative sampling (nil: all three)
	Seed       uint64     // of the negatives (the same for every model)
}

// Result is one setting under one negative-sampling strategy.
type Result struct {
	Setting  string   `json:"setting"`
	Strategy Strategy `json:"strategy"`
	Events   int      `json:"events"` // positives (as many negatives)
	// AP and AUC are over all the setting's positives and negatives.
	AP  float64 `json:"ap"`
	AUC float64 `json:"auc"`
	// BatchAP and BatchAUC are the means over batches of each batch's AP
	// and AUC, the numbers DyGLib and TGN report.
	BatchAP  float64 `json:"batch_ap"`
	BatchAUC float64 `json:"batch_auc"`
}

// Evaluate scores the events part of s (sp.Val or sp.Test, chronological)
// against negatives: for the transductive setting (all of part) and the
// inductive one (sp.Inductive(s, part)), under each strategy, in batches
// of consecutive positives. A batch's cutoff is its first event's time;
// the scorer reads every event of s before it (FullHistory). Inductive
// negatives treat the edges up to the end of the period before part (the
// end of training for sp.Val, of validation for sp.Test) as observed, as
// DyGLib does. Each batch's negatives come from seeded samplers over the
// whole stream, independent of the scorer.
func Evaluate(m Scorer, s *events.Stream, sp *events.Split, part []int, opt EvalOptions) ([]Result, error) {
	if len(part) == 0 {
		return nil, fmt.Errorf("tgraph: nothing to evaluate")
	}
	bs := opt.BatchSize
	if bs <= 0 {
		bs = 200
	}
	strategies := opt.Strategies
	if strategies == nil {
		strategies = Strategies
	}
	observed := sp.ValTime
	if s.Time[part[0]] > sp.TestTime {
		observed = sp.TestTime
	}
	h := FullHistory(s)
	var out []Result
	for si, setting := range []string{Transductive, InductiveSetting} {
		pos := part
		if setting == InductiveSetting {
			pos = sp.Inductive(s, part)
		}
		if len(pos) == 0 {
			continue
		}
		samplers := make([]*NegativeSampler, len(strategies))
		for k, st := range strategies {
			var err error
			if samplers[k], err = NewNegativeSampler(s, h.Idx, st, observed, opt.Seed+uint64(si)); err != nil {
				return nil, err
			}
		}
		type acc struct {
			scores         []float64
			labels         []bool
			batchAP, batch []float64
		}
		accs := make([]acc, len(strategies))
		for start := 0; start < len(pos); start += bs {
			ev := pos[start:min(start+bs, len(pos))]
			n := len(ev)
			src, dst := make([]int, n), make([]int, n)
			for i, e := range ev {
				src[i], dst[i] = s.Src[e], s.Dst[e]
			}
			t0, t1 := s.Time[ev[0]], s.Time[ev[n-1]]
			qs, qd := slices.Clone(src), slices.Clone(dst)
			for _, ns := range samplers {
				a, b := ns.Sample(src, dst, t0, t1)
				qs, qd = append(qs, a...), append(qd, b...)
			}
			scores := m.Score(h, t0, qs, qd)
			for k := range strategies {
				sc := append(slices.Clone(scores[:n]), scores[(k+1)*n:(k+2)*n]...)
				lb := make([]bool, 2*n)
				for i := range n {
					lb[i] = true
				}
				a := &accs[k]
				a.scores, a.labels = append(a.scores, sc...), append(a.labels, lb...)
				a.batchAP = append(a.batchAP, AveragePrecision(sc, lb))
				a.batch = append(a.batch, ROCAUC(sc, lb))
			}
		}
		for k, st := range strategies {
			a := accs[k]
			out = append(out, Result{Setting: setting, Strategy: st, Events: len(pos),
				AP: AveragePrecision(a.scores, a.labels), AUC: ROCAUC(a.scores, a.labels),
				BatchAP: mean(a.batchAP), BatchAUC: mean(a.batch)})
		}
	}
	return out, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
