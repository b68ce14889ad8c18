package data

import (
	"strings"
	"testing"
)

// TestWindowsCoverage: every target position 1..n−1 is scored exactly once,
// windows are contiguous slices of the shard with shifted targets, no longer
// than seqLen, and scored targets have all the context the stride allows.
func TestWindowsCoverage(t *testing.T) {
	cases := []struct{ n, seqLen, stride int }{
		{2, 1, 1},
		{2, 8, 8},  // one target, window longer than the shard
		{5, 10, 3}, // one window, shorter than seqLen
		{17, 4, 4}, // stride == seqLen, n−1 a multiple of seqLen: no partial window
		{18, 4, 4}, // stride == seqLen, final partial window of 1
		{23, 4, 4}, // final partial window of 2
		{10, 4, 2}, // overlapping
		{11, 4, 3}, // stride not dividing anything
		{100, 16, 1},
		{100, 16, 5},
		{100, 16, 16},
		{1000, 64, 32},
		{1000, 64, 63},
	}
	for _, c := range cases {
		s := openIDs(t, positions(c.n), 65536)
		ws, err := Windows(s, c.seqLen, c.stride)
		if err != nil {
			t.Fatal(err)
		}
		scored := make([]int, c.n)
		count, prevStart := 0, -1
		var lastLen int
		for w := range ws {
			if len(w.X) == 0 || len(w.X) > c.seqLen || len(w.Y) != len(w.X) {
				t.Fatalf("%+v: window at %d has %d inputs and %d targets", c, w.Start, len(w.X), len(w.Y))
			}
			if w.Start != prevStart+c.stride && !(count == 0 && w.Start == 0) {
				t.Fatalf("%+v: window %d starts at %d, after one at %d", c, count, w.Start, prevStart)
			}
			if w.ScoreFrom < 0 || w.ScoreFrom >= len(w.Y) {
				t.Fatalf("%+v: window at %d scores from %d of %d targets", c, w.Start, w.ScoreFrom, len(w.Y))
			}
			if count > 0 && w.ScoreFrom < c.seqLen-c.stride {
				t.Fatalf("%+v: window at %d scores from %d, with less than seqLen−stride = %d tokens of context", c, w.Start, w.ScoreFrom, c.seqLen-c.stride)
			}
			for k := range w.X {
				if w.X[k] != w.Start+k || w.Y[k] != w.Start+k+1 {
					t.Fatalf("%+v: window at %d, position %d: x %d y %d", c, w.Start, k, w.X[k], w.Y[k])
				}
			}
			for _, pos := range w.Y[w.ScoreFrom:] {
				scored[pos]++
			}
			count++
			prevStart, lastLen = w.Start, len(w.X)
		}
		if scored[0] != 0 {
			t.Fatalf("%+v: token 0 (which has no context) was scored", c)
		}
		for pos := 1; pos < c.n; pos++ {
			if scored[pos] != 1 {
				t.Fatalf("%+v: target %d scored %d times", c, pos, scored[pos])
			}
		}
		if want := NumWindows(c.n, c.seqLen, c.stride); count != want {
			t.Fatalf("%+v: %d windows, NumWindows says %d", c, count, want)
		}
		if c.stride == c.seqLen {
			wantLast := (c.n - 1) % c.seqLen
			if wantLast == 0 {
				wantLast = c.seqLen
			}
			if lastLen != min(wantLast, c.n-1) {
				t.Fatalf("%+v: last window has %d tokens, want %d", c, lastLen, wantLast)
			}
		}
	}
}

func TestWindowsBreak(t *testing.T) {
	s := openIDs(t, positions(100), 256)
	ws, err := Windows(s, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range ws {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("iterated %d windows", n)
	}
}

func TestWindowsErrors(t *testing.T) {
	s := openIDs(t, positions(100), 256)
	one := openIDs(t, []int{5}, 256)
	cases := []struct {
		s              *Shard
		seqLen, stride int
		want           string
	}{
		{s, 10, 11, "stride 11"},
		{s, 10, 0, "stride 0"},
		{s, 0, 0, "seqLen 0"},
		{one, 4, 4, "1 tokens"},
	}
	for _, c := range cases {
		if _, err := Windows(c.s, c.seqLen, c.stride); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Windows(seqLen %d, stride %d): error %v, want one containing %q", c.seqLen, c.stride, err, c.want)
		}
	}
}
