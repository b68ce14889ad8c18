// Package progress draws a one-line progress bar for long work: done/total,
// a bar, percentage, caller-supplied fields (loss, tokens/s …) and an ETA.
// On a terminal the line is redrawn in place at most a few times a second;
// elsewhere (logs, CI) a plain line is printed at most every Interval.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar reports progress of total units of work to W.
type Bar struct {
	W        io.Writer
	Label    string
	Total    int
	Interval time.Duration // minimum time between non-terminal lines (default DefaultInterval)
	// Base is the work done before this bar started (the steps of a
	// resumed run): the ETA extrapolates from the Total−Base units of this
	// session only.
	Base int
	// Bytes shows done and total as sizes (512 B, 12.3 KB, 4.4 MB) rather
	// than counts.
	Bytes bool

	start    time.Time
	last     time.Time
	tty      bool
	lastLen  int
	lastDone int
	now      func() time.Time
}

// DefaultInterval is the least time between two progress lines when the
// output is not a terminal.
const DefaultInterval = 10 * time.Second

// New starts a bar for total units on w (typically os.Stderr).
func New(w io.Writer, label string, total int) *Bar {
	b := &Bar{W: w, Label: label, Total: total, Interval: DefaultInterval, now: time.Now}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	b.start = b.now()
	return b
}

// Update reports that done units are finished; fields are shown after the
// bar (e.g. "loss 2.31", "12.1k tok/s").
func (b *Bar) Update(done int, fields ...string) {
	t := b.now()
	period := b.Interval
	if b.tty {
		period = 200 * time.Millisecond
	}
	if !b.tty && done >= b.Total {
		return // Done prints the final line
	}
	if done < b.Total && !b.last.IsZero() && t.Sub(b.last) < period {
		return
	}
	b.last = t
	b.lastDone = done
	b.draw(done, t, fields)
}

// Done finishes the bar with the given fields and ends its line.
func (b *Bar) Done(fields ...string) {
	t := b.now()
	b.draw(b.Total, t, fields)
	if b.tty {
		fmt.Fprintln(b.W)
	}
}

// Stop ends the bar's line at done units, short of the total (the work
// was interrupted), with the given fields and the time spent.
func (b *Bar) Stop(done int, fields ...string) {
	t := b.now()
	b.print(b.line(done, fields, "stopped after "+Duration(t.Sub(b.start))))
	if b.tty {
		fmt.Fprintln(b.W)
	}
}

func (b *Bar) draw(done int, t time.Time, fields []string) {
	b.print(b.Line(done, t.Sub(b.start), fields...))
}

func (b *Bar) print(line string) {
	if b.tty {
		pad := ""
		if n := b.lastLen - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(b.W, "\r%s%s", line, pad)
		b.lastLen = len(line)
		return
	}
	fmt.Fprintln(b.W, line)
}

// Line formats the bar for done units after elapsed time.
func (b *Bar) Line(done int, elapsed time.Duration, fields ...string) string {
	// No ETA before there is a rate: work done in this session, in
	// measurable time.
	eta := "--"
	if done > b.Base && done < b.Total && elapsed > 0 {
		eta = Duration(time.Duration(float64(elapsed) / float64(done-b.Base) * float64(b.Total-done)))
	} else if done >= b.Total {
		eta = "done in " + Duration(elapsed)
	}
	if done < b.Total {
		eta = "ETA " + eta
	}
	return b.line(done, fields, eta)
}

// line is the bar at done units with fields and a last field.
func (b *Bar) line(done int, fields []string, last string) string {
	frac := 0.0
	if b.Total > 0 {
		frac = min(1, float64(done)/float64(b.Total))
	}
	const width = 24
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	count := fmt.Sprintf("%d/%d", done, b.Total)
	if b.Bytes {
		count = Size(int64(done)) + "/" + Size(int64(b.Total))
	}
	s := fmt.Sprintf("%s %s [%s] %3.0f%%", b.Label, count, bar, 100*frac)
	for _, f := range fields {
		if f != "" {
			s += " | " + f
		}
	}
	if last != "" {
		s += " | " + last
	}
	return s
}

// Duration formats d compactly: 45s, 3m12s, 1h05m.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// Size formats a number of bytes compactly in decimal units: 512 B,
// 12.3 KB, 4.4 MB, 1.2 GB.
func Size(n int64) string {
	v := float64(n)
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1f GB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1f MB", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f KB", v/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// Rate formats a per-second rate compactly: 950, 12.3k, 1.5M.
func Rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
