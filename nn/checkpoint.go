package nn

import (
	"fmt"
	"sort"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// SaveParams writes params to a safetensors file (atomically: a temp file
// renamed into place) as dtype dt (F32, F16 or BF16), in order, with
// metadata.
func SaveParams(path string, params []*autograd.Var, dt safetensors.DType, metadata map[string]string) error {
	if _, err := ParamMap(params); err != nil {
		return err
	}
	ts := make([]safetensors.Tensor, 0, len(params))
	for _, p := range params {
		t, err := safetensors.FromTensor(p.Name, p.Value, dt)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	return safetensors.Write(path, ts, metadata)
}

// LoadParams fills params from a safetensors file, matching by name. Every
// parameter must be present with its shape, and the file must hold nothing
// else; errors name the file and the tensors. A NaN or an infinity in a
// tensor is an error naming it and the element. Values are copied into the
// existing tensors, so views and optimizer references stay valid.
func LoadParams(path string, params []*autograd.Var) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	want, err := ParamMap(params)
	if err != nil {
		return err
	}
	var missing, unexpected []string
	for name := range want {
		if _, ok := f.Info(name); !ok {
			missing = append(missing, name)
		}
	}
	for _, name := range f.Names() {
		if _, ok := want[name]; !ok {
			unexpected = append(unexpected, name)
		}
	}
	if len(missing) > 0 || len(unexpected) > 0 {
		sort.Strings(missing)
		sort.Strings(unexpected)
		return fmt.Errorf("%s: tensors do not match the model: missing %s; unexpected %s", path, NameList(missing), NameList(unexpected))
	}
	for _, p := range params {
		nf, err := f.NonFinite(p.Name)
		if err != nil {
			return err
		}
		in, _ := f.Info(p.Name)
		d, _ := dtype.FromSafetensors(string(in.DType))
		if err := nf.Corrupt(path+": tensor "+p.Name, d); err != nil {
			return err
		}
		t, err := f.Tensor(p.Name)
		if err != nil {
			return err
		}
		if !tensor.EqualShape(t.Shape(), p.Shape()) {
			return fmt.Errorf("%s: tensor %q has shape %v, the model expects %v", path, p.Name, t.Shape(), p.Shape())
		}
		p.Value.CopyFrom(t.To(p.Value.DType()))
	}
	return nil
}

// NameList renders names for an error message: all of them, or the first
// six and how many more ("none" for no names).
func NameList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) > 6 {
		return strings.Join(names[:6], ", ") + fmt.Sprintf(" and %d more", len(names)-6)
	}
	return strings.Join(names, ", ")
}
