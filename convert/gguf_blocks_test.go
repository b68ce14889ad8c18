package convert

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// TestGGUFBlocksInPlace: a model read from a GGUF file of a k-quant mix
// holds each matrix in the type the file stores it in (q4_K, q5_K, q6_K,
// q8_0; types products cannot read widened to float32), whatever --dtype
// asks; written back as the same mix it gives the same bytes (nothing
// requantised); and its logits agree with those of the same file widened
// to float32 (LoadOptions.WidenBlocks: products on the widened weights,
// inputs rounded as llama.cpp rounds them). One-token steps sum the
// blocks' integer products instead, and so does a prefill on k-quant
// blocks where the CPU has AVX-512 VNNI (internal/kernels' kgemm.go), so a
// layer's output differs in the last bits, which now and then moves an
// activation of the next layer across a rounding boundary of its 8-bit
// quantisation (a change of 1/127 of its block's largest value; this
// random model amplifies it layer after layer): they agree within 5 % of
// the largest logit.
// (internal/kernels' tests bound each product tightly.)
func TestGGUFBlocksInPlace(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "quantmix", "llamacpp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Config json.RawMessage `json:"config"`
		Seed   uint64          `json:"seed"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	c, err := decoder.ParseConfig("llamacpp.json config", fx.Config)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := WriteRandom(c, dir, tensor.Float32, fx.Seed, 2000e6, nil); err != nil {
		t.Fatal(err)
	}
	src, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{3, 1, 4, 1, 5, 9, 2, 6}
	for _, mixName := range []string{"Q4_K_M", "Q5_K_M", "Q6_K", "Q4_0"} {
		t.Run(mixName, func(t *testing.T) {
			mix, err := ParseQuantMix(mixName)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := ExportGGUFMix(src, path, tokenizer.Byte{}, mix, "m", WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			m, err := LoadWith(path, LoadOptions{DType: tensor.BFloat16})
			if err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			blocks := 0
			for _, p := range m.Params() {
				info, ok := f.Tensor(GGUFName(p.Name))
				if !ok {
					t.Fatalf("no tensor for %s", p.Name)
				}
				ft, _ := info.Type.DType()
				want := decoder.WeightDType(p, tensor.BFloat16)
				if ft.Info().Block > 1 {
					want = tensor.Float32
					if ft.Packed() {
						want = ft
						blocks++
					}
				}
				if p.Value.DType() != want {
					t.Errorf("%s (%v in the file) held as %v, want %v", p.Name, ft, p.Value.DType(), want)
				}
			}
			if mixName != "Q4_0" && blocks == 0 {
				t.Fatal("no matrix kept in its blocks")
			}
			// Written back as the same mix: the same tensors, byte for byte.
			again := filepath.Join(t.TempDir(), "again.gguf")
			if err := ExportGGUFMix(m, again, tokenizer.Byte{}, mix, "m", WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			g, err := gguf.Open(again)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			for _, info := range f.Tensors {
				ft, _ := info.Type.DType()
				if !ft.Packed() || ft.Info().Block == 1 {
					continue
				}
				x, _ := f.TensorBytes(info.Name)
				y, err := g.TensorBytes(info.Name)
				if err != nil || !bytes.Equal(x, y) {
					t.Errorf("%s (%v): written back with other bytes (%v)", info.Name, ft, err)
				}
			}
			wide, err := LoadWith(path, LoadOptions{WidenBlocks: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range wide.Params() {
				if d := p.Value.DType(); d != tensor.Float32 && d.Info().Block > 1 {
					t.Fatalf("WidenBlocks: %s held as %v", p.Name, d)
				}
			}
			V := c.VocabSize
			autograd.NoGrad(func() {
				a := m.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32()
				w := wide.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32()
				tol := 0.05 // k-quant products on their blocks (above)
				if mixName == "Q4_0" {
					tol = 1e-4 // q8_0 prefills widen their tiles, rounding the inputs as the steps do
				}
				if d := maxRelDiff(a, w); d > tol {
					t.Errorf("prefill: logits differ from the widened model's by %.3g (relative to the largest)", d)
				}
				ctxA := &nn.Ctx{Cache: m.NewCache(1, len(ids))}
				ctxW := &nn.Ctx{Cache: wide.NewCache(1, len(ids))}
				for i, id := range ids {
					ctxA.Pos, ctxW.Pos = i, i
					sa := m.Forward(ctxA, []int{id}, 1, 1).Value.Contiguous().F32()
					sw := wide.Forward(ctxW, []int{id}, 1, 1).Value.Contiguous().F32()
					if d := maxRelDiff(sa, sw); d > 0.05 {
						t.Errorf("step %d: logits differ from the widened model's by %.3g", i, d)
					}
					if d := maxRelDiff(sa, a[i*V:(i+1)*V]); d > 0.05 {
						t.Errorf("step %d: logits differ from the prefill's by %.3g", i, d)
					}
				}
			})
		})
	}
}

// maxRelDiff returns max|a−b| / max|b|.
func maxRelDiff(a, b []float32) float64 {
	var d, mag float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		mag = math.Max(mag, math.Abs(float64(b[i])))
	}
	return d / mag
}
