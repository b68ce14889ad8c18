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
// Packed bfloat16 and float16 tensors are written as they are when dt is
// their dtype, and widened otherwise (q8_0 has no safetensors dtype).
func FromTensor(name string, t *tensor.Tensor, dt DType) (Tensor, error) {
	if t.DType().Packed() {
		if t.DType() == tensor.BFloat16 && dt == BF16 || t.DType() == tensor.Float16 && dt == F16 {
			return Tensor{Name: name, DType: dt, Shape: append([]int(nil), t.Shape()...), Data: t.Raw()}, nil
		}
		t = t.To(tensor.Float32)
	}
	if t.DType() == tensor.Float64 {
		if dt == F64 || dt == F32 {
			return FromFloat64(name, t.Shape(), t.Contiguous().F64(), dt)
		}
		return FromFloat32(name, t.Shape(), t.Float32s(), dt)
	}
	return FromFloat32(name, t.Shape(), t.Contiguous().F32(), dt)
}
