package data

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// positions returns the ids 0..n−1, so a token's id is its position.
func positions(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	return ids
}

func TestSamplerWindows(t *testing.T) {
	cases := []struct{ n, batch, seqLen int }{
		{2, 1, 1},
		{9, 3, 8}, // one possible offset
		{12, 4, 8},
		{1000, 8, 32},
		{300, 2, 1},
	}
	for _, c := range cases {
		s := openIDs(t, positions(c.n), 65536)
		sm, err := NewSampler(s, c.batch, c.seqLen, 42)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for range 200 {
			bsm := sm.Next()
			x, y := bsm.IDs, bsm.Targets
			if len(x) != c.batch*c.seqLen || len(y) != len(x) {
				t.Fatalf("%+v: batch of %d inputs and %d targets, want %d", c, len(x), len(y), c.batch*c.seqLen)
			}
			for b := range c.batch {
				off := x[b*c.seqLen]
				if off < 0 || off+c.seqLen+1 > c.n {
					t.Fatalf("%+v: window at %d runs outside the %d tokens", c, off, c.n)
				}
				seen[off] = true
				for k := range c.seqLen {
					i := b*c.seqLen + k
					if x[i] != off+k || y[i] != x[i]+1 {
						t.Fatalf("%+v: row %d position %d: x %d y %d, want the contiguous window at %d shifted by one", c, b, k, x[i], y[i], off)
					}
				}
			}
		}
		// Every offset in [0, n−seqLen) is drawn eventually (these cases have
		// few enough of them for 200 batches).
		if want := c.n - c.seqLen; want <= 50 && len(seen) != want {
			t.Errorf("%+v: drew %d distinct offsets, want all %d", c, len(seen), want)
		}
		if sm.Batches() != 200 {
			t.Errorf("Batches() = %d, want 200", sm.Batches())
		}
	}
}

func TestSamplerDeterminism(t *testing.T) {
	s := openIDs(t, randomIDs(5000, 300, 1), 300)
	draw := func(seed uint64, k int) [][]int {
		sm, err := NewSampler(s, 4, 16, seed)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]int
		for range k {
			bsm := sm.Next()
			x, y := bsm.IDs, bsm.Targets
			out = append(out, x, y)
		}
		return out
	}
	a, b, c := draw(7, 20), draw(7, 20), draw(8, 20)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("same seed, batch %d differs", i/2)
		}
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Fatal("seeds 7 and 8 gave the same batches")
	}
	// NextInto draws exactly what Next does.
	sm, _ := NewSampler(s, 4, 16, 7)
	x, y := make([]int, 64), make([]int, 64)
	for i := 0; i < len(a); i += 2 {
		sm.NextInto(x, y)
		if !slices.Equal(x, a[i]) || !slices.Equal(y, a[i+1]) {
			t.Fatalf("NextInto batch %d differs from Next", i/2)
		}
	}
	mustPanic(t, "NextInto with short buffers", func() { sm.NextInto(x[:10], y) })
}

func TestSamplerState(t *testing.T) {
	s := openIDs(t, randomIDs(3000, 1000, 2), 1000)
	for _, at := range []int{0, 1, 13} {
		a, _ := NewSampler(s, 3, 10, 99)
		for range at {
			a.Next()
		}
		st, err := a.State()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewSampler(s, 3, 10, 12345) // a different seed: the state overrides it
		if err := b.SetState(st); err != nil {
			t.Fatal(err)
		}
		if b.Batches() != uint64(at) {
			t.Fatalf("restored Batches() = %d, want %d", b.Batches(), at)
		}
		for i := range 10 {
			ba := a.Next()
			xa, ya := ba.IDs, ba.Targets
			bb := b.Next()
			xb, yb := bb.IDs, bb.Targets
			if !slices.Equal(xa, xb) || !slices.Equal(ya, yb) {
				t.Fatalf("saved after %d batches: batch %d after restoring differs", at, i)
			}
		}
	}

	a, _ := NewSampler(s, 3, 10, 99)
	st, _ := a.State()
	other := openIDs(t, randomIDs(2999, 1000, 2), 1000)
	bad := []struct {
		name string
		sm   func() *Sampler
		st   []byte
		want string
	}{
		{"batch", func() *Sampler { m, _ := NewSampler(s, 4, 10, 1); return m }, st, "batch size 3"},
		{"seqLen", func() *Sampler { m, _ := NewSampler(s, 3, 11, 1); return m }, st, "sequence length 10"},
		{"shard", func() *Sampler { m, _ := NewSampler(other, 3, 10, 1); return m }, st, "3000 tokens"},
		{"garbage", func() *Sampler { m, _ := NewSampler(s, 3, 10, 1); return m }, []byte("hello"), "not a sampler state"},
		{"short rng", func() *Sampler { m, _ := NewSampler(s, 3, 10, 1); return m }, st[:len(st)-1], "RNG state"},
	}
	for _, c := range bad {
		m := c.sm()
		x0 := m.Next().IDs
		m2 := c.sm()
		if err := m2.SetState(c.st); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: SetState error %v, want one containing %q", c.name, err, c.want)
		}
		// A failed SetState leaves the sampler as it was.
		if x1 := m2.Next().IDs; !slices.Equal(x0, x1) {
			t.Errorf("%s: a failed SetState changed the sampler", c.name)
		}
	}
}

func TestNewSamplerErrors(t *testing.T) {
	s := openIDs(t, positions(10), 256)
	cases := []struct {
		batch, seqLen int
		want          []string
	}{
		{1, 10, []string{"has 10 tokens", "11", "sequence length 10"}},
		{1, 50, []string{"has 10 tokens", "51"}},
		{0, 4, []string{"batch size 0"}},
		{2, 0, []string{"sequence length 0"}},
	}
	for _, c := range cases {
		_, err := NewSampler(s, c.batch, c.seqLen, 1)
		if err == nil {
			t.Fatalf("NewSampler(batch %d, seqLen %d) succeeded", c.batch, c.seqLen)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
	}
	if _, err := NewSampler(s, 1, 9, 1); err != nil {
		t.Fatalf("seqLen+1 == Len must work: %v", err)
	}
}

// TestMemSampler: ids in memory give the batches a shard of them gives.
func TestMemSampler(t *testing.T) {
	ids := make([]int, 500)
	for i := range ids {
		ids[i] = (i * 7) % 256
	}
	path := filepath.Join(t.TempDir(), "s.bin")
	if err := WriteShard(path, ids, 256, "byte"); err != nil {
		t.Fatal(err)
	}
	s, err := OpenShard(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := NewSampler(s, 4, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	b := NewMemSampler(ids, 4, 16, 3)
	for range 5 {
		x, y := a.Next(), b.Next()
		if !slices.Equal(x.IDs, y.IDs) || !slices.Equal(x.Targets, y.Targets) {
			t.Fatal("the in-memory sampler drew other windows")
		}
	}
}
