package convert

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// setParam sets element i of m's parameter name to v.
func setParam(t *testing.T, m *decoder.Model, name string, i int, v float32) {
	t.Helper()
	for _, p := range m.Params() {
		if p.Name == name {
			p.Value.Contiguous().F32()[i] = v
			return
		}
	}
	t.Fatalf("no parameter %s", name)
}

// pokeGGUF overwrites the bytes at offset at of the tensor name, of type
// typ, in a GGUF file.
func pokeGGUF(t *testing.T, path, name string, typ gguf.Type, at int, bytes []byte) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	info, ok := f.Tensor(name)
	off := f.DataOffset + int64(info.Offset)
	f.Close()
	if !ok || info.Type != typ {
		t.Fatalf("%s: no %v tensor %s", path, typ, name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[off+int64(at):], bytes)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadNonFinite writes models with a NaN or an infinity in one tensor
// in every format loom reads and checks that loading them, at every
// in-memory precision, fails naming the file, the tensor and the element.
func TestLoadNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	const gate = "model.layers.1.mlp.gate_proj.weight"
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, m *decoder.Model, dir string) string // returns the path to load
		param string
		elem  int
		v     float32
		want  string // in the error, besides "(the file is corrupt)"
	}{
		{"safetensors f32 NaN", func(t *testing.T, m *decoder.Model, dir string) string {
			if err := Save(m, dir); err != nil {
				t.Fatal(err)
			}
			return dir
		}, gate, 1234, nan, "model.safetensors: tensor " + gate + ": element 1234 is NaN"},
		{"safetensors bf16 -Inf", func(t *testing.T, m *decoder.Model, dir string) string {
			if err := ExportHF(m, dir, tokenizer.Byte{}, tensor.BFloat16); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "model.embed_tokens.weight", 7, -inf, "model.safetensors: tensor model.embed_tokens.weight: element 7 is -Inf"},
		{"safetensors f16 +Inf", func(t *testing.T, m *decoder.Model, dir string) string {
			if err := ExportHF(m, dir, tokenizer.Byte{}, tensor.Float16); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "model.norm.weight", 3, inf, "model.safetensors: tensor model.norm.weight: element 3 is +Inf"},
		{"sharded bf16 NaN", func(t *testing.T, m *decoder.Model, dir string) string {
			wm := writeShards(t, m, dir)
			if !strings.HasPrefix(wm[gate], "model-0000") {
				t.Fatalf("weight map %v", wm)
			}
			return dir
		}, gate, 5, nan, "-of-00002.safetensors: tensor " + gate + ": element 5 is NaN"},
		{"gguf f32 NaN", func(t *testing.T, m *decoder.Model, dir string) string {
			p := filepath.Join(dir, "model.gguf")
			if err := ExportGGUF(m, p, tokenizer.Byte{}, tensor.Float32, "t"); err != nil {
				t.Fatal(err)
			}
			return p
		}, gate, 1234, nan, "model.gguf: tensor blk.1.ffn_gate.weight (" + gate + "): element 1234 is NaN"},
		{"gguf f16 +Inf", func(t *testing.T, m *decoder.Model, dir string) string {
			p := filepath.Join(dir, "model.gguf")
			if err := ExportGGUF(m, p, tokenizer.Byte{}, tensor.Float16, "t"); err != nil {
				t.Fatal(err)
			}
			return p
		}, "model.layers.0.mlp.down_proj.weight", 40, inf, "model.gguf: tensor blk.0.ffn_down.weight (model.layers.0.mlp.down_proj.weight): element 40 is +Inf"},
		{"gguf q8_0 NaN scale", func(t *testing.T, m *decoder.Model, dir string) string {
			p := filepath.Join(dir, "model.gguf")
			if err := ExportGGUF(m, p, tokenizer.Byte{}, tensor.Q8_0, "t"); err != nil {
				t.Fatal(err)
			}
			// The scale of block 2 (elements 64 to 95, bytes 68 to 101).
			pokeGGUF(t, p, "blk.1.ffn_gate.weight", gguf.Q8_0, 2*34, []byte{0x00, 0x7e})
			return p
		}, "", 0, 0, "model.gguf: tensor blk.1.ffn_gate.weight (" + gate + "): the scale of the q8_0 block of elements 64 to 95 is NaN"},
		{"gguf f32 norm poked", func(t *testing.T, m *decoder.Model, dir string) string {
			p := filepath.Join(dir, "model.gguf")
			if err := ExportGGUF(m, p, tokenizer.Byte{}, tensor.Q8_0, "t"); err != nil {
				t.Fatal(err)
			}
			pokeGGUF(t, p, "blk.0.attn_norm.weight", gguf.F32, 4*9, binary.LittleEndian.AppendUint32(nil, 0xff800000))
			return p
		}, "", 0, 0, "model.gguf: tensor blk.0.attn_norm.weight (model.layers.0.input_layernorm.weight): element 9 is -Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decoder.New(decodertest.InteropConfig(nil), 11)
			if err != nil {
				t.Fatal(err)
			}
			if tc.param != "" {
				setParam(t, m, tc.param, tc.elem, tc.v)
			}
			path := tc.write(t, m, t.TempDir())
			for _, dt := range decoder.WeightDTypes {
				_, err := LoadWith(path, LoadOptions{DType: dt})
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), "(the file is corrupt)") {
					t.Fatalf("load as %v: %v, want an error with %q and (the file is corrupt)", dt, err, tc.want)
				}
			}
			if _, err := Open(path, LoadOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestLoadNonFinitePermuted checks that the element named for a q
// projection of a GGUF file, whose rows the file holds permuted, is the
// file's element: for a NaN in the file and for a value beyond the range of
// the precision it is loaded as.
func TestLoadNonFinitePermuted(t *testing.T) {
	const q = "model.layers.0.self_attn.q_proj.weight"
	for _, tc := range []struct {
		v    float32
		dt   tensor.DType
		want string
	}{
		{float32(math.NaN()), tensor.Float32, "is NaN (the file is corrupt)"},
		{1e5, tensor.Float16, "is 100000, beyond the range of f16"},
	} {
		m, err := decoder.New(decodertest.InteropConfig(nil), 12)
		if err != nil {
			t.Fatal(err)
		}
		cols := m.Config.HiddenSize
		setParam(t, m, q, 2*cols+5, tc.v) // row 2, column 5
		path := filepath.Join(t.TempDir(), "model.gguf")
		if err := ExportGGUF(m, path, tokenizer.Byte{}, tensor.Float32, "t"); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.Float32s("blk.0.attn_q.weight")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		at := -1
		for i, x := range v {
			if x != x || x == 1e5 {
				at = i
			}
		}
		if at < 0 || at == 2*cols+5 {
			t.Fatalf("the value is at %d of the file's tensor; want it moved by the permutation", at)
		}
		want := fmt.Sprintf("tensor blk.0.attn_q.weight (%s): element %d %s", q, at, tc.want)
		if _, err := LoadWith(path, LoadOptions{DType: tc.dt}); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
}

// TestLoadOverflowWhenPacked checks that finite weights beyond the range
// of the in-memory precision asked for are an error naming the element,
// rather than infinities.
func TestLoadOverflowWhenPacked(t *testing.T) {
	m, err := decoder.New(decodertest.InteropConfig(nil), 13)
	if err != nil {
		t.Fatal(err)
	}
	const up = "model.layers.0.mlp.up_proj.weight"
	setParam(t, m, up, 100, 1e5)   // beyond f16
	setParam(t, m, up, 300, -1e10) // beyond q8_0's scale (127·65504)
	dir := t.TempDir()
	if err := Save(m, dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dt   tensor.DType
		want string
	}{
		{tensor.Float32, ""},
		{tensor.BFloat16, ""},
		{tensor.Float16, "tensor " + up + ": element 100 is 100000, beyond the range of f16: load as f32 or bf16 (--dtype)"},
		{tensor.Q8_0, "tensor " + up + ": element 300 is -1e+10, beyond the range of q8_0: load as f32 or bf16 (--dtype)"},
	} {
		_, err := LoadWith(dir, LoadOptions{DType: tc.dt})
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("load as %v: %v, want %q", tc.dt, err, tc.want)
		}
	}
}
