package safetensors

import "github.com/loomml/loom/tensor"

// Tensor returns the named tensor as a loom tensor: F64 stays float64, every
// other floating dtype is widened to float32.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	if in, ok := f.Info(name); ok && in.DType == F64 {
		d, s, err := f.Float64(name)
		if err != nil {
			return nil, err
		}
		return tensor.FromFloat64(d, s...), nil
	}
	d, s, err := f.Float32(name)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(d, s...), nil
}

// FromTensor encodes a loom tensor as dtype dt (F32, F16, BF16 or F64).
func FromTensor(name string, t *tensor.Tensor, dt DType) (Tensor, error) {
	if t.DType() == tensor.Float64 {
		if dt == F64 || dt == F32 {
			return FromFloat64(name, t.Shape(), t.Contiguous().F64(), dt)
		}
		return FromFloat32(name, t.Shape(), t.Float32s(), dt)
	}
	return FromFloat32(name, t.Shape(), t.Contiguous().F32(), dt)
}
