// Package repro is loom's registry of reproductions: small-scale reruns of a
// paper's claim that anyone can start with `loom repro NAME`. Each entry
// trains and measures what it needs and returns a report, which Run writes
// to docs/results/NAME.md with the exact command, seeds, machine, a table,
// any plots and an honest verdict (reproduced, not reproduced or partial).
// Entries register themselves from init, one file per paper.
package repro

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/internal/registry"
)

// Entry is one reproduction.
type Entry struct {
	Name    string
	Paper   string // title and arXiv id, or "" for loom's own checks
	Summary string
	// Text marks an entry that trains on text, from Context.Corpus: it
	// takes a user's corpus (Context.Data, `--data FILE`); the others
	// refuse one.
	Text bool
	// Run performs the reproduction. It writes artefacts (PNGs) into
	// c.DocsDir and returns the report.
	Run func(c *Context) (*Report, error)
}

// Corpus is a text a reproduction trains on.
type Corpus struct {
	Name string // the embedded corpus's name, or the user's file
	Text []byte
	User bool // given by the user (--data), not embedded
}

// String names the corpus and its size for a report.
func (c Corpus) String() string {
	if c.User {
		return fmt.Sprintf("the user's corpus `%s` (%d bytes, --data)", c.Name, len(c.Text))
	}
	return fmt.Sprintf("the embedded %s (%d bytes)", c.Name, len(c.Text))
}

// ReadCorpus reads a user's corpus from path; an empty file is an error.
func ReadCorpus(path string) (*Corpus, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	if len(text) == 0 {
		return nil, fmt.Errorf("--data %s: the file is empty", path)
	}
	return &Corpus{Name: path, Text: text, User: true}, nil
}

// MinCorpus is the fewest bytes a corpus may have, with the reason: the
// text reproductions hold out its tail (train.Settings.ValFraction), and
// both parts must hold a window of seq_len + 1 bytes (byte tokenizer).
func MinCorpus() (int, string) {
	t := smallSpec(0, false, nil).Train
	return int(math.Ceil(float64(t.SeqLen+1) / t.ValFraction)),
		fmt.Sprintf("the last %g %% is held out and must hold a window of %d bytes", 100*t.ValFraction, t.SeqLen+1)
}

// TakesData returns an error naming --data unless the entry trains on
// text.
func (e Entry) TakesData() error {
	if e.Text {
		return nil
	}
	var text []string
	for _, x := range List() {
		if x.Text {
			text = append(text, x.Name)
		}
	}
	return fmt.Errorf("--data: %s does not train on text (%s); --data applies to %s", e.Name, e.Summary, strings.Join(text, ", "))
}

// CheckData reports whether the entry can run on the user's corpus d (nil:
// none): it must train on text, and d must hold the protocol's windows.
func (e Entry) CheckData(d *Corpus) error {
	if d == nil {
		return nil
	}
	if err := e.TakesData(); err != nil {
		return err
	}
	if n, why := MinCorpus(); len(d.Text) < n {
		return fmt.Errorf("--data %s: %d bytes, fewer than the %d the protocol needs (%s)", d.Name, len(d.Text), n, why)
	}
	return nil
}

// Context is what an entry may use.
type Context struct {
	Quick    bool   // a shortened run (fewer steps), marked as such in the report
	Seeds    int    // seeds to run (an entry's default when 0)
	WorkDir  string // scratch space for runs (checkpoints, data)
	DocsDir  string // where the report and its images go
	Progress io.Writer
	Command  string // the command line that started the run
	// Data is the user's corpus (--data) for entries that train on text;
	// nil: the embedded tinyshakespeare.
	Data *Corpus
}

// Corpus returns the text to train on: c.Data, or the embedded
// tinyshakespeare.
func (c *Context) Corpus() Corpus {
	if c.Data != nil {
		return *c.Data
	}
	return Corpus{Name: "tinyshakespeare", Text: data.TinyShakespeare()}
}

// SeedsOr returns c.Seeds, or def when it is 0.
func (c *Context) SeedsOr(def int) int {
	if c.Seeds > 0 {
		return c.Seeds
	}
	return def
}

// SeedsOrQuick is SeedsOr with a smaller default, quick, for quick runs.
func (c *Context) SeedsOrQuick(def, quick int) int {
	if c.Quick {
		return c.SeedsOr(quick)
	}
	return c.SeedsOr(def)
}

// Report is what an entry found.
type Report struct {
	Title   string
	Claim   string   // what the paper claims, in a sentence
	Seeds   []uint64 // seeds used
	Body    string   // markdown: setup, tables, plots
	Verdict string   // "reproduced", "not reproduced" or "partial", with the numbers
	Changes string   // what would change the verdict
}

var entries = registry.New[Entry]("reproduction")

// Register adds an entry (from init).
func Register(e Entry) { entries.Register(e.Name, e) }

// List returns the entries sorted by name.
func List() []Entry { return entries.Values() }

// Lookup returns the named entry.
func Lookup(name string) (Entry, error) { return entries.Get(name) }

// Run runs the named entry and writes DocsDir/NAME.md; it returns the path.
func Run(name string, c *Context) (string, error) {
	e, err := Lookup(name)
	if err != nil {
		return "", err
	}
	if c.DocsDir == "" || c.WorkDir == "" {
		return "", errors.New("repro: DocsDir and WorkDir must be set")
	}
	if err := e.CheckData(c.Data); err != nil {
		return "", fmt.Errorf("repro %s: %w", name, err)
	}
	if err := os.MkdirAll(c.DocsDir, 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	r, err := e.Run(c)
	if err != nil {
		return "", fmt.Errorf("repro %s: %w", name, err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	if e.Paper != "" {
		fmt.Fprintf(&b, "Paper: %s\n\n", e.Paper)
	}
	if r.Claim != "" {
		fmt.Fprintf(&b, "Claim: %s\n\n", r.Claim)
	}
	if c.Quick {
		b.WriteString("> **Quick run** (`--quick`): shortened settings; the numbers and the verdict below are not the reproduction's.\n\n")
	}
	fmt.Fprintf(&b, "**Verdict: %s**\n\n", r.Verdict)
	fmt.Fprintf(&b, "- Command: `%s`\n", c.Command)
	if c.Quick {
		b.WriteString("- Mode: **quick** (shortened run; numbers are not the full reproduction)\n")
	}
	if e.Text {
		fmt.Fprintf(&b, "- Corpus: %s\n", c.Corpus())
		if c.Data != nil {
			b.WriteString("- Data: **the user's corpus** (`--data`): the reproduction's protocol run on another text; its numbers are not the published page's\n")
		}
	}
	if len(r.Seeds) > 0 {
		fmt.Fprintf(&b, "- Seeds: %v\n", r.Seeds)
	}
	fmt.Fprintf(&b, "- Machine: %s\n", Machine())
	fmt.Fprintf(&b, "- Date: %s; wall time %s\n\n", time.Now().UTC().Format("2006-01-02"), time.Since(start).Round(time.Second))
	b.WriteString(strings.TrimSpace(r.Body))
	b.WriteString("\n")
	if r.Changes != "" {
		fmt.Fprintf(&b, "\n## What would change the verdict\n\n%s\n", strings.TrimSpace(r.Changes))
	}
	path := filepath.Join(c.DocsDir, name+".md")
	return path, writeAtomic(path, b.Bytes())
}

// Machine describes this computer and build for reports.
func Machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				if _, v, ok := strings.Cut(line, ":"); ok {
					cpu = strings.TrimSpace(v)
				}
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s, GEMM kernel %s, %d threads", cpu, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, kernels.Current(), kernels.Threads())
}

func writeAtomic(path string, data []byte) error { return fsutil.WriteFile(path, data) }
