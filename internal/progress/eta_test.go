package progress

import (
	"strings"
	"testing"
	"time"
)

// TestETA: the ETA extrapolates from the work of this session only (Base:
// the steps a resumed run had done), and is "--" until there is a rate.
func TestETA(t *testing.T) {
	for _, c := range []struct {
		name       string
		base, done int
		elapsed    time.Duration
		want       string
	}{
		{"fresh", 0, 50, 30 * time.Second, "ETA 1m30s"},
		// Resumed at 100 of 200: 20 steps in 10 s leave 80 steps, 40 s.
		{"resumed", 100, 120, 10 * time.Second, "ETA 40s"},
		{"resumed, no step yet", 100, 100, 0, "ETA --"},
		{"no time yet", 0, 44, 0, "ETA --"},
		{"nothing done", 0, 0, 5 * time.Second, "ETA --"},
	} {
		b := &Bar{Label: "train", Total: 200, Base: c.base}
		if got := b.Line(c.done, c.elapsed); !strings.HasSuffix(got, c.want) {
			t.Errorf("%s: %q, want it to end in %q", c.name, got, c.want)
		}
	}
}

// TestBytes: a byte-counting bar shows sizes in units that suit them, so a
// small total is not "0/0 MB".
func TestBytes(t *testing.T) {
	for _, c := range []struct {
		done, total int
		want        string
	}{
		{0, 460_000, "init 0 B/460.0 KB ["},
		{102_400, 460_000, "init 102.4 KB/460.0 KB ["},
		{999, 999, "init 999 B/999 B ["},
		{2_000_000_000, 9_000_000_000, "init 2.0 GB/9.0 GB ["},
		{4_400_000, 9_000_000, "init 4.4 MB/9.0 MB ["},
	} {
		b := &Bar{Label: "init", Total: c.total, Bytes: true}
		if got := b.Line(c.done, time.Second); !strings.HasPrefix(got, c.want) {
			t.Errorf("Line(%d) of %d bytes = %q, want it to start %q", c.done, c.total, got, c.want)
		}
	}
}

// TestInterval: off a terminal, lines come every Interval.
func TestInterval(t *testing.T) {
	for _, c := range []struct {
		every time.Duration
		lines int
	}{{time.Second, 100}, {5 * time.Second, 21}, {DefaultInterval, 11}} {
		var buf strings.Builder
		b := New(&buf, "x", 100)
		b.Interval = c.every
		clock := time.Unix(0, 0)
		b.now = func() time.Time { return clock }
		b.start = clock
		for i := 1; i <= 100; i++ {
			clock = clock.Add(time.Second)
			b.Update(i)
		}
		b.Done()
		if n := strings.Count(buf.String(), "\n"); n != c.lines {
			t.Errorf("every %v: %d lines, want %d", c.every, n, c.lines)
		}
	}
}
