package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

// openIDs writes ids to a shard in a temporary directory and opens it.
func openIDs(t *testing.T, ids []int, vocab int) *Shard {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.bin")
	if err := WriteShard(path, ids, vocab, "test"); err != nil {
		t.Fatal(err)
	}
	s, err := OpenShard(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// randomIDs returns n seeded random ids below vocab, with 0 and vocab−1
// included when n ≥ 2.
func randomIDs(n, vocab int, seed uint64) []int {
	r := tensor.NewRNG(seed)
	ids := make([]int, n)
	for i := range ids {
		ids[i] = r.Intn(vocab)
	}
	if n >= 2 {
		ids[0], ids[n-1] = vocab-1, 0
	}
	return ids
}

func TestTinyShakespeare(t *testing.T) {
	b := TinyShakespeare()
	sum := sha256.Sum256(b)
	if len(b) != 1115394 || hex.EncodeToString(sum[:]) != "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed" {
		t.Fatalf("embedded corpus is %d bytes with sha256 %x; want char-rnn's 1115394-byte input.txt", len(b), sum)
	}
	if !strings.HasPrefix(string(b), "First Citizen:\n") {
		t.Fatalf("corpus starts %q", b[:20])
	}
	b[0] = 'X'
	if TinyShakespeare()[0] != 'F' {
		t.Fatal("modifying the returned corpus changed the embedded one")
	}
}

func TestWidthFor(t *testing.T) {
	for _, c := range []struct{ vocab, width int }{
		{1, 1}, {256, 1}, {257, 2}, {50257, 2}, {65536, 2}, {65537, 4}, {1 << 20, 4},
	} {
		if got := WidthFor(c.vocab); got != c.width {
			t.Errorf("WidthFor(%d) = %d, want %d", c.vocab, got, c.width)
		}
	}
}

func TestShardRoundTrip(t *testing.T) {
	cases := []struct {
		vocab, n, width int
		name            string
	}{
		{1, 5, 1, ""},
		{2, 1000, 1, "b"},
		{256, 140000, 1, "byte"}, // several write chunks
		{257, 1000, 2, "seven"},
		{50257, 3000, 2, "gpt2"},
		{65536, 1000, 2, "exactly-eight-ch"},
		{65537, 1000, 4, "a tokenizer with a longer name, ünïcode"},
		{1 << 24, 40000, 4, "big"},
		{300, 0, 2, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := randomIDs(c.n, c.vocab, uint64(c.vocab))
			path := filepath.Join(t.TempDir(), "shard.bin")
			if err := WriteShard(path, ids, c.vocab, c.name); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(headerLen(len(c.name)) + c.n*c.width); st.Size() != want {
				t.Fatalf("file is %d bytes, want %d", st.Size(), want)
			}
			if headerLen(len(c.name))%8 != 0 {
				t.Fatalf("header length %d is not a multiple of 8", headerLen(len(c.name)))
			}
			s, err := OpenShard(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Len() != c.n || s.Width() != c.width || s.Vocab() != c.vocab || s.Tokenizer() != c.name || s.Path() != path {
				t.Fatalf("Len %d Width %d Vocab %d Tokenizer %q Path %q; want %d %d %d %q %q",
					s.Len(), s.Width(), s.Vocab(), s.Tokenizer(), s.Path(), c.n, c.width, c.vocab, c.name, path)
			}
			for i, id := range ids {
				if s.At(i) != id {
					t.Fatalf("At(%d) = %d, want %d", i, s.At(i), id)
				}
			}
			all := s.Slice(0, c.n)
			for i := range ids {
				if all[i] != ids[i] {
					t.Fatalf("Slice(0, n)[%d] = %d, want %d", i, all[i], ids[i])
				}
			}
			if c.n >= 10 {
				buf := make([]int, 7)
				s.Read(buf, c.n-7)
				for k, v := range buf {
					if v != ids[c.n-7+k] {
						t.Fatalf("Read at %d: [%d] = %d, want %d", c.n-7, k, v, ids[c.n-7+k])
					}
				}
				if got := s.Slice(3, 3); len(got) != 0 {
					t.Fatalf("Slice(3, 3) = %v", got)
				}
			}
		})
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestShardBoundsAndClose(t *testing.T) {
	s := openIDs(t, []int{1, 2, 3}, 10)
	mustPanic(t, "At(3)", func() { s.At(3) })
	mustPanic(t, "At(-1)", func() { s.At(-1) })
	mustPanic(t, "Read past the end", func() { s.Read(make([]int, 2), 2) })
	mustPanic(t, "Read at -1", func() { s.Read(make([]int, 1), -1) })
	mustPanic(t, "Slice(2, 1)", func() { s.Slice(2, 1) })
	mustPanic(t, "Slice(0, 4)", func() { s.Slice(0, 4) })
	s.Read(nil, 3) // empty read at the end is fine
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after Close = %d", s.Len())
	}
	mustPanic(t, "At after Close", func() { s.At(0) })
}

// shardBytes returns the bytes of a valid shard.
func shardBytes(t *testing.T, ids []int, vocab int, name string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orig.bin")
	if err := WriteShard(path, ids, vocab, name); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openBytes writes b to a file and opens it as a shard, returning the path
// and the error.
func openBytes(t *testing.T, b []byte) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "broken.bin")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenShard(path)
	if err == nil {
		s.Close()
	}
	return path, err
}

func TestShardTruncated(t *testing.T) {
	for _, vocab := range []int{256, 1000, 100000} {
		ids := randomIDs(50, vocab, 3)
		full := shardBytes(t, ids, vocab, "tok")
		hl := headerLen(3)
		w := WidthFor(vocab)
		for _, cut := range []int{0, 1, 8, 20, fixedHeaderLen - 1, fixedHeaderLen, hl - 1, hl, hl + 1, len(full) - w, len(full) - 1} {
			if cut < 0 || cut >= len(full) {
				continue
			}
			path, err := openBytes(t, full[:cut])
			if err == nil {
				t.Fatalf("vocab %d: shard cut to %d of %d bytes opened without error", vocab, cut, len(full))
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !(strings.Contains(msg, "truncated") || cut < 8 && strings.Contains(msg, "too short")) {
				t.Errorf("vocab %d, cut at %d: error %q should name the file and say it is truncated", vocab, cut, msg)
			}
		}
		path, err := openBytes(t, append(full[:len(full):len(full)], 0))
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "trailing") {
			t.Errorf("vocab %d: a trailing byte gave error %v, want one naming the file and the trailing bytes", vocab, err)
		}
	}
}

func TestShardCorrupt(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name    string
		vocab   int
		corrupt func(b []byte)
		want    []string
	}{
		{"bad magic", 256, func(b []byte) { copy(b, "GPT2TOKS") }, []string{"bad magic", `"GPT2TOKS"`, `"LOOMTOK1"`}},
		{"version", 256, func(b []byte) { le.PutUint32(b[8:], 2) }, []string{"unsupported version 2", "want 1"}},
		{"width 3", 256, func(b []byte) { le.PutUint32(b[12:], 3) }, []string{"unsupported token width 3", "1, 2 or 4"}},
		{"width for vocab", 256, func(b []byte) { le.PutUint32(b[12:], 2); le.PutUint64(b[16:], 25) }, []string{"width is 2", "256", "1 bytes wide"}},
		{"vocab 0", 256, func(b []byte) { le.PutUint64(b[24:], 0) }, []string{"vocabulary size 0"}},
		{"count", 256, func(b []byte) { le.PutUint64(b[16:], 51) }, []string{"51 tokens", "truncated"}},
		{"count overflow", 256, func(b []byte) { le.PutUint64(b[16:], 1<<64-1) }, []string{"more than 2^64"}},
		{"name length", 256, func(b []byte) { le.PutUint32(b[32:], 5000) }, []string{"name length 5000", "1024"}},
		{"padding", 256, func(b []byte) { b[39] = 1 }, []string{"padding"}},
		{"name utf8", 256, func(b []byte) { b[36] = 0xff }, []string{"not valid UTF-8"}},
		{"id out of vocab 1", 200, func(b []byte) { b[40+7] = 200 }, []string{"token 7 is id 200", "[0, 200)"}},
		{"id out of vocab 2", 1000, func(b []byte) { le.PutUint16(b[40+2*9:], 1000) }, []string{"token 9 is id 1000", "[0, 1000)"}},
		{"id out of vocab 4", 70000, func(b []byte) { le.PutUint32(b[40+4*49:], 99999) }, []string{"token 49 is id 99999", "[0, 70000)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := shardBytes(t, randomIDs(50, c.vocab, 9), c.vocab, "tok") // header is 40 bytes
			c.corrupt(b)
			path, err := openBytes(t, b)
			if err == nil {
				t.Fatal("corrupt shard opened without error")
			}
			for _, w := range append(c.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestWriteShardErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.bin")
	if err := WriteShard(path, []int{1, 2, 3}, 10, "t"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	cases := []struct {
		name  string
		ids   []int
		vocab int
		tok   string
		want  string
	}{
		{"id too big", []int{1, 10}, 10, "t", "token 1 is id 10"},
		{"negative id", []int{-1}, 10, "t", "token 0 is id -1"},
		{"vocab 0", nil, 0, "t", "vocabulary size 0"},
		{"long name", nil, 10, strings.Repeat("x", MaxTokenizerName+1), "at most 1024 bytes"},
	}
	for _, c := range cases {
		err := WriteShard(path, c.ids, c.vocab, c.tok)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s and containing %q", c.name, err, path, c.want)
		}
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Fatal("a failed WriteShard changed the existing file")
	}
	if err := WriteShard(filepath.Join(dir, "missing", "s.bin"), []int{1}, 10, "t"); err == nil {
		t.Error("WriteShard into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v; failed writes must leave no temporary files", names)
	}
}

func TestOpenShardMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.bin")
	if _, err := OpenShard(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("opening a missing file: %v", err)
	}
	if _, err := OpenShard(t.TempDir()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("opening a directory: %v", err)
	}
}
