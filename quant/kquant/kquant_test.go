package kquant

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/quant"
	"github.com/loomml/loom/tensor"
)

// TestLinears: a layer quantised to each type computes, through loom's
// kernels (m > 3 rows: the GEMM; m ≤ 3: the dot products), the product of
// its activations rounded to the type's activation format with the
// dequantised blocks, plus the bias.
func TestLinears(t *testing.T) {
	const in, out = 256, 24
	for _, typ := range []dtype.DType{dtype.Q4_K, dtype.Q5_K, dtype.Q6_K, dtype.Q8_0, dtype.Q5_0, dtype.Q4_0, dtype.Q3_K, dtype.Float16} {
		for _, m := range []int{2, 5} {
			rng := tensor.NewRNG(uint64(3 + m))
			l := nn.NewTorchLinear("l", in, out, true, rng)
			w := slices.Clone(l.Weight.Value.F32())
			bias := l.Bias.Value.F32()
			r, err := Linears([]*nn.Linear{l}, typ)
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := typ.RowBytes(in)
			if r.Bytes != int64(out*rb) || r.Float32Bytes != 4*in*out || r.Tensors[0].TName != typ.Info().Name {
				t.Fatalf("%v: report %+v", typ, r)
			}
			if typ.Packed() != (l.Weight.Value.DType() == typ) {
				t.Fatalf("%v: weight held as %v", typ, l.Weight.Value.DType())
			}
			deq := make([]float32, len(w))
			if typ == dtype.Float16 {
				for i, v := range w {
					deq[i] = float32(tensor.Pack(tensor.FromFloat32([]float32{v}, 1, 1), dtype.Float16).To(tensor.Float32).F32()[0])
				}
			} else {
				raw, err := quant.Quantize(typ, w)
				if err != nil {
					t.Fatal(err)
				}
				if err := quant.Dequantize(typ, raw, deq); err != nil {
					t.Fatal(err)
				}
			}
			x := tensor.Normal(rng, 0, 1, m, in).F32()
			var y []float32
			autograd.NoGrad(func() {
				y = l.Forward(autograd.Const(tensor.FromFloat32(slices.Clone(x), m, in))).Value.Contiguous().F32()
			})
			for i := range m {
				xr := slices.Clone(x[i*in : (i+1)*in])
				quant.RoundActivations(typ, xr) // f16: none
				for j := range out {
					var s, mag float64
					for p := range in {
						s += float64(xr[p]) * float64(deq[j*in+p])
						mag += math.Abs(float64(xr[p]) * float64(deq[j*in+p]))
					}
					s += float64(bias[j])
					if e := math.Abs(float64(y[i*out+j]) - s); e > 1e-5*(mag+1) {
						t.Fatalf("%v m=%d (%d,%d): %v, want %v (error %v)", typ, m, i, j, y[i*out+j], s, e)
					}
				}
			}
		}
	}
}

func bert(t *testing.T, hidden int) *encoder.Model {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT,
		HiddenSize: hidden, NumHiddenLayers: 3, NumAttentionHeads: 4, IntermediateSize: 256, HiddenAct: "gelu",
		InitializerRange: 0.05, LayerNormEps: 1e-12, VocabSize: 40, MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := encoder.New(c, 5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dequantised returns a copy of the encoder m0 (built by bert) whose
// tensors hold the values r's types give them, in float32, and whose layers
// round their inputs as ggml's products with those types do: what the
// kernels must compute.
func dequantised(t *testing.T, hidden int, r *Report) *encoder.Model {
	m := bert(t, hidden)
	ts, err := EncoderTensors(m)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range r.Tensors {
		if e.Type == dtype.Float32 {
			continue
		}
		p := ts[i].Param
		w := p.Value.F32()
		if e.Type == dtype.Float16 {
			p.Value = tensor.Pack(p.Value, dtype.Float16).To(tensor.Float32)
			continue
		}
		raw, err := quant.Quantize(e.Type, w)
		if err != nil {
			t.Fatal(err)
		}
		if err := quant.Dequantize(e.Type, raw, w); err != nil {
			t.Fatal(err)
		}
		if l := ts[i].Linear; l != nil {
			typ := e.Type
			l.RoundInputs(func(x []float32) { quant.RoundActivations(typ, x) })
		}
	}
	return m
}

// TestEncoder: llama.cpp's types for an encoder in each mix, row lengths
// that do not fit falling back as there; the model's size; logits equal
// (up to float rounding) to those of the dequantised weights with rounded
// inputs, and near the float model's.
func TestEncoder(t *testing.T) {
	b := &encoder.Batch{B: 2, T: 8, IDs: []int{3, 9, 12, 1, 7, 30, 2, 5, 4, 4, 17, 8, 0, 0, 0, 0}, Lengths: []int{8, 4}}
	// Types by llama.cpp name; layer 2 of 3 is the one use_more_bits
	// picks (the last eighth: i ≥ 7·3/8 = 2).
	for _, tc := range []struct {
		mix    string
		hidden int
		want   map[string]string // GGUF name (blk.N for layers 0 and 1, blk.2 for layer 2) → type
		tol    float64           // logits, as a fraction of their range
	}{
		{"Q4_K_M", 256, map[string]string{"token_embd": "q6_k", "position_embd": "f32", "token_types": "f32",
			"blk.N.attn_q": "q4_k", "blk.N.attn_k": "q4_k", "blk.N.attn_v": "q4_k", "blk.N.attn_output": "q4_k", "blk.N.ffn_up": "q4_k", "blk.N.ffn_down": "q4_k",
			"blk.2.attn_q": "q4_k", "blk.2.attn_v": "q6_k", "blk.2.ffn_up": "q4_k", "blk.2.ffn_down": "q6_k", "cls": "q4_k", "cls.output": "q4_k"}, 0.25},
		{"q8_0", 256, map[string]string{"token_embd": "q8_0", "position_embd": "f32", "blk.N.attn_v": "q8_0", "blk.2.ffn_down": "q8_0", "cls.output": "q8_0"}, 0.03},
		{"q4_k_m", 64, map[string]string{"token_embd": "q8_0", "blk.N.attn_q": "q5_0", "blk.N.ffn_down": "q4_k", "blk.2.attn_v": "q8_0",
			"blk.2.ffn_down": "q6_k", "blk.2.ffn_up": "q5_0", "cls": "q5_0", "cls.output": "q5_0"}, 0.25},
		{"Q4_K_M", 40, map[string]string{"token_embd": "f16", "blk.N.attn_q": "f16", "blk.2.attn_v": "f16", "blk.N.ffn_down": "q4_k", "cls.output": "f16"}, 0.25},
	} {
		m := bert(t, tc.hidden)
		var ref []float32
		autograd.NoGrad(func() { ref = m.Logits(nil, b).Value.Contiguous().F32() })
		r, err := Encoder(m, tc.mix)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Tensors) != 3+3*6+2 {
			t.Fatalf("%s: %d tensors: %s", tc.mix, len(r.Tensors), r.Types())
		}
		got := map[string]string{}
		for _, e := range r.Tensors {
			name := strings.TrimSuffix(e.GGUF, ".weight")
			name = strings.NewReplacer("blk.0.", "blk.N.", "blk.1.", "blk.N.").Replace(name)
			if g, ok := got[name]; ok && g != e.TName {
				t.Fatalf("%s: %s is %s in one layer and %s in another", tc.mix, name, g, e.TName)
			}
			got[name] = e.TName
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s hidden %d: %s is %q, want %q (%s)", tc.mix, tc.hidden, k, got[k], v, r.Types())
			}
		}
		if mb := ParamBytes(m.Params()); r.ModelBytes != mb || r.Bytes >= r.Float32Bytes/2 && tc.hidden != 40 {
			t.Errorf("%s: model bytes %d, held %d; %d of %d float32 bytes", tc.mix, r.ModelBytes, mb, r.Bytes, r.Float32Bytes)
		}
		var lg, dq []float32
		autograd.NoGrad(func() {
			lg = m.Logits(nil, b).Value.Contiguous().F32()
			dq = dequantised(t, tc.hidden, r).Logits(nil, b).Value.Contiguous().F32()
		})
		span := float64(slices.Max(ref) - slices.Min(ref))
		for i := range ref {
			if math.Abs(float64(lg[i]-dq[i])) > 1e-3*span {
				t.Errorf("%s hidden %d: logit %d %v, dequantised model %v (range %v)", tc.mix, tc.hidden, i, lg[i], dq[i], span)
			}
			if math.Abs(float64(lg[i]-ref[i])) > tc.tol*span {
				t.Errorf("%s hidden %d: logit %d %v, float %v (range %v)", tc.mix, tc.hidden, i, lg[i], ref[i], span)
			}
		}
		if _, err := Encoder(m, tc.mix); err == nil || !strings.Contains(err.Error(), "float model") {
			t.Errorf("quantising twice: %v", err)
		}
	}
	if _, err := Encoder(bert(t, 64), "q3_xs"); err == nil || !strings.Contains(err.Error(), `"q3_xs"`) || !strings.Contains(err.Error(), "q4_k_m") {
		t.Errorf("an unknown mix: %v", err)
	}
	m := bert(t, 64)
	for _, l := range m.Layers {
		l.(*encoder.Layer).Attn, l.(*encoder.Layer).FFN = nil, nil
	}
	if _, err := Encoder(m, "q8_0"); err == nil || !strings.Contains(err.Error(), "no linear layers") {
		t.Errorf("an encoder without sublayers: %v", err)
	}
}

// TestMoreBitsLessError: the logits' largest error falls as the mix has
// more bits: q4_K_M > q5_K_M > q6_K > q8_0 (seeded model and batch).
func TestMoreBitsLessError(t *testing.T) {
	b := &encoder.Batch{B: 2, T: 8, IDs: []int{3, 9, 12, 1, 7, 30, 2, 5, 4, 4, 17, 8, 0, 0, 0, 0}, Lengths: []int{8, 4}}
	prev := math.Inf(1)
	for _, mix := range []string{"q4_k_m", "q5_k_m", "q6_k", "q8_0"} {
		m := bert(t, 256)
		var ref, lg []float32
		autograd.NoGrad(func() { ref = m.Logits(nil, b).Value.Contiguous().F32() })
		if _, err := Encoder(m, mix); err != nil {
			t.Fatal(err)
		}
		autograd.NoGrad(func() { lg = m.Logits(nil, b).Value.Contiguous().F32() })
		e := 0.0
		for i := range ref {
			e = max(e, math.Abs(float64(lg[i]-ref[i])))
		}
		if e >= prev || e == 0 {
			t.Errorf("%s: largest logit error %v, the mix with fewer bits before it %v", mix, e, prev)
		}
		prev = e
	}
}
