package tgraph

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loomml/loom/data/events"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// phases is a synthetic stream with structure that recency can learn and
// memory cannot: time runs in phases of perPhase events; each phase picks
// `pairs` pairs among 2·pairs fresh random nodes (of `nodes`) and its
// events repeat them at random, one per time unit. A past pair is seen but
// stale, so EdgeBank scores historical negatives (earlier phases' pairs)
// as it scores positives.
func phases(t testing.TB, seed uint64, nodes, phaseCount, perPhase, pairs int) *events.Stream {
	r := tensor.NewRNG(seed)
	var src, dst []int
	var times []float64
	for ph := range phaseCount {
		perm := r.Perm(nodes)[:2*pairs]
		for k := range perPhase {
			j := r.Intn(pairs)
			src = append(src, perm[2*j])
			dst = append(dst, perm[2*j+1])
			times = append(times, float64(ph*perPhase+k))
		}
	}
	return stream(t, src, dst, times, nodes, 0, r)
}

func result(rs []Result, setting string, st Strategy) Result {
	for _, r := range rs {
		if r.Setting == setting && r.Strategy == st {
			return r
		}
	}
	return Result{AP: math.NaN()}
}

// TestTrainSmoke trains small models of each architecture through
// train.Loop on the phases stream (6 epochs, TGN 20, of batches of 50
// consecutive training events, random negatives; seconds) and evaluates them on the
// test events: the AP must rise in training by 0.05 or more under random
// and historical negatives, reach 0.85 on random negatives and beat
// EdgeBank's by 0.2 on historical negatives, where EdgeBank's memory of
// stale pairs fails.
func TestTrainSmoke(t *testing.T) {
	s := phases(t, 8, 120, 12, 200, 8)
	sp, err := s.ChronoSplit(0.15, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	opt := EvalOptions{BatchSize: 50, Strategies: []Strategy{Random, Historical}, Seed: 2}
	bank, err := Evaluate(NewEdgeBank(), s, sp, sp.Test, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range Archs {
		t.Run(arch, func(t *testing.T) {
			c := Defaults(arch)
			c.Dim, c.TimeDim, c.Seed = 16, 8, 1
			epochs := 6
			if arch == ArchTGN {
				c.MemoryBatch, epochs = 50, 20 // cheap, and slower to learn
			} else {
				c.FFN, c.Window, c.Dropout = 32, 64, 0
			}
			if arch == ArchTodyformer {
				c.Patches = 4
			}
			m := mustBuild(t, c)
			before, err := Evaluate(m, s, sp, sp.Test, opt)
			if err != nil {
				t.Fatal(err)
			}
			smp, err := NewSampler(s, sp.Train, 50, 3)
			if err != nil {
				t.Fatal(err)
			}
			loop := &train.Loop[*Batch]{
				Model: Trainer{M: m, H: TrainHistory(s, sp)},
				Data:  smp,
				Hyper: train.Hyper{Steps: epochs * smp.StepsPerEpoch(), LR: 3e-3, Warmup: 10, MinLRFactor: 0.1},
				RNG:   tensor.NewRNG(4),
			}
			t0 := time.Now()
			if err := loop.Train(); err != nil {
				t.Fatal(err)
			}
			el := time.Since(t0)
			after, err := Evaluate(m, s, sp, sp.Test, opt)
			if err != nil {
				t.Fatal(err)
			}
			ms := loop.Metrics()
			t.Logf("%d steps in %v; loss %.3f → %.3f", loop.Step(), el.Round(time.Millisecond), ms[0].Loss, ms[len(ms)-1].Loss)
			for _, st := range opt.Strategies {
				b, a, e := result(before, Transductive, st), result(after, Transductive, st), result(bank, Transductive, st)
				t.Logf("%-10s AP untrained %.3f, trained %.3f (AUC %.3f), EdgeBank %.3f (AUC %.3f)", st, b.AP, a.AP, a.AUC, e.AP, e.AUC)
				if a.AP < b.AP+0.05 {
					t.Errorf("%s: AP %.3f → %.3f in training", st, b.AP, a.AP)
				}
			}
			if a := result(after, Transductive, Random); a.AP < 0.85 {
				t.Errorf("random negatives: AP %.3f < 0.85", a.AP)
			}
			if a, e := result(after, Transductive, Historical), result(bank, Transductive, Historical); a.AP < e.AP+0.2 {
				t.Errorf("historical negatives: AP %.3f, EdgeBank %.3f", a.AP, e.AP)
			}
		})
	}
}

// recorder is a Scorer that records what it is asked.
type recorder struct {
	cutoffs  []float64
	src, dst [][]int
}

func (r *recorder) Score(h *History, cutoff float64, src, dst []int) []float64 {
	r.cutoffs = append(r.cutoffs, cutoff)
	r.src, r.dst = append(r.src, slices.Clone(src)), append(r.dst, slices.Clone(dst))
	out := make([]float64, len(src))
	for i := range out {
		out[i] = float64((src[i]*31 + dst[i]*17) % 10)
	}
	return out
}

// TestEvaluate: results for both settings and every strategy, each batch
// asked once with its positives and every strategy's negatives at the
// cutoff of its first event, the same pairs for every scorer (the
// negatives do not depend on it), the inductive setting restricted to
// events touching a node unseen in training.
func TestEvaluate(t *testing.T) {
	s := randomStream(t, 31, 60, 1200, 0)
	sp, err := s.MaskedSplit(0.15, 0.15, 0.1, 5)
	if err != nil {
		t.Fatal(err)
	}
	var a, b recorder
	ra, err := Evaluate(&a, s, sp, sp.Test, EvalOptions{BatchSize: 40, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(&b, s, sp, sp.Test, EvalOptions{BatchSize: 40, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if len(ra) != 6 {
		t.Fatalf("%d results, want 2 settings × 3 strategies", len(ra))
	}
	ind := sp.Inductive(s, sp.Test)
	if len(ind) == 0 || len(ind) == len(sp.Test) {
		t.Fatalf("%d of %d test events inductive", len(ind), len(sp.Test))
	}
	wantCalls := (len(sp.Test)+39)/40 + (len(ind)+39)/40
	if len(a.cutoffs) != wantCalls {
		t.Fatalf("%d calls, want %d", len(a.cutoffs), wantCalls)
	}
	for k := range a.src {
		if !slices.Equal(a.src[k], b.src[k]) || !slices.Equal(a.dst[k], b.dst[k]) || a.cutoffs[k] != b.cutoffs[k] {
			t.Fatalf("call %d differs between two evaluations", k)
		}
		if len(a.src[k])%4 != 0 {
			t.Fatalf("call %d: %d pairs, want positives and 3 × negatives", k, len(a.src[k]))
		}
	}
	// the first call: the first 40 test events at the first one's time
	n := len(a.src[0]) / 4
	if n != 40 || a.cutoffs[0] != s.Time[sp.Test[0]] {
		t.Fatalf("first call: %d positives at %v", n, a.cutoffs[0])
	}
	for i := range n {
		e := sp.Test[i]
		if a.src[0][i] != s.Src[e] || a.dst[0][i] != s.Dst[e] {
			t.Fatalf("positive %d is not test event %d", i, e)
		}
	}
	for _, r := range ra {
		want := len(sp.Test)
		if r.Setting == InductiveSetting {
			want = len(ind)
		}
		if r.Events != want || !(r.AP >= 0 && r.AP <= 1) || !(r.AUC >= 0 && r.AUC <= 1) || !(r.BatchAP >= 0 && r.BatchAP <= 1) {
			t.Errorf("%+v", r)
		}
	}
}
