package nn_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// lowRank is a minimal LoRA-style wrapper, as the PETL methods will inject
// them: y = base(x) + x·Aᵀ·Bᵀ with B zero at the start.
type lowRank struct {
	Base nn.Layer
	A, B *autograd.Var
}

func (l *lowRank) Forward(x *autograd.Var) *autograd.Var {
	return autograd.Add(l.Base.Forward(x), autograd.MatMul(autograd.MatMul(x, l.A, false, true), l.B, false, true))
}
func (l *lowRank) Params() []*autograd.Var {
	return append(l.Base.Params(), l.A, l.B)
}
func (l *lowRank) InFeatures() int  { return l.Base.InFeatures() }
func (l *lowRank) OutFeatures() int { return l.Base.OutFeatures() }

func inject(t *testing.T, m *decoder.Model, targets ...string) int {
	t.Helper()
	r := tensor.NewRNG(1)
	n, err := nn.ReplaceAll(m, func(n *nn.Node) bool {
		_, isLayer := n.Module.(nn.Layer)
		return isLayer && slices.ContainsFunc(targets, func(s string) bool { return strings.HasSuffix(n.Name, "."+s) })
	}, func(n *nn.Node) (nn.Module, error) {
		base := n.Module.(nn.Layer)
		return &lowRank{Base: base,
			A: autograd.NewParam(n.Name+".lora_A.weight", autograd.RoleFactor, tensor.Normal(r, 0, 0.1, 2, base.InFeatures())),
			B: autograd.NewParam(n.Name+".lora_B.weight", autograd.RoleFactor, tensor.Zeros(base.OutFeatures(), 2))}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWalkNamesModulesAsHuggingFace(t *testing.T) {
	m, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	byName := map[string]string{}
	for _, n := range nn.Modules(m) {
		if _, dup := byName[n.Name]; !dup {
			byName[n.Name] = n.Path
		}
	}
	for name, path := range map[string]string{
		"":                                "",
		"model.embed_tokens":              "Embed",
		"model.layers.1":                  "Layers[1]",
		"model.layers.1.self_attn":        "Layers[1].Attn",
		"model.layers.1.self_attn.q_proj": "Layers[1].Attn.Q",
		"model.layers.0.mlp.down_proj":    "Layers[0].FFN.Down",
		"model.layers.0.input_layernorm":  "Layers[0].AttnNorm",
		"model.norm":                      "Norm",
		"lm_head":                         "Head",
	} {
		if got, ok := byName[name]; !ok || got != path {
			t.Errorf("module %q: path %q (found %v), want %q", name, got, ok, path)
		}
	}
}

// Injecting low-rank adapters into a built model keeps its function (B is
// zero), keeps every checkpoint name, adds the adapters' parameters; with
// the base frozen, training changes only the adapters, and the optimizer
// holds state for them alone.
func TestReplaceInjectsAndFreezes(t *testing.T) {
	c := decodertest.TinyConfig(nil)
	m, _ := decoder.New(c, 7)
	ids := decodertest.IDs(12, c.VocabSize)
	before := decodertest.Logits(t, m, ids)
	baseNames := map[string]bool{}
	for _, p := range m.Params() {
		baseNames[p.Name] = true
	}
	nn.Freeze(m)
	if n := inject(t, m, "q_proj", "v_proj"); n != 2*c.NumHiddenLayers {
		t.Fatalf("injected %d adapters, want %d", n, 2*c.NumHiddenLayers)
	}
	decodertest.EqualLogits(t, "after injecting zero adapters", before, decodertest.Logits(t, m, ids))
	var added []string
	for _, p := range m.Params() {
		if !baseNames[p.Name] {
			added = append(added, p.Name)
		}
	}
	if len(added) != 4*c.NumHiddenLayers || !slices.Contains(added, "model.layers.1.self_attn.v_proj.lora_B.weight") {
		t.Fatalf("added parameters %v", added)
	}
	if len(nn.Trainable(m.Params())) != len(added) {
		t.Fatalf("%d trainable parameters, want the %d adapters", len(nn.Trainable(m.Params())), len(added))
	}
	frozen := decodertest.ParamValues(m)
	batch := data.Batch{IDs: ids[:11], Targets: ids[1:], B: 1, T: 11}
	loop := &train.Loop[data.Batch]{Model: m, Data: train.Repeat[data.Batch]{Batch: batch}, Hyper: train.Hyper{Steps: 3, LR: 0.05}}
	if err := loop.Train(); err != nil {
		t.Fatal(err)
	}
	for name, v := range decodertest.ParamValues(m) {
		changed := !slices.Equal(v, frozen[name])
		if baseNames[name] && changed {
			t.Fatalf("frozen %s changed", name)
		}
		if strings.Contains(name, "lora_B") && !changed {
			t.Fatalf("adapter %s did not train", name)
		}
	}
	for key := range loop.Opt().State() {
		if key != "step" && !strings.Contains(key, "lora_") {
			t.Fatalf("optimizer state for frozen %s", key)
		}
	}
	for _, p := range m.Params() {
		if baseNames[p.Name] && p.Grad != nil {
			t.Fatalf("frozen %s has a gradient buffer", p.Name)
		}
	}
}

func TestReplaceErrors(t *testing.T) {
	m, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	if err := nn.Replace(m, "model.layers.9.mlp", func(old nn.Module) (nn.Module, error) { return old, nil }); err == nil || !strings.Contains(err.Error(), "no module named") {
		t.Fatalf("unknown name: %v", err)
	}
	// lm_head is a *nn.Linear field: it cannot hold a wrapper.
	err := nn.Replace(m, "lm_head", func(old nn.Module) (nn.Module, error) { return &lowRank{Base: old.(nn.Layer)}, nil })
	if err == nil || !strings.Contains(err.Error(), "cannot hold") {
		t.Fatalf("replacing a concrete field: %v", err)
	}
}

// Roles decide weight decay exactly as rank did before roles (every
// parameter of the decoders, GPT-2 style included, and of PHM layers).
func TestRolesDecayAsRankDid(t *testing.T) {
	for _, c := range []*decoder.Config{decodertest.TinyConfig(nil), decodertest.GPT2Config(),
		decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.PHM = &decoder.PHMOptions{N: 2, Layers: []string{"attn", "ffn"}} }),
		decodertest.TinyConfig(func(c *decoder.Config) { c.HiddenAct, c.Loom.FFN = "polynorm", "mlp" })} {
		m, err := decoder.New(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			if p.Role == autograd.RoleOther {
				t.Errorf("%s has no role", p.Name)
			}
			if p.Decays() != (p.NDim() >= 2) {
				t.Errorf("%s (%s, %v): decays %v", p.Name, p.Role, p.Shape(), p.Decays())
			}
		}
	}
	m, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	gs := train.ParamGroups(m.Params(), 1e-3, 0.1)
	if len(gs) != 2 || gs[0].WeightDecay != 0.1 || gs[1].WeightDecay != 0 {
		t.Fatalf("groups %+v", gs)
	}
	// A learning-rate multiplier makes its own group.
	m.Head.Weight.LRScale = 0.5
	gs = train.ParamGroups(m.Params(), 1e-3, 0.1)
	if len(gs) != 3 || math.Abs(gs[1].LR-5e-4) > 1e-12 || gs[1].Params[0] != m.Head.Weight {
		t.Fatalf("groups with a multiplier: %d, second LR %v", len(gs), gs[1].LR)
	}
}

// Reinit honours each parameter's init multiplier.
func TestReinitScales(t *testing.T) {
	m, _ := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.HiddenSize, c.IntermediateSize = 64, 256 }), 1)
	down := m.Layers[0].(*decoder.PreNorm).FFN.(*nn.GatedMLP).Down.(*nn.Linear).Weight
	down.InitScale = 0.25
	nn.Reinit(m, nn.Init{RNG: tensor.NewRNG(2), Std: 0.02})
	std := func(v *autograd.Var) float64 {
		var s float64
		for _, x := range v.Value.Float64s() {
			s += x * x
		}
		return math.Sqrt(s / float64(v.Value.Numel()))
	}
	up := m.Layers[0].(*decoder.PreNorm).FFN.(*nn.GatedMLP).Up.(*nn.Linear).Weight
	if r := std(down) / std(up); math.Abs(r-0.25) > 0.02 {
		t.Fatalf("std ratio %v, want 0.25", r)
	}
	if g := m.Norm.(*nn.RMSNorm).Weight.Value.F32(); g[0] != 1 {
		t.Fatalf("norm gain %v after Reinit", g[0])
	}
}
