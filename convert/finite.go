package convert

import (
	"fmt"
	"math"

	"github.com/loomml/loom/tensor"
)

// checkPacked fails when packing the finite float32 tensor f gave a
// non-finite value in packed: an element beyond the packed type's range.
func checkPacked(src weightSource, name string, f, packed *tensor.Tensor) error {
	nf, _ := packed.DType().FindNonFinite(packed.Raw())
	if nf.Count == 0 {
		return nil
	}
	v := f.Contiguous().F32()
	first := nf.First
	if nf.Scale { // the block's largest magnitude overflowed its scale
		block := packed.DType().Info().Block
		for j := nf.First; j < nf.First+block && j < len(v); j++ {
			if math.Abs(float64(v[j])) > math.Abs(float64(v[first])) {
				first = j
			}
		}
	}
	where, i := src.locate(name, first)
	instead := "f32 or bf16"
	if packed.DType() == tensor.BFloat16 {
		instead = "f32"
	}
	return fmt.Errorf("%s: element %d is %g, beyond the range of %s: load as %s (--dtype)", where, i, v[first], packed.DType().Info().Name, instead)
}
