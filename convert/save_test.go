package convert

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// TestStoredType: BF16 or F16 only when every floating-point tensor has
// that type; integers do not count; anything else is F32.
func TestStoredType(t *testing.T) {
	for _, c := range []struct {
		name  string
		types []safetensors.DType
		want  tensor.DType
	}{
		{"bf16", []safetensors.DType{safetensors.BF16, safetensors.BF16}, tensor.BFloat16},
		{"f16", []safetensors.DType{safetensors.F16}, tensor.Float16},
		{"f32", []safetensors.DType{safetensors.F32}, tensor.Float32},
		{"bf16+f32", []safetensors.DType{safetensors.BF16, safetensors.F32}, tensor.Float32},
		{"bf16+f16", []safetensors.DType{safetensors.BF16, safetensors.F16}, tensor.Float32},
		{"f64", []safetensors.DType{safetensors.F64}, tensor.Float32},
		{"bf16+i64", []safetensors.DType{safetensors.BF16, safetensors.I64}, tensor.BFloat16},
		{"i64 only", []safetensors.DType{safetensors.I64}, tensor.Float32},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{}"), 0o644)
			var ts []safetensors.Tensor
			for i, d := range c.types {
				name := string(rune('a' + i))
				var tt safetensors.Tensor
				var err error
				if d == safetensors.I64 {
					tt, err = safetensors.FromInt64(name, []int{2}, []int64{1, 2}, d)
				} else {
					tt, err = safetensors.FromFloat32(name, []int{2}, []float32{0.1, -3}, d)
				}
				if err != nil {
					t.Fatal(err)
				}
				ts = append(ts, tt)
			}
			if err := safetensors.Write(filepath.Join(dir, WeightsFile), ts, nil); err != nil {
				t.Fatal(err)
			}
			got, err := StoredType(dir)
			if err != nil || got != c.want {
				t.Fatalf("StoredType = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	if got, err := StoredType("testdata/gguf/gpt2-f32.gguf"); err != nil || got != tensor.Float32 {
		t.Fatalf("StoredType of a GGUF file = %v, %v; want f32", got, err)
	}
	if _, err := StoredType(filepath.Join(t.TempDir(), "nothing")); err == nil {
		t.Fatal("StoredType of a missing model: no error")
	}
}

// TestSaveAsRoundTo: SaveAs writes dt and torch_dtype without changing
// the model; RoundTo gives exactly the values a reload reads, reports a
// change only when there is one, and is idempotent.
func TestSaveAsRoundTo(t *testing.T) {
	cfg := &decoder.Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6,
		RopeTheta: 10000, VocabSize: 64, MaxPositionEmbeddings: 16, InitializerRange: 0.02}
	for _, c := range []struct {
		dt      tensor.DType
		st      safetensors.DType
		torch   string
		changes bool
	}{
		{tensor.Float32, safetensors.F32, "float32", false},
		{tensor.BFloat16, safetensors.BF16, "bfloat16", true},
		{tensor.Float16, safetensors.F16, "float16", true},
	} {
		t.Run(c.torch, func(t *testing.T) {
			m, err := decoder.New(cfg, 4)
			if err != nil {
				t.Fatal(err)
			}
			before := m.Params()[0].Value.Float32s()
			dir := t.TempDir()
			if err := SaveAs(m, dir, c.dt); err != nil {
				t.Fatal(err)
			}
			if got := m.Params()[0].Value.Float32s(); !bitsEqual(got, before) {
				t.Fatal("SaveAs changed the model's values")
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if back.Config.TorchDtype != c.torch {
				t.Fatalf("torch_dtype %q, want %q", back.Config.TorchDtype, c.torch)
			}
			f, err := safetensors.Open(filepath.Join(dir, WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range f.Infos() {
				if in.DType != c.st {
					t.Fatalf("tensor %s stored as %s, want %s", in.Name, in.DType, c.st)
				}
			}
			f.Close()
			changed, err := RoundTo(m.Params(), c.dt)
			if err != nil || changed != c.changes {
				t.Fatalf("RoundTo: changed %v, %v; want %v", changed, err, c.changes)
			}
			for i, p := range m.Params() {
				if !bitsEqual(p.Value.Float32s(), back.Params()[i].Value.Float32s()) {
					t.Fatalf("%s: rounded values differ from the reloaded ones", p.Name)
				}
			}
			if changed, _ := RoundTo(m.Params(), c.dt); changed {
				t.Fatal("RoundTo twice: the second changed values")
			}
		})
	}
	m, _ := decoder.New(cfg, 4)
	if err := SaveAs(m, t.TempDir(), tensor.Q8_0); err == nil {
		t.Fatal("SaveAs q8_0: no error")
	}
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
