package events

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func read(t *testing.T, text string) *Stream {
	t.Helper()
	s, err := Read(strings.NewReader(text), "test", Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReadSNAP(t *testing.T) {
	s := read(t, "# SNAP comment\n% KONECT comment\n\n10 20 5\n20\t30  3\r\n10 30 5\n")
	if s.Len() != 3 || s.NumNodes() != 3 || s.FeatDim != 0 || s.Columns != nil {
		t.Fatalf("len %d nodes %d featdim %d columns %v", s.Len(), s.NumNodes(), s.FeatDim, s.Columns)
	}
	// Sorted by time, stably: (20,30,3) first, then the two t=5 in file order.
	if !slices.Equal(s.Time, []float64{3, 5, 5}) {
		t.Errorf("times %v", s.Time)
	}
	// Integer ids are numbered by value: 10→0, 20→1, 30→2.
	if !slices.Equal(s.IDs, []string{"10", "20", "30"}) {
		t.Errorf("ids %v", s.IDs)
	}
	if !slices.Equal(s.Src, []int{1, 0, 0}) || !slices.Equal(s.Dst, []int{2, 1, 2}) {
		t.Errorf("src %v dst %v", s.Src, s.Dst)
	}
}

func TestReadCSVHeaderFeatures(t *testing.T) {
	s := read(t, "\ufeffuser,item,ts,label,f1\nbob,x,2.5,0,0.5\nalice,\"y\",1,1,-1e-3\n# comment\nbob,y,2.5,0,2\n")
	if !slices.Equal(s.Columns, []string{"user", "item", "ts", "label", "f1"}) {
		t.Errorf("columns %v", s.Columns)
	}
	if s.Len() != 3 || s.FeatDim != 2 {
		t.Fatalf("len %d featdim %d", s.Len(), s.FeatDim)
	}
	// Non-integer ids: numbered by first appearance in time order.
	if !slices.Equal(s.IDs, []string{"alice", "y", "bob", "x"}) {
		t.Errorf("ids %v", s.IDs)
	}
	if !slices.Equal(s.Src, []int{0, 2, 2}) || !slices.Equal(s.Dst, []int{1, 3, 1}) {
		t.Errorf("src %v dst %v", s.Src, s.Dst)
	}
	if !slices.Equal(s.Features(0), []float32{1, -1e-3}) || !slices.Equal(s.Features(2), []float32{0, 2}) {
		t.Errorf("features %v", s.Feat)
	}
}

func TestReadHeaderless(t *testing.T) {
	s := read(t, "1,2,10\n2,3,11\n")
	if s.Columns != nil || s.Len() != 2 {
		t.Errorf("columns %v len %d", s.Columns, s.Len())
	}
	// Forced: the first line is then data, not a header.
	if _, err := Read(strings.NewReader("a b c\n1 2 3\n"), "x", Options{Header: HeaderNo}); err == nil ||
		!strings.Contains(err.Error(), "x:1: field 3 (timestamp)") {
		t.Errorf("HeaderNo: %v", err)
	}
	s, err := Read(strings.NewReader("1 2 3\n4 5 6\n"), "x", Options{Header: HeaderYes, Format: FormatSNAP})
	if err != nil || s.Len() != 1 || !slices.Equal(s.Columns, []string{"1", "2", "3"}) {
		t.Errorf("HeaderYes: %v %v", s, err)
	}
}

func TestReadErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1 2 3\n1 2 x\n", "test:2: field 3 (timestamp) \"x\": not a number"},
		{"1 2 3\n1 2\n", "test:2: 2 fields, want 3 as on line 1"},
		{"1 2 3\n1 2 3 4\n", "test:2: 4 fields, want 3 as on line 1"},
		{"s,d,t,f\n1,2,3,0.5\n1,2,4,abc\n", "test:3: field 4 (feature 1) \"abc\": not a finite number"},
		{"s,d,t,f\n1,2,3\n", "test:2: 3 fields, want 4 as in the header on line 1"},
		{"1,2,3\n,2,4\n", "test:2: field 1 (src) is empty"},
		{"1,2,3\n1,,4\n", "test:2: field 2 (dst) is empty"},
		{"1,2,3\n1,2,NaN\n", "test:2: field 3 (timestamp) \"NaN\": not finite"},
		{"1,2,3\n1,\"2,4\n", "test:2: column"},
		{"1 2\n", "test:1: 2 fields"},
		{"# only a comment\n\n", "test: no events"},
		{"src dst t\n", "a header and no events"},
	} {
		_, err := Read(strings.NewReader(c.in), "test", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

func TestReadFileGzip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ev.txt.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte("1 2 1\n2 1 2\n"))
	zw.Close()
	f.Close()
	s, err := ReadFile(path)
	if err != nil || s.Len() != 2 || s.Name != "ev.txt.gz" {
		t.Fatalf("%v %v", s, err)
	}
}

func TestChronoSplit(t *testing.T) {
	// Ten events at t = 0..9; node 5 appears only at t=8, node 6 only at 9.
	var b strings.Builder
	pairs := [][2]int{{0, 1}, {1, 2}, {2, 3}, {0, 3}, {1, 3}, {0, 2}, {3, 4}, {4, 0}, {5, 1}, {2, 6}}
	for i, p := range pairs {
		b.WriteString(strings.Join([]string{strconv.Itoa(p[0]), strconv.Itoa(p[1]), strconv.Itoa(i)}, " ") + "\n")
	}
	s := read(t, b.String())
	sp, err := s.ChronoSplit(0.15, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	// numpy.quantile(np.arange(10.), [0.7, 0.85]) = [6.3, 7.6499999999999995].
	if sp.ValTime != 6.3 || sp.TestTime != 7.6499999999999995 {
		t.Errorf("cut points %v %v", sp.ValTime, sp.TestTime)
	}
	if !slices.Equal(sp.Train, []int{0, 1, 2, 3, 4, 5, 6}) || !slices.Equal(sp.Val, []int{7}) || !slices.Equal(sp.Test, []int{8, 9}) {
		t.Errorf("split %v %v %v", sp.Train, sp.Val, sp.Test)
	}
	if !slices.Equal(sp.Unseen, []int{5, 6}) {
		t.Errorf("unseen %v", sp.Unseen)
	}
	if got := sp.Inductive(s, sp.Test); !slices.Equal(got, []int{8, 9}) {
		t.Errorf("inductive test %v", got)
	}
	if got := sp.Inductive(s, sp.Val); len(got) != 0 {
		t.Errorf("inductive val %v", got)
	}

	// Equal timestamps never straddle a cut.
	s = read(t, "0 1 1\n1 2 1\n2 3 1\n3 4 2\n")
	sp, _ = s.ChronoSplit(0.25, 0.25)
	if len(sp.Train) != 3 || len(sp.Val) != 0 || len(sp.Test) != 1 {
		t.Errorf("ties: %v %v %v", sp.Train, sp.Val, sp.Test)
	}

	if _, err := s.ChronoSplit(0.6, 0.5); err == nil {
		t.Error("val+test ≥ 1 accepted")
	}
	s.Time[0], s.Time[3] = s.Time[3], s.Time[0]
	if _, err := s.ChronoSplit(0.1, 0.1); err == nil || !strings.Contains(err.Error(), "not sorted") {
		t.Errorf("unsorted: %v", err)
	}
}

func TestMaskedSplit(t *testing.T) {
	var b strings.Builder
	for i := range 400 {
		b.WriteString(strconv.Itoa(i%40) + " " + strconv.Itoa((i*7+3)%40) + " " + strconv.Itoa(i) + "\n")
	}
	s := read(t, b.String())
	plain, _ := s.ChronoSplit(0.15, 0.15)
	if len(plain.Unseen) != 0 {
		t.Fatalf("every node occurs early, yet %d unseen", len(plain.Unseen))
	}
	sp, err := s.MaskedSplit(0.15, 0.15, 0.1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Masked) != 4 {
		t.Fatalf("masked %v, want 4 nodes", sp.Masked)
	}
	again, _ := s.MaskedSplit(0.15, 0.15, 0.1, 7)
	if !slices.Equal(sp.Masked, again.Masked) || !slices.Equal(sp.Train, again.Train) {
		t.Error("same seed, different mask")
	}
	if !slices.Equal(sp.Val, plain.Val) || !slices.Equal(sp.Test, plain.Test) {
		t.Error("masking changed validation or test")
	}
	for _, i := range sp.Train {
		if slices.Contains(sp.Masked, s.Src[i]) || slices.Contains(sp.Masked, s.Dst[i]) {
			t.Fatalf("training event %d touches a masked node", i)
		}
	}
	for _, v := range sp.Masked {
		if !slices.Contains(sp.Unseen, v) {
			t.Errorf("masked node %d not unseen", v)
		}
	}
	if len(sp.Inductive(s, sp.Test)) == 0 {
		t.Error("no inductive test events")
	}
}
