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
	return SaveParamsAs(path, "", params, dt, metadata)
}

// SaveParamsAs is SaveParams with each tensor named prefix + the
// parameter's name (PEFT's "base_model.model.").
func SaveParamsAs(path, prefix string, params []*autograd.Var, dt safetensors.DType, metadata map[string]string) error {
	if _, err := ParamMap(params); err != nil {
		return err
	}
	ts := make([]safetensors.Tensor, 0, len(params))
	for _, p := range params {
		t, err := safetensors.FromTensor(prefix+p.Name, p.Value, dt)
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
func LoadParams(path string, params []*autograd.Var) error { return LoadParamsAs(path, "", params) }

// LoadParamsAs is LoadParams for a file whose tensors are named prefix +
// each parameter's name (PEFT's "base_model.model."); errors give the
// file's names.
func LoadParamsAs(path, prefix string, params []*autograd.Var) error {
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
		if _, ok := f.Info(prefix + name); !ok {
			missing = append(missing, prefix+name)
		}
	}
	for _, name := range f.Names() {
		if _, ok := want[strings.TrimPrefix(name, prefix)]; !ok || !strings.HasPrefix(name, prefix) {
			unexpected = append(unexpected, name)
		}
	}
	if len(missing) > 0 || len(unexpected) > 0 {
		sort.Strings(missing)
		sort.Strings(unexpected)
		return fmt.Errorf("%s: tensors do not match the model: missing %s; unexpected %s", path, NameList(missing), NameList(unexpected))
	}
	for _, p := range params {
		if err := LoadTensor(f, prefix+p.Name, p); err != nil {
			return err
		}
	}
	return nil
}

// LoadTensor copies tensor name of the open file f into p's value
// (converted to its dtype): a NaN or an infinity in it, or a shape other
// than p's, is an error naming the file and the tensor.
func LoadTensor(f *safetensors.File, name string, p *autograd.Var) error {
	nf, err := f.NonFinite(name)
	if err != nil {
		return err
	}
	in, ok := f.Info(name)
	if !ok {
		return fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	d, _ := dtype.FromSafetensors(string(in.DType))
	if err := nf.Corrupt(f.Path+": tensor "+name, d); err != nil {
		return err
	}
	if !tensor.EqualShape(in.Shape, p.Shape()) {
		return fmt.Errorf("%s: tensor %q has shape %v, the model expects %v", f.Path, name, in.Shape, p.Shape())
	}
	t, err := f.Tensor(name)
	if err != nil {
		return err
	}
	p.Value.CopyFrom(t.To(p.Value.DType()))
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
