package decoder

import (
	"fmt"

	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// SetCacheDType makes NewCache keep keys and values as dt: tensor.Float16
// (nn.HalfKV, as llama.cpp does by default: half the memory, and half the
// bytes a decoding step reads, keys and values rounded to f16) or
// tensor.Float32 (nn.FullKV, the default).
func (m *Model) SetCacheDType(dt tensor.DType) error {
	if dt != tensor.Float32 && dt != tensor.Float16 {
		return fmt.Errorf("decoder: a KV cache holds f32 or f16, not %v", dt)
	}
	return nn.Walk(m, func(n *nn.Node) error {
		if a, ok := n.Module.(*nn.Attention); ok {
			a.CacheDType = dt
		}
		return nil
	})
}
