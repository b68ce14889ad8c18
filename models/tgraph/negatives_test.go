package tgraph

import (
	"slices"
	"testing"
)

// TestNegativeSampler checks each strategy's negatives batch by batch over
// the later part of a random stream, against sets rebuilt from scratch:
// random keeps the sources and draws destinations among the stream's;
// historical draws distinct edges seen at or before the batch's start and
// not during its span, padding with random edges (not the batch's) only
// when they run out; inductive draws like historical but never an edge
// seen up to the observed time. Draws repeat with the seed.
func TestNegativeSampler(t *testing.T) {
	s := randomStream(t, 21, 12, 500, 0)
	all := FullHistory(s).Idx
	observed := s.Time[300]
	dsts := map[int]bool{}
	for i := range s.Len() {
		dsts[s.Dst[i]] = true
	}
	for _, st := range Strategies {
		t.Run(string(st), func(t *testing.T) {
			ns, err := NewNegativeSampler(s, all, st, observed, 4)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := NewNegativeSampler(s, all, st, observed, 4)
			padded := 0
			for start := 320; start < 500; start += 30 {
				ev := all[start:min(start+30, 500)]
				src, dst := make([]int, len(ev)), make([]int, len(ev))
				for k, e := range ev {
					src[k], dst[k] = s.Src[e], s.Dst[e]
				}
				t0, t1 := s.Time[ev[0]], s.Time[ev[len(ev)-1]]
				ns0, nd0 := ns.Sample(src, dst, t0, t1)
				ns1, nd1 := again.Sample(src, dst, t0, t1)
				if !slices.Equal(ns0, ns1) || !slices.Equal(nd0, nd1) {
					t.Fatal("the same seed drew different negatives")
				}
				if len(ns0) != len(ev) || len(nd0) != len(ev) {
					t.Fatalf("%d negatives for %d positives", len(ns0), len(ev))
				}
				if st == Random {
					if !slices.Equal(ns0, src) {
						t.Fatal("random negatives changed the sources")
					}
					for _, v := range nd0 {
						if !dsts[v] {
							t.Fatalf("destination %d is no destination of the stream", v)
						}
					}
					continue
				}
				hist, during, seen, batch := map[pair]bool{}, map[pair]bool{}, map[pair]bool{}, map[pair]bool{}
				for i := range s.Len() {
					e := pair{s.Src[i], s.Dst[i]}
					if s.Time[i] <= t0 {
						hist[e] = true
					}
					if s.Time[i] >= t0 && s.Time[i] <= t1 {
						during[e] = true
					}
					if s.Time[i] <= observed {
						seen[e] = true
					}
				}
				for k := range src {
					batch[pair{src[k], dst[k]}] = true
				}
				cands := map[pair]bool{}
				for e := range hist {
					if !during[e] && (st == Historical || !seen[e]) {
						cands[e] = true
					}
				}
				got := map[pair]bool{}
				from := 0
				for k := range ns0 {
					e := pair{ns0[k], nd0[k]}
					if got[e] {
						t.Fatalf("negative %v drawn twice", e)
					}
					got[e] = true
					if !cands[e] {
						if len(cands) >= len(ev) {
							t.Fatalf("negative %v is not a candidate and there are %d", e, len(cands))
						}
						if batch[e] {
							t.Fatalf("random padding %v is an edge of the batch", e)
						}
						from++
					}
				}
				if len(cands) < len(ev) {
					padded++
					if from != len(ev)-len(cands) {
						t.Fatalf("%d random edges padding %d candidates to %d", from, len(cands), len(ev))
					}
				}
			}
			if st == Inductive && padded == 0 {
				t.Log("no inductive batch needed padding")
			}
		})
	}
	if _, err := ParseStrategy("hard"); err == nil {
		t.Error("ParseStrategy took an unknown strategy")
	}
}

// TestEdgeBank scores a hand-made stream: a pair is 1 once an event u → v
// (directed) happened strictly before the cutoff; later calls extend the
// memory and an earlier cutoff rebuilds it.
func TestEdgeBank(t *testing.T) {
	// 0→1 t1, 1→2 t2, 0→1 t3, 2→0 t4
	s := stream(t, []int{0, 1, 0, 2}, []int{1, 2, 1, 0}, []float64{1, 2, 3, 4}, 3, 0, nil)
	h := FullHistory(s)
	b := NewEdgeBank()
	src, dst := []int{0, 1, 1, 2, 0}, []int{1, 0, 2, 0, 2}
	for _, c := range []struct {
		cutoff float64
		want   []float64
	}{
		{1, []float64{0, 0, 0, 0, 0}},
		{2, []float64{1, 0, 0, 0, 0}},
		{3, []float64{1, 0, 1, 0, 0}},
		{5, []float64{1, 0, 1, 1, 0}},
		{2.5, []float64{1, 0, 1, 0, 0}}, // back in time: rebuilt
		{2.5, []float64{1, 0, 1, 0, 0}},
	} {
		if got := b.Score(h, c.cutoff, src, dst); !slices.Equal(got, c.want) {
			t.Errorf("cutoff %v: %v, want %v", c.cutoff, got, c.want)
		}
	}
	// a sub-history remembers only its own events
	sub, _ := NewHistory(s, []int{1, 3})
	if got := b.Score(sub, 5, src, dst); !slices.Equal(got, []float64{0, 0, 1, 1, 0}) {
		t.Errorf("sub-history: %v", got)
	}
}
