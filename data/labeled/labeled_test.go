package labeled

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/audio"
)

// write creates dir/name (and its parent directories) holding b.
func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wav is a 16 kHz mono 16-bit PCM WAV file of n samples of a tone.
func wav(n int) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))     // PCM
	le(uint16(1))     // mono
	le(uint32(16000)) // rate
	le(uint32(32000)) // bytes per second
	le(uint16(2))     // block align
	le(uint16(16))    // bits
	b.WriteString("data")
	le(uint32(2 * n))
	for i := range n {
		le(int16(8000 * math.Sin(float64(i)/10)))
	}
	return b.Bytes()
}

func TestReadCSV(t *testing.T) {
	dir := t.TempDir()
	// Columns in any order with an extra one, RFC 4180 quoting (a comma, a
	// doubled quote, a newline), a byte-order mark, spaces around a label.
	const body = "\ufeffid,label,text\n" +
		"1,spam,\"Win, now\"\n" +
		"2, ham ,\"He said \"\"hi\"\"\nthen left\"\n" +
		"3,spam,cheap pills\n"
	want := &Set{
		Items:   []string{"Win, now", "He said \"hi\"\nthen left", "cheap pills"},
		Labels:  []int{1, 0, 1},
		Classes: []string{"ham", "spam"},
	}
	for _, name := range []string{"a.csv", "a.csv.gz", "A.CSV.GZ"} {
		b := []byte(body)
		if strings.HasSuffix(strings.ToLower(name), ".gz") {
			b = gz(t, body)
		}
		p := write(t, dir, name, b)
		for _, read := range []func(string) (*Set, error){ReadCSV, Read} {
			s, err := read(p)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !slices.Equal(s.Items, want.Items) || !slices.Equal(s.Labels, want.Labels) || !slices.Equal(s.Classes, want.Classes) || s.Source != p {
				t.Errorf("%s: got %+v, want %+v", name, s, want)
			}
			if !slices.Equal(s.Counts(), []int{1, 2}) {
				t.Errorf("%s: counts %v, want [1 2]", name, s.Counts())
			}
		}
	}
}

// Integer class names sort by value, others as strings.
func TestClassOrder(t *testing.T) {
	for _, c := range []struct {
		labels []string
		want   []string
	}{
		{[]string{"10", "9", "2", "-1", "9"}, []string{"-1", "2", "9", "10"}},
		{[]string{"10", "9", "x"}, []string{"10", "9", "x"}},
		{[]string{"b", "B", "a"}, []string{"B", "a", "b"}},
		{[]string{"1", "01"}, []string{"01", "1"}},
	} {
		var b strings.Builder
		b.WriteString("text,label\n")
		for _, l := range c.labels {
			b.WriteString("t," + l + "\n")
		}
		s, err := DecodeCSV(strings.NewReader(b.String()), "c.csv")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Classes, c.want) {
			t.Errorf("%v: classes %v, want %v", c.labels, s.Classes, c.want)
		}
		for i, l := range s.Labels {
			if s.Classes[l] != c.labels[i] {
				t.Errorf("%v: item %d labelled %q", c.labels, i, s.Classes[l])
			}
		}
	}
}

func TestReadCSVErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, body string
		want       []string // all in the error, after "dir/name: "
	}{
		{"empty.csv", "", []string{"empty file; expected a header row with text and label columns"}},
		{"nolabel.csv", "a,text\nx,y\n", []string{`no "label" column in the header (columns: a, text); expected a header with text and label`}},
		{"notext.csv", "label, b \nx,y\n", []string{`no "text" column in the header (columns: label, b); expected a header with text and label`}},
		{"twolabels.csv", "label,text,Label\nx,y,z\n", []string{`line 1: two "label" columns (1 and 3)`}},
		{"headeronly.csv", "text,label\n", []string{"no data rows after the header"}},
		{"fields.csv", "text,label\na,x\nb\nc,y,z\n", []string{"bad rows:", "line 3: 1 field, the header has 2", "line 4: 3 fields, the header has 2"}},
		{"emptylabel.csv", "text,label\na,x\nb,\nc, \n", []string{"line 3: empty label", "line 4: empty label"}},
		{"emptytext.csv", "text,label\na,x\n,y\n", []string{"line 3: empty text"}},
		// The line of a row is where it starts, after a quoted newline.
		{"lines.csv", "text,label\n\"a\nb\nc\",x\nd,\n", []string{"line 5: empty label"}},
		{"quote.csv", "text,label\na \"b\" c,x\n", []string{"line 2: bare \" in non-quoted-field"}},
		{"oneclass.csv", "text,label\na,x\nb,x\n", []string{"1 class (x); expected at least two"}},
		{"notgzip.csv.gz", "text,label\na,x\n", []string{"not gzip data"}},
	} {
		p := write(t, dir, c.name, []byte(c.body))
		_, err := ReadCSV(p)
		if err == nil {
			t.Errorf("%s: no error, want %q", c.name, c.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), p+": ") {
			t.Errorf("%s: %q does not start with the file name", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q, want it to contain %q", c.name, err, w)
			}
		}
	}
	// Ten bad rows are listed, then it stops.
	var b strings.Builder
	b.WriteString("text,label\n")
	for range 30 {
		b.WriteString("a,\n")
	}
	p := write(t, dir, "many.csv", []byte(b.String()))
	if _, err := ReadCSV(p); err == nil || !strings.Contains(err.Error(), "(first 10 shown)") || !strings.Contains(err.Error(), "line 11:") || strings.Contains(err.Error(), "line 12:") {
		t.Errorf("30 bad rows: %v", err)
	}
	// A missing file.
	missing := filepath.Join(dir, "missing.csv")
	for _, read := range []func(string) (*Set, error){ReadCSV, Read} {
		if _, err := read(missing); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("missing file: %v", err)
		}
	}
}

func TestReadFolders(t *testing.T) {
	dir := t.TempDir()
	clip := wav(160)
	write(t, dir, "yes/b.wav", clip)
	write(t, dir, "yes/a.WAV", clip)
	write(t, dir, "yes/notes.txt", []byte("ignored"))
	write(t, dir, "yes/nested/c.wav", clip) // not recursive
	write(t, dir, "no/z.wav", clip)
	write(t, dir, ".hidden/x.wav", clip) // not a class
	write(t, dir, "manifest.csv", []byte("ignored"))
	want := &Set{
		Items:   []string{filepath.Join(dir, "no", "z.wav"), filepath.Join(dir, "yes", "a.WAV"), filepath.Join(dir, "yes", "b.wav")},
		Labels:  []int{0, 1, 1},
		Classes: []string{"no", "yes"},
		Source:  dir,
	}
	for _, read := range []func(string) (*Set, error){ReadFolders, Read} {
		s, err := read(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Items, want.Items) || !slices.Equal(s.Labels, want.Labels) || !slices.Equal(s.Classes, want.Classes) || s.Source != want.Source {
			t.Errorf("got %+v, want %+v", s, want)
		}
		// The items are the WAV files, ready for package audio.
		for _, p := range s.Items {
			if w, err := audio.ReadWAV(p); err != nil || len(w.Samples) != 160 {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	// Numeric class folders sort by value.
	num := t.TempDir()
	for _, c := range []string{"10", "2", "1"} {
		write(t, num, c+"/x.wav", clip)
	}
	if s, err := ReadFolders(num); err != nil || !slices.Equal(s.Classes, []string{"1", "2", "10"}) {
		t.Errorf("numeric classes: %v, %v", s, err)
	}
}

func TestReadFoldersErrors(t *testing.T) {
	clip := wav(16)
	for _, c := range []struct {
		name  string
		setup func(dir string) string // returns the path to read
		want  string
	}{
		{"file", func(d string) string { return write(t, d, "x.wav", clip) }, "not a directory; expected a directory with one sub-directory of .wav files per class"},
		{"missing", func(d string) string { return filepath.Join(d, "nope") }, "no such file or directory"},
		{"flat", func(d string) string { write(t, d, "x.wav", clip); return d }, "no sub-directories; expected"},
		{"no wav", func(d string) string {
			write(t, d, "yes/a.wav", clip)
			write(t, d, "no/a.mp3", clip)
			return d
		}, "/no: class folder without .wav files; expected"},
		{"one class", func(d string) string { write(t, d, "yes/a.wav", clip); return d }, "1 class folder (yes); expected at least two"},
	} {
		dir := t.TempDir()
		p := c.setup(dir)
		_, err := ReadFolders(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want an error naming %s and containing %q", c.name, err, p, c.want)
		}
	}
}

func TestReadOtherFile(t *testing.T) {
	p := write(t, t.TempDir(), "data.txt", []byte("text,label\na,x\nb,y\n"))
	if _, err := Read(p); err == nil || !strings.HasPrefix(err.Error(), p+": neither a directory nor a .csv or .csv.gz file") {
		t.Errorf("Read(.txt): %v", err)
	}
}

// set has n[c] items of class c, item i being "i".
func set(n ...int) *Set {
	s := &Set{Source: "s"}
	for c, k := range n {
		s.Classes = append(s.Classes, string(rune('a'+c)))
		for range k {
			s.Items = append(s.Items, strings.Repeat("x", len(s.Items)))
			s.Labels = append(s.Labels, c)
		}
	}
	// Interleave the classes so order preservation is visible.
	slices.Reverse(s.Items)
	slices.Reverse(s.Labels)
	return s
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		n    []int
		frac float64
		held []int
	}{
		{[]int{100, 20}, 0.1, []int{10, 2}},
		{[]int{100, 20}, 0.25, []int{25, 5}},
		{[]int{3, 1}, 0.1, []int{1, 0}}, // at least one held out, never a class's last
		{[]int{5, 5}, 0, []int{0, 0}},
		{[]int{5, 5}, -0.5, []int{0, 0}},
		{[]int{5, 5}, math.NaN(), []int{0, 0}},
		{[]int{5, 2}, 1, []int{4, 1}},
		{[]int{5, 2}, 7, []int{4, 1}},
	} {
		s := set(c.n...)
		train, held := s.Split(c.frac, 3)
		if !slices.Equal(held.Counts(), c.held) {
			t.Errorf("%v frac %v: held %v, want %v", c.n, c.frac, held.Counts(), c.held)
		}
		if len(train.Items)+len(held.Items) != len(s.Items) || !slices.Equal(train.Classes, s.Classes) || !slices.Equal(held.Classes, s.Classes) {
			t.Errorf("%v frac %v: %d+%d items of %d, classes %v %v", c.n, c.frac, len(train.Items), len(held.Items), len(s.Items), train.Classes, held.Classes)
		}
		// Each part keeps the original order and labels.
		for _, part := range []*Set{train, held} {
			at := -1
			for i, x := range part.Items {
				j := slices.Index(s.Items, x)
				if j <= at || s.Labels[j] != part.Labels[i] {
					t.Fatalf("%v frac %v: item %q out of order or relabelled", c.n, c.frac, x)
				}
				at = j
			}
		}
	}
	// The same seed gives the same split, another seed another one.
	s := set(50, 50)
	_, a := s.Split(0.2, 1)
	_, b := s.Split(0.2, 1)
	_, d := s.Split(0.2, 2)
	if !slices.Equal(a.Items, b.Items) {
		t.Error("seed 1 twice: different splits")
	}
	if slices.Equal(a.Items, d.Items) {
		t.Error("seeds 1 and 2: the same split")
	}
}

// The committed spam corpus (data/spam) reads through ReadCSV with gzip.
func TestSpamCorpusFiles(t *testing.T) {
	for _, c := range []struct {
		file   string
		counts []int // ham, spam
	}{
		{"../spam/train.csv.gz", []int{2750, 500}},
		{"../spam/test.csv.gz", []int{1400, 1396}},
	} {
		s, err := Read(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Classes, []string{"ham", "spam"}) || !slices.Equal(s.Counts(), c.counts) {
			t.Errorf("%s: classes %v counts %v, want [ham spam] %v", c.file, s.Classes, s.Counts(), c.counts)
		}
	}
}
