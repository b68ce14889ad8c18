package decoder

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/nn"
)

// loadTokenFormer builds the fixture of testdata/gen_tokenformer.py.
func loadTokenFormer(t *testing.T) (*Model, []int, []float32) {
	t.Helper()
	dir := filepath.Join("testdata", "tokenformer-tiny")
	c, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.LoadParamsAs(filepath.Join(dir, "model.safetensors"), "", m.Params()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		IDs    []int     `json:"ids"`
		Logits []float32 `json:"logits"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return m, ref.IDs, ref.Logits
}

func logitsOf(m *Model, ids []int) []float32 {
	var out []float32
	autograd.NoGrad(func() { out = m.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32() })
	return out
}

// TestTokenFormerParity: the logits equal those of a PyTorch reference
// written from the official tokenformer.py (Pattention with l2_norm_gelu,
// 25 % partial rotary, non-parametric LayerNorms), on random tokens.
func TestTokenFormerParity(t *testing.T) {
	m, ids, want := loadTokenFormer(t)
	got := logitsOf(m, ids)
	scale, worst := 0.0, 0.0
	for i, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
		worst = math.Max(worst, math.Abs(float64(got[i]-v)))
	}
	t.Logf("max |Δ| %.3g (logits up to %.3g)", worst, scale)
	if worst > 2e-5*scale {
		t.Errorf("logits differ from the reference by up to %.3g (scale %.3g)", worst, scale)
	}
	for _, p := range m.Params() {
		if strings.Contains(p.Name, "norm") {
			t.Errorf("a non-parametric norm has the parameter %s", p.Name)
		}
	}
}

// TestTokenFormerGrow: growing every Pattention (twice) keeps the logits
// to 1e-6 of their scale, the config follows (slots, τ) and saves and
// loads, the new slots receive gradients, and a model without Pattentions
// is refused. (Not bit for bit: the float32 GEMM picks its tiles by the
// matrix width, so the same dot products of x·Kᵀ may round differently
// once the slots grow, by an ulp or so; the added slots contribute exact
// zeros.)
func TestTokenFormerGrow(t *testing.T) {
	m, ids, _ := loadTokenFormer(t)
	want := logitsOf(m, ids)
	tol := 0.0
	for _, v := range want {
		tol = math.Max(tol, 1e-6*math.Abs(float64(v)))
	}
	for step, g := range [][3]int{{16, 12, 48}, {32, 24, 96}} {
		if err := Grow(m, g[0], g[1], g[2], uint64(7+step)); err != nil {
			t.Fatal(err)
		}
		got := logitsOf(m, ids)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > tol {
				t.Fatalf("growth %d: logit %d is %v, was %v (allowed %.2g)", step+1, i, got[i], want[i], tol)
			}
		}
	}
	o := m.Config.Loom.TokenFormer
	if o.QKVSlotNum != 64 || o.ProjSlotNum != 48 || m.Config.IntermediateSize != 192 || *o.Tau != (TokenFormerTau{QKV: 16, Proj: 12, FFN: 48}) {
		t.Fatalf("grown config %+v tau %+v, intermediate_size %d", o, o.Tau, m.Config.IntermediateSize)
	}
	// The grown config rebuilds the grown model.
	b, err := json.Marshal(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ParseConfig("grown", b)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := New(c2, 3)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := nn.ParamMap(m.Params())
	for _, p := range m2.Params() {
		s, ok := src[p.Name]
		if !ok {
			t.Fatalf("%s missing from the grown model", p.Name)
		}
		p.Value = s.Value.Clone()
	}
	got := logitsOf(m2, ids)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("rebuilt from the grown config: logit %d is %v, was %v", i, got[i], want[i])
		}
	}
	// Gradients reach the new slots' keys.
	loss := m.Loss(nil, data.Batch{IDs: ids[:len(ids)-1], Targets: ids[1:], B: 1, T: len(ids) - 1})
	loss.Backward()
	for kind, ps := range m.Pattentions() {
		g := ps[0].Keys.Grad.F32()
		in := ps[0].Keys.Dim(1)
		var norm float64
		for _, v := range g[ps[0].Tau*in:] {
			norm += float64(v * v)
		}
		if norm == 0 {
			t.Errorf("%s: the new slots' keys receive no gradient", kind)
		}
	}
	plain, err := New(&Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, HiddenAct: "silu",
		RMSNormEps: 1e-5, RopeTheta: 1e4, VocabSize: 8, MaxPositionEmbeddings: 16, InitializerRange: 0.02}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := Grow(plain, 4, 4, 4, 1); err == nil || !strings.Contains(err.Error(), "not a TokenFormer") {
		t.Errorf("growing a Llama: %v", err)
	}
}

// TestTokenFormerConfigErrors: options that contradict loom.tokenformer
// are refused, naming the key.
func TestTokenFormerConfigErrors(t *testing.T) {
	base := `{"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 4, "hidden_act": "silu",
	"rms_norm_eps": 1e-5, "rope_theta": 10000, "vocab_size": 16, "max_position_embeddings": 16, %s}`
	for _, tc := range []struct{ extra, want string }{
		{`"loom": {"tokenformer": {"qkv_slot_num": 0}}`, "qkv_slot_num"},
		{`"loom": {"tokenformer": {"qkv_slot_num": 8}, "ffn": "gated"}`, "loom.ffn"},
		{`"loom": {"attention": "pattention"}`, "needs loom.tokenformer"},
		{`"mlp_bias": true, "loom": {"tokenformer": {"qkv_slot_num": 8}}`, "biases"},
		{`"loom": {"tokenformer": {"qkv_slot_num": 8, "tau": {"qkv": 16, "proj": 8, "ffn": 48}}}`, "tau"},
		{`"partial_rotary_factor": 0.25`, "partial_rotary_factor"},
		{`"loom": {"tokenformer": {"qkv_slot_num": 8}, "layout": "macaron"}`, "loom.layout"},
		{`"loom": {"tokenformer": {"qkv_slot_num": 8}, "share": "all"}`, "loom.share"},
	} {
		_, err := ParseConfig("config.json", []byte(strings.Replace(base, "%s", tc.extra, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.extra, err, tc.want)
		}
	}
}
