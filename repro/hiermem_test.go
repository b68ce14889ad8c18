package repro

import (
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/memory"
	"github.com/loomml/loom/nn"
)

// TestHMGreedyMatch: the teacher-forced exact-match check agrees with
// greedy decoding: a model's own greedy continuation is a hit, the same
// with its last or first byte changed a miss.
func TestHMGreedyMatch(t *testing.T) {
	anchor, err := decoder.New(hmConfig(32), 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := memory.New(anchor, 1)
	if err != nil {
		t.Fatal(err)
	}
	greedy := func(prompt string, n int) string {
		var ids []int
		for _, c := range []byte(prompt) {
			ids = append(ids, int(c))
		}
		var out []byte
		autograd.NoGrad(func() {
			for range n {
				lg := anchor.Forward(&nn.Ctx{}, ids, 1, len(ids)).Value.F32()
				next := argmax(lg[(len(ids)-1)*256:])
				out = append(out, byte(next))
				ids = append(ids, next)
			}
		})
		return string(out)
	}
	var prompts, conts []string
	var want []bool
	for _, p := range []string{"Varo lives in", "Kessa works as a", "To be, or not"} {
		g := greedy(p, 5)
		last := []byte(g)
		last[4]++
		first := []byte(g)
		first[0]++
		prompts = append(prompts, p, p, p)
		conts = append(conts, g, string(last), string(first))
		want = append(want, true, false, false)
	}
	var got []bool
	autograd.NoGrad(func() { got = hmGreedyMatch(m, nil, prompts, conts, 128) })
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("prompt %q + %q: match %v, greedy decoding says %v", prompts[i], conts[i], got[i], want[i])
		}
	}
}

// TestHMSetup: on the quick corpus nearly every question descends to a
// leaf holding its entity's documents, and every path is root to leaf.
func TestHMSetup(t *testing.T) {
	s, err := newHMSetup(true)
	if err != nil {
		t.Fatal(err)
	}
	if s.agree < 0.9 {
		t.Fatalf("only %.2f of questions reach a leaf with their entity's documents", s.agree)
	}
	for _, p := range append(append(s.trainPath, s.qPath...), s.heldPath...) {
		for l := 1; l < len(p); l++ {
			if (p[l]-s.tree.Offset(l))/hmBranching != p[l-1]-s.tree.Offset(l-1) {
				t.Fatalf("path %v is not root to leaf", p)
			}
		}
	}
}
