package tgraph

import (
	"slices"
	"testing"
)

// TestHistoryWindow: Before counts the events strictly before t (equal
// timestamps excluded) and Window keeps the last w of them.
func TestHistoryWindow(t *testing.T) {
	s := stream(t, []int{0, 1, 2, 3, 0, 1}, []int{1, 2, 0, 1, 1, 4}, []float64{1, 2, 2, 4, 5, 5}, 5, 0, nil)
	h := FullHistory(s)
	for _, c := range []struct {
		t      float64
		w      int
		before int
		window []int
	}{
		{0.5, 3, 0, []int{}},
		{1, 3, 0, []int{}},
		{2, 3, 1, []int{0}},
		{2.5, 2, 3, []int{1, 2}},
		{5, 0, 4, []int{0, 1, 2, 3}},
		{5, 10, 4, []int{0, 1, 2, 3}},
		{9, 4, 6, []int{2, 3, 4, 5}},
	} {
		if got := h.Before(c.t); got != c.before {
			t.Errorf("Before(%v) = %d, want %d", c.t, got, c.before)
		}
		if got := h.Window(c.t, c.w); !slices.Equal(got, c.window) {
			t.Errorf("Window(%v, %d) = %v, want %v", c.t, c.w, got, c.window)
		}
	}
	sub, err := NewHistory(s, []int{0, 2, 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.Window(5.5, 0); !slices.Equal(got, []int{0, 2, 5}) {
		t.Errorf("a sub-history's window: %v", got)
	}
	if _, err := NewHistory(s, []int{3, 1}); err == nil {
		t.Error("NewHistory took events out of order")
	}
}

// TestPatches checks the patches of a hand-made window: the events of
// each patch, the node instances with their ages, the two messages per
// event and the packing of each node's tokens in patch order.
func TestPatches(t *testing.T) {
	// e0 0→1 t1, e1 1→2 t2, e2 2→0 t2, e3 3→1 t4, e4 0→1 t5, e5 1→4 t5
	s := stream(t, []int{0, 1, 2, 3, 0, 1}, []int{1, 2, 0, 1, 1, 4}, []float64{1, 2, 2, 4, 5, 5}, 5, 0, nil)
	p := NewPatches(FullHistory(s), 5, 4, 2) // e0, e1 | e2, e3
	want := Patches{
		Events:   []int{0, 1, 2, 3},
		Node:     []int{0, 1, 2, 2, 0, 3, 1},
		Patch:    []int{0, 0, 0, 1, 1, 1, 1},
		Age:      []float64{4, 3, 3, 3, 3, 1, 1},
		From:     []int{0, 1, 1, 2, 3, 4, 5, 6},
		To:       []int{1, 0, 2, 1, 4, 3, 6, 5},
		MsgAge:   []float64{4, 4, 3, 3, 3, 3, 1, 1},
		Reverse:  []bool{false, true, false, true, false, true, false, true},
		MsgEvent: []int{0, 0, 1, 1, 2, 2, 3, 3},
		Nodes:    []int{0, 1, 2, 3},
		Seqs:     [][]int{{0, 4}, {1, 6}, {2, 3}, {5}},
		Pos:      []int{0, 0, 0, 1, 1, 0, 1},
	}
	check := func(name string, ok bool) {
		if !ok {
			t.Errorf("%s differs: got %+v", name, p)
		}
	}
	check("Events", slices.Equal(p.Events, want.Events))
	check("Node", slices.Equal(p.Node, want.Node))
	check("Patch", slices.Equal(p.Patch, want.Patch))
	check("Age", slices.Equal(p.Age, want.Age))
	check("From", slices.Equal(p.From, want.From))
	check("To", slices.Equal(p.To, want.To))
	check("MsgAge", slices.Equal(p.MsgAge, want.MsgAge))
	check("Reverse", slices.Equal(p.Reverse, want.Reverse))
	check("MsgEvent", slices.Equal(p.MsgEvent, want.MsgEvent))
	check("Nodes", slices.Equal(p.Nodes, want.Nodes))
	check("Seqs", slices.EqualFunc(p.Seqs, want.Seqs, slices.Equal[[]int]))
	check("Pos", slices.Equal(p.Pos, want.Pos))
	for k, latest := range []int{4, 6, 3, 5} {
		if p.Latest(k) != latest {
			t.Errorf("Latest(%d) = %d, want %d", k, p.Latest(k), latest)
		}
	}
	if p.Index(4) != -1 || p.Index(3) != 3 {
		t.Errorf("Index(4) = %d, Index(3) = %d; want −1, 3", p.Index(4), p.Index(3))
	}

	// more patches than events: the later patches are empty
	q := NewPatches(FullHistory(s), 2, 0, 3) // e0 alone
	if !slices.Equal(q.Events, []int{0}) || !slices.Equal(q.Patch, []int{0, 0}) || q.Instances() != 2 {
		t.Errorf("one event in 3 patches: %+v", q)
	}
	// equal sizes: 7 events in 3 patches → 3, 2, 2 by ⌊j·3/7⌋
	r := randomStream(t, 1, 10, 30, 0)
	w := NewPatches(FullHistory(r), r.Time[29]+1, 7, 3)
	count := make([]int, 3)
	for e := 0; e < len(w.From); e += 2 {
		count[w.Patch[w.From[e]]]++
	}
	if !slices.Equal(count, []int{3, 2, 2}) {
		t.Errorf("7 events in 3 patches of %v, want 3, 2, 2", count)
	}
}
