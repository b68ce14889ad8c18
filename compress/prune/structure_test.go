package prune

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/compress/vtrans"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

func byteModel(t *testing.T, mod func(*decoder.Config)) *decoder.Model {
	t.Helper()
	c := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 3, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 32, InitializerRange: 0.1}
	if mod != nil {
		mod(c)
	}
	m, err := decoder.New(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func byteIDs(n int, seed uint64) []int {
	rng := tensor.NewRNG(seed)
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 97 + int(rng.Uint64()%8)
	}
	return ids
}

func TestCalibBatches(t *testing.T) {
	ws := [][]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
	bs := CalibBatches(ws, 2)
	if len(bs) != 2 || bs[0].B != 2 || bs[0].T != 2 || bs[1].B != 1 ||
		!slices.Equal(bs[0].IDs, []int{1, 2, 4, 5}) || !slices.Equal(bs[0].Targets, []int{2, 3, 5, 6}) || !slices.Equal(bs[1].Targets, []int{8, 9}) {
		t.Fatalf("batches %+v", bs)
	}
}

// TestStructureJob: every score and VTrans remove at least the budget of
// parameters from a copy (the model itself is unchanged), and the report
// counts what is kept.
func TestStructureJob(t *testing.T) {
	tok, err := tokenizer.New("byte")
	if err != nil {
		t.Fatal(err)
	}
	calib := data.EvenWindows(byteIDs(400, 1), 16, 8)
	train := data.NewMemSampler(byteIDs(400, 2), 4, 16, 3)
	var batches []data.Batch
	for range 3 {
		batches = append(batches, train.Next())
	}
	for _, c := range []struct {
		method, score string
		kinds         []string
		ratio         float64
	}{
		{MethodStructured, ScoreTaylor, nil, 0.3},
		{MethodStructured, ScoreActivation, []string{structured.KindHead, structured.KindNeuron}, 0.2},
		{MethodStructured, ScoreMagnitude, []string{structured.KindLayer}, 0.3},
		{MethodVTrans, "", nil, 0.4},
	} {
		m := byteModel(t, nil)
		n0 := m.NumParams()
		j := &StructureJob{Model: m, Method: c.method, Ratio: c.ratio, Score: c.score, Kinds: c.kinds, Calib: calib, Train: batches,
			VTrans: vtrans.Options{Variant: vtrans.Fast, Seed: 1}, Bench: Bench{Tok: tok, Held: byteIDs(200, 4)}, DataName: "test"}
		rep, err := j.Run()
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.score, err)
		}
		n1 := rep.Pruned.NumParams()
		if m.NumParams() != n0 || rep.Before.ParamsCount != n0 || rep.After.ParamsCount != n1 ||
			float64(n0-n1) < c.ratio*float64(n0)*0.999 || math.Abs(rep.RemovedFraction-float64(n0-n1)/float64(n0)) > 1e-9 {
			t.Fatalf("%s %s: %d → %d parameters, report %+v / %+v, removed %.3f", c.method, c.score, n0, n1, rep.Before.ParamsCount, rep.After.ParamsCount, rep.RemovedFraction)
		}
		if !(rep.After.Loss > 0) || rep.Kept[0] != (Structures{Heads: 12, Neurons: 192, Hidden: 32, Layers: 3}) {
			t.Fatalf("%s %s: loss %v, structures %+v", c.method, c.score, rep.After.Loss, rep.Kept)
		}
		if c.score == ScoreMagnitude && (rep.Kept[1].Layers >= 3 || rep.Kept[1].Hidden != 32) {
			t.Fatalf("layers only: kept %+v", rep.Kept[1])
		}
		if c.method == MethodVTrans && rep.Steps != 1 {
			t.Fatalf("fast VTrans on 3 batches took %d steps, want 1 (3 %% of the data, at least a batch)", rep.Steps)
		}
		if md := rep.Markdown(); !strings.Contains(md, "| parameters |") {
			t.Fatalf("markdown:\n%s", md)
		}
	}
}

func TestStructureJobRejects(t *testing.T) {
	tok, _ := tokenizer.New("byte")
	for _, c := range []struct {
		j    StructureJob
		want string
	}{
		{StructureJob{Method: MethodStructured, Ratio: 1}, "ratio 1: want a fraction"},
		{StructureJob{Method: MethodStructured, Ratio: 0.5, Kinds: []string{"row"}}, `structure kind "row"`},
		{StructureJob{Method: MethodStructured, Ratio: 0.5, Score: "fisher"}, `score "fisher"`},
		{StructureJob{Method: MethodStructured, Ratio: 0.5}, "needs calibration windows"},
		{StructureJob{Method: MethodVTrans, Ratio: 0.5}, "needs training batches"},
		{StructureJob{Method: "foo", Ratio: 0.5}, `structure pruning method "foo"`},
	} {
		c.j.Model, c.j.Bench = byteModel(t, nil), Bench{Tok: tok, Held: byteIDs(100, 1)}
		if _, err := c.j.Run(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.j, err, c.want)
		}
	}
	// Grouped-query attention is refused before anything is measured.
	j := StructureJob{Model: byteModel(t, func(c *decoder.Config) { c.NumKeyValueHeads = 2 }), Method: MethodStructured, Ratio: 0.5, Score: ScoreMagnitude}
	if _, err := j.Run(); err == nil || !strings.Contains(err.Error(), "prune --method structured: structured:") {
		t.Errorf("GQA: %v", err)
	}
}
