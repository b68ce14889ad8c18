package collegemsg

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The tests need the file (not shipped: see Path); without it they skip,
// saying where to put it.
func TestOpen(t *testing.T) {
	if _, err := Path(); err != nil {
		t.Skip(err)
	}
	s, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != Events || s.NumNodes() != Nodes {
		t.Fatalf("%d events, %d nodes; want %d, %d", s.Len(), s.NumNodes(), Events, Nodes)
	}
	if s.FeatDim != 0 || s.Columns != nil {
		t.Errorf("FeatDim %d, Columns %v; want none", s.FeatDim, s.Columns)
	}
	for n, id := range s.IDs { // ids are 1..1899, so node n is id n+1
		if want := strconv.Itoa(n + 1); id != want {
			t.Fatalf("IDs[%d] = %q, want %q", n, id, want)
		}
	}
	pairs := map[[2]int]bool{}
	for i := range s.Len() {
		if s.Src[i] == s.Dst[i] {
			t.Errorf("event %d is a self-loop", i)
		}
		pairs[[2]int{s.Src[i], s.Dst[i]}] = true
	}
	if len(pairs) != 20296 {
		t.Errorf("%d static edges, want 20,296", len(pairs))
	}
	// First and last lines of the file (it is already in time order).
	type ev struct {
		src, dst string
		t        float64
	}
	got := func(i int) ev { return ev{s.IDs[s.Src[i]], s.IDs[s.Dst[i]], s.Time[i]} }
	if g := got(0); g != (ev{"1", "2", 1082040961}) {
		t.Errorf("first event %v", g)
	}
	if g := got(1); g != (ev{"3", "4", 1082155839}) {
		t.Errorf("second event %v", g)
	}
	if g := got(Events - 1); g != (ev{"1878", "1624", 1098777142}) {
		t.Errorf("last event %v", g)
	}

	sp, err := s.ChronoSplit(0.15, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	// numpy.quantile(ts, [0.70, 0.85]) and the counts DyGLib's split gives.
	if sp.ValTime != 1085875761.6 || sp.TestTime != 1088755519.3 {
		t.Errorf("cut points %v, %v", sp.ValTime, sp.TestTime)
	}
	if len(sp.Train) != 41884 || len(sp.Val) != 8975 || len(sp.Test) != 8976 {
		t.Errorf("split %d/%d/%d, want 41884/8975/8976", len(sp.Train), len(sp.Val), len(sp.Test))
	}
	if len(sp.Unseen) != 401 {
		t.Errorf("%d unseen nodes, want 401", len(sp.Unseen))
	}
	if a, b := len(sp.Inductive(s, sp.Val)), len(sp.Inductive(s, sp.Test)); a != 3447 || b != 4876 {
		t.Errorf("inductive val/test events %d/%d, want 3447/4876", a, b)
	}
}

func TestChecksum(t *testing.T) {
	path, err := Path()
	if err != nil {
		t.Skip(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	const want = "e00ba2415373dee52c00616065bcceaa4750e78de60d1855c76470600f10740f" // README.md
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("sha256 of CollegeMsg.txt %s, want %s", got, want)
	}
}
