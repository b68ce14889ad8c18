package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	b := &Bar{Label: "train", Total: 200}
	got := b.Line(50, 30*time.Second, "loss 2.31", "", "12.0k tok/s")
	want := "train 50/200 [======>                 ]  25% | loss 2.31 | 12.0k tok/s | ETA 1m30s"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if got := b.Line(200, 2*time.Minute); !strings.HasSuffix(got, "done in 2m00s") {
		t.Fatalf("finished line %q", got)
	}
}

func TestThrottleWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", 100)
	clock := time.Unix(0, 0)
	b.now = func() time.Time { return clock }
	b.start = clock
	for i := 1; i <= 100; i++ {
		clock = clock.Add(time.Second)
		b.Update(i)
	}
	b.Done()
	// one line at the first update, then every 10 s, plus the final one
	if n := strings.Count(buf.String(), "\n"); n != 11 {
		t.Fatalf("%d lines:\n%s", n, buf.String())
	}
}

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 192 * time.Second: "3m12s", 3900 * time.Second: "1h05m"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %s, want %s", d, got, want)
		}
	}
	for v, want := range map[float64]string{950: "950", 12345: "12.3k", 1.5e6: "1.5M"} {
		if got := Rate(v); got != want {
			t.Errorf("Rate(%v) = %s, want %s", v, got, want)
		}
	}
}
