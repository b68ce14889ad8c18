package moefy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func calibBatches(vocab int) []data.Batch {
	var out []data.Batch
	for b := range 2 {
		ids := decodertest.IDs(4*16+1, vocab)
		for i := range ids {
			ids[i] = (ids[i] + 5*b + i*i) % vocab
		}
		out = append(out, data.Batch{IDs: ids[:64], Targets: ids[1:65], B: 4, T: 16})
	}
	return out
}

// TestDense2MoE: the shared expert takes the units of largest Taylor
// importance; routed to every expert with weight 1 the Qwen2-MoE computes
// the dense model (its shared expert's gate starts at exactly 1, its new
// q, k, v biases at 0); with the learned router it exports as
// Qwen2MoeForCausalLM and loads back.
func TestDense2MoE(t *testing.T) {
	dense, err := decoder.New(decodertest.TinyConfig(nil), 5)
	if err != nil {
		t.Fatal(err)
	}
	calib := calibBatches(dense.Config.VocabSize)
	ids := decodertest.IDs(12, dense.Config.VocabSize)
	want := decodertest.Logits(t, dense, ids)
	m, rep, err := Convert(dense, Options{Method: "dense2moe", Experts: 4, TopK: 4, Shared: 16, Layers: []int{0, 1}, Router: nn.RouterKeys, Calib: calib})
	if err != nil {
		t.Fatal(err)
	}
	if d := decodertest.MaxDiff(want, decodertest.Logits(t, m, ids)); d > 1e-5 {
		t.Errorf("k = E: logits differ from the dense model's by %g", d)
	}
	if m.Config.ModelType != "qwen2_moe" || rep.Layers[0].ExpertSize != 12 {
		t.Errorf("model_type %s, expert size %d", m.Config.ModelType, rep.Layers[0].ExpertSize)
	}
	imp, err := TaylorImportance(dense, calib, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	top := slices.Clone(ByImportance(imp[0])[:16])
	slices.Sort(top)
	moe := m.Layers[0].(*decoder.PreNorm).FFN.(*nn.MoE)
	gate := dense.Layers[0].(*decoder.PreNorm).FFN.(*nn.GatedMLP).Gate.(*nn.Linear).Weight.Value.Float32s()
	shared := moe.Shared.(*nn.GatedMLP).Gate.(*nn.Linear).Weight.Value.Float32s()
	D := dense.Config.HiddenSize
	for i, h := range top {
		if !slices.Equal(shared[i*D:(i+1)*D], gate[h*D:(h+1)*D]) {
			t.Fatalf("shared unit %d is not dense unit %d, the %d-th most important", i, h, i)
		}
	}
	// The learned router: k = 2, exportable, saved and loaded.
	m, _, err = Convert(dense, Options{Method: "dense2moe", Experts: 4, TopK: 2, Shared: 16, Layers: []int{0, 1}, Calib: calib})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Config.CheckExport(decoder.HF); err != nil {
		t.Error(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := convert.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	back, err := convert.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	decodertest.EqualLogits(t, "reloaded", decodertest.Logits(t, m, ids), decodertest.Logits(t, back, ids))
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Method: "dense2moe", Experts: 4, TopK: 2, Shared: 16}, "needs calibration data"},
		{Options{Method: "emoe", Experts: 4, TopK: 2, Shared: 16}, "--shared: --method emoe makes no shared expert"},
		{Options{Method: "dense2moe", Experts: 5, TopK: 2, Shared: 16, Calib: calib}, "--experts 5 does not divide"},
	} {
		if _, _, err := Convert(dense, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}

// TestTaylorPrune: keeping every unit is the dense model; keeping fewer
// gives a model of that width.
func TestTaylorPrune(t *testing.T) {
	dense, _ := decoder.New(decodertest.TinyConfig(nil), 5)
	calib := calibBatches(dense.Config.VocabSize)
	ids := decodertest.IDs(12, dense.Config.VocabSize)
	full, err := TaylorPrune(dense, calib, dense.Config.IntermediateSize)
	if err != nil {
		t.Fatal(err)
	}
	if d := decodertest.MaxDiff(decodertest.Logits(t, dense, ids), decodertest.Logits(t, full, ids)); d > 1e-5 {
		t.Errorf("keeping every unit changes the logits by %g", d)
	}
	small, err := TaylorPrune(dense, calib, 24)
	if err != nil {
		t.Fatal(err)
	}
	if small.Config.IntermediateSize != 24 || small.NumParams() >= dense.NumParams() {
		t.Errorf("pruned: intermediate_size %d, %d parameters", small.Config.IntermediateSize, small.NumParams())
	}
}

// TestUnitImportanceOfDiT: the Taylor importance reads any model's FFN: a
// DiT block's MLP after a backward pass has one non-negative value per
// hidden unit, not all zero.
func TestUnitImportanceOfDiT(t *testing.T) {
	m, err := dit.New(dit.Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: 32, Depth: 1, Heads: 4, MLPRatio: 2, Classes: 2,
		Diffusion: dit.Schedule{Steps: 50}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// adaLN-Zero gates the MLP off at initialisation: open them.
	m.Blocks[0].Ada.Weight.Value = tensor.RandN(tensor.NewRNG(2), m.Blocks[0].Ada.Weight.Shape()...)
	m.FinalOut.Weight.Value = tensor.RandN(tensor.NewRNG(3), m.FinalOut.Weight.Shape()...)
	m.Loss(nil, tensor.RandN(tensor.NewRNG(4), 4, 1, 8, 8), []int{0, 1, 0, 1}, tensor.NewRNG(5)).Backward()
	imp, err := UnitImportance(m.Blocks[0].MLP)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for _, v := range imp {
		if v < 0 {
			t.Fatal("negative importance")
		}
		if v > 0 {
			pos++
		}
	}
	if len(imp) != 64 || pos == 0 {
		t.Errorf("%d importances, %d positive", len(imp), pos)
	}
}
