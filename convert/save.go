package convert

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// File names of a model directory, as Hugging Face lays it out.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// Save writes config.json and model.safetensors (float32) into dir, each
// file atomically; config.json's torch_dtype says float32.
func Save(m *decoder.Model, dir string) error { return SaveAs(m, dir, tensor.Float32) }

// SaveAs writes config.json and model.safetensors into dir with the
// weights stored as dt (one of HFTypes: float32, bfloat16 or float16) and
// config.json's torch_dtype saying so, each file atomically. m itself is
// not changed: its float32 values are rounded as they are written (see
// RoundTo).
func SaveAs(m *decoder.Model, dir string, dt tensor.DType) error {
	st, err := safetensorsType(dt)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c := *m.Config
	c.TorchDtype = dt.Info().Torch
	if err := fsutil.WriteFile(filepath.Join(dir, ConfigFile), c.JSON()); err != nil {
		return err
	}
	return nn.SaveParams(filepath.Join(dir, WeightsFile), m.Params(), st, map[string]string{"format": "pt"})
}

// StoredType returns the type a model's floating-point weights are stored
// in, the type to save a model derived from it in: tensor.BFloat16 or
// tensor.Float16 when every floating-point tensor of its safetensors
// files has that type, else tensor.Float32 (float32 or float64 tensors,
// 8-bit floats, bfloat16 mixed with float16 — neither holds the other —
// or no floating-point tensor). A GGUF file is tensor.Float32: its block
// types have no safetensors spelling. path is anything ResolvePath
// accepts, or an encoder's model directory.
func StoredType(path string) (tensor.DType, error) {
	dir, _, err := ResolvePath(path)
	if err != nil {
		return 0, err
	}
	if gguf.IsGGUF(dir) {
		return tensor.Float32, nil
	}
	src, err := openSafetensors(dir)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	seen := map[safetensors.DType]bool{}
	for _, f := range src.files {
		for _, in := range f.Infos() {
			switch in.DType {
			case safetensors.F64, safetensors.F32, safetensors.BF16, safetensors.F16, safetensors.F8_E4M3, safetensors.F8_E5M2:
				seen[in.DType] = true
			}
		}
	}
	switch {
	case len(seen) == 1 && seen[safetensors.BF16]:
		return tensor.BFloat16, nil
	case len(seen) == 1 && seen[safetensors.F16]:
		return tensor.Float16, nil
	}
	return tensor.Float32, nil
}

// RoundTo rounds each parameter's values in place to what storing them as
// dt (one of HFTypes) and loading them back gives, exactly as SaveAs
// writes and the loaders read them, so a model measured after RoundTo is
// the model its saved file holds. It reports whether any value changed.
// Packed (low-precision or block-quantised) values and values already of
// type dt are left as they are.
func RoundTo(params []*autograd.Var, dt tensor.DType) (changed bool, err error) {
	st, err := safetensorsType(dt)
	if err != nil {
		return false, err
	}
	for _, p := range params {
		if p.Value == nil || p.Value.DType().Packed() || p.Value.DType() == dt {
			continue // packed weights are written widened (or as they are)
		}
		t, err := safetensors.FromTensor(p.Name, p.Value, st)
		if err != nil {
			return false, err
		}
		var buf bytes.Buffer
		if err := safetensors.Encode(&buf, []safetensors.Tensor{t}, nil); err != nil {
			return false, err
		}
		f, err := safetensors.Parse(p.Name, buf.Bytes())
		if err != nil {
			return false, err
		}
		back, err := f.Tensor(p.Name)
		if err != nil {
			return false, fmt.Errorf("convert: rounding %s to %v: %w", p.Name, dt, err)
		}
		back = back.To(p.Value.DType())
		if !changed {
			a, b := p.Value.Float32s(), back.Float32s()
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					changed = true
					break
				}
			}
		}
		p.Value.CopyFrom(back)
	}
	return changed, nil
}
