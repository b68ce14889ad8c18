package memory

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/memory/bank"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func tinyAnchor(t *testing.T, seed uint64) *decoder.Model {
	t.Helper()
	c := &decoder.Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 2, NumKeyValueHeads: 2,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02,
		Loom: decoder.Options{Tokenizer: "byte"}}
	m, err := decoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// planted returns unit vectors around leaves·(levels) planted prototypes:
// the prototype of leaf (a, b) is e_a + e_{k+k·a+b} (a shared parent
// direction and its own), with small noise.
func planted(k, per int, seed uint64) (vs [][]float32, leaf []int) {
	dim := k + k*k
	r := tensor.NewRNG(seed)
	for a := range k {
		for b := range k {
			for range per {
				v := make([]float32, dim)
				v[a], v[k+k*a+b] = 1, 1
				var ss float64
				for i := range v {
					v[i] += float32(0.05 * math.Abs(r.Normal()))
					ss += float64(v[i] * v[i])
				}
				for i := range v {
					v[i] /= float32(math.Sqrt(ss))
				}
				vs, leaf = append(vs, v), append(leaf, a*k+b)
			}
		}
	}
	return vs, leaf
}

func TestTreePaths(t *testing.T) {
	for _, k := range []int{2, 3, 4} {
		vs, leaf := planted(k, 5, uint64(k))
		tr, err := BuildTree(vs, 2, k, 20, 7)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Nodes() != k+k*k {
			t.Fatalf("k=%d: %d nodes", k, tr.Nodes())
		}
		pathOf := map[int][]int{}
		for i, v := range vs {
			p := tr.Path(v)
			if len(p) != 2 || (p[1]-tr.Offset(1))/k != p[0]-tr.Offset(0) {
				t.Fatalf("k=%d: path %v is not root-to-leaf", k, p)
			}
			if q, ok := pathOf[leaf[i]]; ok && !slices.Equal(p, q) {
				t.Fatalf("k=%d: documents of one planted leaf descend to %v and %v", k, p, q)
			}
			pathOf[leaf[i]] = p
		}
		seen := map[int]bool{}
		for _, p := range pathOf {
			seen[p[1]] = true
		}
		if len(seen) != k*k {
			t.Fatalf("k=%d: %d planted leaves share %d tree leaves", k, k*k, len(seen))
		}
	}
}

func TestNoMemoryIsAnchor(t *testing.T) {
	anchor := tinyAnchor(t, 1)
	ids := []int{72, 101, 108, 108, 111, 32, 119, 111}
	want := anchor.Forward(&nn.Ctx{}, append(ids, ids...), 2, 8).Value.F32()
	m, err := New(tinyAnchor(t, 1), 4)
	if err != nil {
		t.Fatal(err)
	}
	bk, err := bank.Create(t.TempDir(), 3, m.Shape.BlockFloats(), 2, InitBlock(m.Shape, 0.5, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	blk, err := m.Fetch(bk, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{IDs: append(ids, ids...), B: 2, T: 8}
	none := m.Logits(b, nil).Value.F32()
	half := m.Logits(b, [][]*Block{{blk}, nil}).Value.F32()
	if !slices.Equal(none, want) {
		t.Fatal("nothing mounted: logits differ from the anchor's")
	}
	if !slices.Equal(half[len(half)/2:], want[len(want)/2:]) {
		t.Fatal("a row without blocks differs from the anchor")
	}
	if slices.Equal(half[:len(half)/2], want[:len(want)/2]) {
		t.Fatal("a mounted block changed nothing")
	}
}

// TestMemoryTerm checks one layer's augmented FFN against FFN(x) + Vᵀ
// GELU(K x) computed by hand.
func TestMemoryTerm(t *testing.T) {
	m, err := New(tinyAnchor(t, 2), 3)
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.NewRNG(5)
	blk := &Block{}
	for range 2 {
		blk.K = append(blk.K, autograd.Const(tensor.RandN(r, 3, 16)))
		blk.V = append(blk.V, autograd.Const(tensor.RandN(r, 3, 16)))
	}
	x := autograd.Const(tensor.RandN(r, 1, 4, 16))
	f := m.ffns[1]
	base := f.base.Forward(x).Value.F32()
	m.Mount([][]*Block{{blk}})
	got := f.Forward(x).Value.F32()
	m.Mount(nil)
	K, V, X := blk.K[1].Value.F32(), blk.V[1].Value.F32(), x.Value.F32()
	for tk := range 4 {
		for d := range 16 {
			want := float64(base[tk*16+d])
			for j := range 3 {
				var h float64
				for i := range 16 {
					h += float64(K[j*16+i] * X[tk*16+i])
				}
				want += 0.5 * h * (1 + math.Erf(h/math.Sqrt2)) * float64(V[j*16+d])
			}
			if math.Abs(want-float64(got[tk*16+d])) > 1e-4 {
				t.Fatalf("token %d dim %d: %g, want %g", tk, d, got[tk*16+d], want)
			}
		}
	}
}

// TestStepTouchesOnlyFetched: a training step (weight decay on) fetches
// exactly the blocks of its documents' paths, updates them, and leaves
// every other block of a bank over 50× larger than the step's fetch
// bit-identical, its AdamW moments and step count included.
func TestStepTouchesOnlyFetched(t *testing.T) {
	m, err := New(tinyAnchor(t, 3), 4)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Tree{Levels: 3, Branching: 8}
	dir := t.TempDir()
	bk, err := bank.Create(dir, tr.Nodes(), m.Shape.BlockFloats(), 100, InitBlock(m.Shape, 0.02, 1))
	if err != nil {
		t.Fatal(err)
	}
	paths := [][]int{{tr.Offset(0) + 1, tr.Offset(1) + 9, tr.Offset(2) + 75}, {tr.Offset(0) + 5, tr.Offset(1) + 41, tr.Offset(2) + 330}}
	var want []int
	for _, p := range paths {
		want = append(want, p...)
	}
	if tr.Nodes() < 50*len(want) {
		t.Fatalf("bank of %d blocks is not 50× the %d fetched", tr.Nodes(), len(want))
	}
	o := bank.AdamW{LR: 1e-2, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	trn := NewTrainer(m, bk, o, 1)
	// One step first, so the fetched blocks' moments are non-zero before
	// the step under test.
	b := MakeBatch([]string{"Varo lives in Pelmar.", "Kessa works as a miller."}, 32)
	if _, _, err := trn.Step(b, paths, 1); err != nil {
		t.Fatal(err)
	}
	snap := func() [][]byte {
		var recs [][]byte
		for id := range bk.Blocks() {
			p := bk.Params(id)
			mm, vv := bk.Moments(id)
			rec := []byte{byte(bk.Steps(id))}
			for _, s := range [][]float32{p, mm, vv} {
				for _, x := range s {
					bits := math.Float32bits(x)
					rec = append(rec, byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24))
				}
			}
			recs = append(recs, rec)
		}
		return recs
	}
	before := snap()
	_, ids, err := trn.Step(b, paths, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("the step updated blocks %v; the documents' paths are %v", ids, want)
	}
	after := snap()
	for id := range before {
		same := bytes.Equal(before[id], after[id])
		if slices.Contains(want, id) == same {
			t.Fatalf("block %d: fetched %v, unchanged %v", id, slices.Contains(want, id), same)
		}
		if slices.Contains(want, id) && bk.Steps(id) != 2 {
			t.Fatalf("fetched block %d has step count %d, want 2", id, bk.Steps(id))
		}
	}
	// The same holds on disk after Close, and Open finds the shards again.
	if err := bk.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := bank.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if err := re.Verify(); err != nil {
		t.Fatal(err)
	}
	if re.Steps(want[0]) != 2 || re.Steps(0) != 0 {
		t.Fatalf("reopened steps %d, %d", re.Steps(want[0]), re.Steps(0))
	}
}

func TestFetchMatchesBank(t *testing.T) {
	m, err := New(tinyAnchor(t, 4), 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bk, err := bank.Create(dir, 4, m.Shape.BlockFloats(), 3, InitBlock(m.Shape, 0.1, 2))
	if err != nil {
		t.Fatal(err)
	}
	blk, err := m.Fetch(bk, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	var flat []float32
	for l := range blk.K {
		flat = append(flat, blk.K[l].Value.F32()...)
		flat = append(flat, blk.V[l].Value.F32()...)
	}
	if !slices.Equal(flat, bk.Params(3)) {
		t.Fatal("fetched block differs from the bank's parameters")
	}
	if _, err := m.Fetch(bk, 4, false); err == nil {
		t.Fatal("fetched a block past the bank's end")
	}
	bk.Close()
	os.Remove(filepath.Join(dir, "shard-00001.bin"))
	if _, err := bank.Open(dir); err == nil || !bytes.Contains([]byte(err.Error()), []byte("shard-00001.bin")) {
		t.Fatalf("opening a bank missing a shard: %v", err)
	}
}
