package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/tokenizer"
)

// countingTok is the byte tokenizer under a chosen name, counting Encode
// calls.
type countingTok struct {
	tokenizer.Byte
	name    string
	encodes int
}

func (c *countingTok) Encode(s string) []int { c.encodes++; return c.Byte.Encode(s) }
func (c *countingTok) Name() string          { return c.name }

// shardText returns the shard at path decoded as bytes.
func shardText(t *testing.T, path string) string {
	t.Helper()
	s, err := OpenShard(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return tokenizer.Byte{}.Decode(s.Slice(0, s.Len()))
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPrepareSplit(t *testing.T) {
	cases := []struct {
		text      string
		f         float64
		wantTrain int
	}{
		{"0123456789", 0.1, 9},
		{"0123456789", 0.25, 7}, // int(10·0.75) = 7
		{"0123456789", 0, 10},
		{"abc", 0.5, 1}, // int(1.5) = 1
	}
	for _, c := range cases {
		dir := t.TempDir()
		train, val, err := Prepare([]byte(c.text), tokenizer.Byte{}, c.f, dir)
		if err != nil {
			t.Fatal(err)
		}
		if train != filepath.Join(dir, TrainFile) || val != filepath.Join(dir, ValFile) {
			t.Fatalf("paths %q %q", train, val)
		}
		if got, want := shardText(t, train), c.text[:c.wantTrain]; got != want {
			t.Errorf("%q f=%v: train %q, want %q", c.text, c.f, got, want)
		}
		if got, want := shardText(t, val), c.text[c.wantTrain:]; got != want {
			t.Errorf("%q f=%v: val %q, want %q", c.text, c.f, got, want)
		}
	}
}

// TestPrepareShakespeare checks the split of the default corpus against
// nanoGPT's shakespeare_char (1,003,854 training and 111,540 validation
// characters).
func TestPrepareShakespeare(t *testing.T) {
	train, val, err := Prepare(TinyShakespeare(), tokenizer.Byte{}, 0.1, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		n    int
	}{{train, 1003854}, {val, 111540}} {
		s, err := OpenShard(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != c.n || s.Tokenizer() != "byte" || s.Vocab() != 256 || s.Width() != 1 {
			t.Errorf("%s: Len %d Tokenizer %q Vocab %d Width %d; want %d \"byte\" 256 1", c.path, s.Len(), s.Tokenizer(), s.Vocab(), s.Width(), c.n)
		}
		s.Close()
	}
}

func TestPrepareReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data") // created by Prepare
	tok := &countingTok{name: "counting"}
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog\n", 50))
	train, val, err := Prepare(text, tok, 0.1, dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.encodes != 1 {
		t.Fatalf("first Prepare encoded %d times", tok.encodes)
	}
	st1, sv1, sm1 := stat(t, train), stat(t, val), stat(t, filepath.Join(dir, MetaFile))

	// Same inputs: nothing is tokenized or rewritten.
	if _, _, err := Prepare(text, tok, 0.1, dir); err != nil {
		t.Fatal(err)
	}
	if tok.encodes != 1 {
		t.Fatalf("second Prepare with the same inputs tokenized again")
	}
	for _, c := range []struct {
		before os.FileInfo
		path   string
	}{{st1, train}, {sv1, val}, {sm1, filepath.Join(dir, MetaFile)}} {
		now := stat(t, c.path)
		if !os.SameFile(c.before, now) || !now.ModTime().Equal(c.before.ModTime()) {
			t.Fatalf("second Prepare rewrote %s", c.path)
		}
	}

	// Each change of input invalidates the shards.
	changes := []struct {
		name string
		text []byte
		tok  *countingTok
		f    float64
	}{
		{"text", append([]byte("To be or not to be.\n"), text...), tok, 0.1},
		{"fraction", text, tok, 0.2},
		{"tokenizer", text, &countingTok{name: "other"}, 0.2},
	}
	for _, c := range changes {
		before := c.tok.encodes
		train, val, err := Prepare(c.text, c.tok, c.f, dir)
		if err != nil {
			t.Fatal(err)
		}
		if c.tok.encodes != before+1 {
			t.Fatalf("changing the %s did not re-tokenize", c.name)
		}
		if got := shardText(t, train) + shardText(t, val); got != string(c.text) {
			t.Fatalf("after changing the %s the shards hold %d bytes of other text", c.name, len(got))
		}
		n := int(float64(len(c.text)) * (1 - c.f))
		if got := shardText(t, train); got != string(c.text[:n]) {
			t.Fatalf("after changing the %s the train shard has %d tokens, want %d", c.name, len(got), n)
		}
		s, _ := OpenShard(train)
		if s.Tokenizer() != c.tok.name {
			t.Fatalf("train shard records tokenizer %q, want %q", s.Tokenizer(), c.tok.name)
		}
		s.Close()
		if _, _, err := Prepare(c.text, c.tok, c.f, dir); err != nil || c.tok.encodes != before+1 {
			t.Fatalf("after changing the %s a repeated Prepare re-tokenized (err %v)", c.name, err)
		}
	}
}

// TestPrepareRepairs: a damaged shard or sidecar is regenerated even though
// the inputs match.
func TestPrepareRepairs(t *testing.T) {
	text := []byte(strings.Repeat("abcdefghij", 20))
	damage := []struct {
		name string
		do   func(dir string) error
	}{
		{"truncated val", func(dir string) error {
			return os.Truncate(filepath.Join(dir, ValFile), 45)
		}},
		{"missing train", func(dir string) error { return os.Remove(filepath.Join(dir, TrainFile)) }},
		{"garbled meta", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, MetaFile), []byte("{not json"), 0o644)
		}},
		{"meta with wrong count", func(dir string) error {
			p := filepath.Join(dir, MetaFile)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, []byte(strings.Replace(string(b), `"val_tokens": 20`, `"val_tokens": 21`, 1)), 0o644)
		}},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir()
			tok := &countingTok{name: "byte"}
			if _, _, err := Prepare(text, tok, 0.1, dir); err != nil {
				t.Fatal(err)
			}
			if err := d.do(dir); err != nil {
				t.Fatal(err)
			}
			train, val, err := Prepare(text, tok, 0.1, dir)
			if err != nil {
				t.Fatal(err)
			}
			if tok.encodes != 2 {
				t.Fatalf("damage was not repaired: %d encodes", tok.encodes)
			}
			if got := shardText(t, train) + shardText(t, val); got != string(text) {
				t.Fatal("repaired shards do not hold the text")
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	cases := []struct {
		name string
		text string
		f    float64
		want string
	}{
		{"fraction 1", "abc", 1, "out of range"},
		{"negative fraction", "abc", -0.1, "out of range"},
		{"empty text", "", 0.1, "no tokens"},
		{"no val", "ab", 1e-17, "no validation tokens"}, // 1−f rounds to 1
		{"no train", "ab", 0.9, "no training tokens"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		_, _, err := Prepare([]byte(c.text), tokenizer.Byte{}, c.f, dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, MetaFile)); err == nil {
			t.Errorf("%s: a failed Prepare left %s", c.name, MetaFile)
		}
	}
}
