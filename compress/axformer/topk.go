package axformer

import (
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TopKAttention is AxFormer's top-k hard attention; it lives in nn
// (nn.TopKAttention) so that a model's loader builds it from the
// checkpoint's config (models/encoder: loom.attention_top_k).
type TopKAttention = nn.TopKAttention

// NewTopK wraps a with top-k hard attention (nn.NewTopK).
func NewTopK(a *nn.Attention, k int) (*TopKAttention, error) { return nn.NewTopK(a, k) }

// TopKMask is nn.TopKMask.
func TopKMask(q, k *tensor.Tensor, lens []int, causal bool, scale float64, topK int) *tensor.Tensor {
	return nn.TopKMask(q, k, lens, causal, scale, topK)
}
