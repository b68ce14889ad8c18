package eval

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
)

// TestSlidingWindowsMatchDirectScoring: with stride = seqLen every window is
// disjoint, so the result equals scoring each chunk with Model.Loss; with a
// smaller stride every token is still scored once.
func TestSlidingWindowsMatchDirectScoring(t *testing.T) {
	m, err := decoder.New(&decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 16, InitializerRange: 0.3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer")
	ids := tokenizer.Byte{}.Encode(string(text))
	path := filepath.Join(t.TempDir(), "val.bin")
	if err := data.WriteShard(path, ids, 256, "byte"); err != nil {
		t.Fatal(err)
	}
	s, err := data.OpenShard(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := Shard(m, s, tokenizer.Byte{}, Options{SeqLen: 16, Stride: 16, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tokens != len(ids)-1 || res.Bytes != res.Tokens {
		t.Fatalf("scored %d tokens (%d bytes), want %d", res.Tokens, res.Bytes, len(ids)-1)
	}
	var nats float64
	for start := 0; start+1 < len(ids); start += 16 {
		end := min(start+16, len(ids)-1)
		x, y := ids[start:end], ids[start+1:end+1]
		var l *autograd.Var
		autograd.NoGrad(func() { l = m.Loss(nil, data.Batch{IDs: x, Targets: y, B: 1, T: len(x)}) })
		nats += l.Item() * float64(len(x))
	}
	if want := nats / float64(len(ids)-1); math.Abs(res.Loss-want) > 1e-5 {
		t.Fatalf("loss %v, direct scoring %v", res.Loss, want)
	}
	if math.Abs(res.BitsPerByte-res.Loss/math.Ln2) > 1e-9 || math.Abs(res.Perplexity-math.Exp(res.Loss)) > 1e-9 {
		t.Fatalf("derived metrics %+v", res)
	}
	strided, err := Shard(m, s, tokenizer.Byte{}, Options{SeqLen: 16, Stride: 5})
	if err != nil {
		t.Fatal(err)
	}
	if strided.Tokens != len(ids)-1 || !(strided.Loss < res.Loss+0.5) {
		t.Fatalf("strided: %+v", strided)
	}
}

func TestWordsInCorpus(t *testing.T) {
	corpus := []byte("To be, or not to be: that is the question.\nWhether 'tis nobler")
	found, total := WordsInCorpus("to be or nott! 'tis 42 --- question, qux", corpus)
	if found != 5 || total != 7 {
		t.Fatalf("found %d of %d, want 5 of 7", found, total)
	}
}
