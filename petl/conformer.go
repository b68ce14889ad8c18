package petl

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// The conformer adapter of PETL-AST (Cappellazzo et al., "Parameter-
// Efficient Transfer Learning of Audio Spectrogram Transformers", arXiv
// 2312.03694; code umbertocappellazzo/PETL_AST, src/AST_adapters.py): a
// bottleneck built like the convolution module of a Conformer (Gulati et
// al., arXiv 2005.08100), so the adapter mixes neighbouring tokens:
//
//	pointwise d → 2m, GLU → m, depthwise convolution over the tokens
//	(kernel k, "same" padding; causal — k−1 on the left — in a decoder),
//	norm, SiLU, pointwise m → d
//
// placed beside (parallel, the paper's default) or after (sequential) the
// FFN, as Pfeiffer adapters are. Differences from the official code, each
// deliberate: its LayerNorm before the first pointwise layer is computed
// and then overwritten (never used), so loom has none; its BatchNorm over
// the m channels is a LayerNorm over them here (no batch statistics, the
// same in training and evaluation); the last pointwise layer starts near
// zero (N(0, 10⁻⁶)) so the adapted model starts as the base model, where
// the official code keeps PyTorch's default initialisation. Parameters are
// named <sublayer>.conformer.{pw1,dw,norm,pw2}.*.

// ConformerConfig says how conformer adapters are built.
type ConformerConfig struct {
	Bottleneck int  // m
	Kernel     int  // depthwise kernel (PETL-AST: 31); odd unless Causal
	Parallel   bool // beside the FFN, on its input (the paper's default)
	Causal     bool // left padding only: a token sees no later token (decoders)
}

// conformerModule is the adapter's network.
type conformerModule struct {
	PW1, PW2 *nn.Linear
	DW, DWB  *autograd.Var // [m, k], [m]
	Norm     *nn.LayerNorm
	causal   bool
}

func newConformerModule(name string, d int, c ConformerConfig, r *tensor.RNG) (*conformerModule, error) {
	switch {
	case c.Bottleneck < 1 || c.Bottleneck > d:
		return nil, fmt.Errorf("petl: conformer bottleneck %d for %s (width %d): want 1 … %d", c.Bottleneck, name, d, d)
	case c.Kernel < 1 || !c.Causal && c.Kernel%2 == 0:
		return nil, fmt.Errorf("petl: conformer kernel %d: want an odd size ≥ 1 (causal adapters may take any)", c.Kernel)
	}
	m, p := c.Bottleneck, nn.Join(name, "conformer")
	b := 1 / math.Sqrt(float64(c.Kernel))
	return &conformerModule{
		PW1:    nn.NewTorchLinear(nn.Join(p, "pw1"), d, 2*m, true, r),
		DW:     autograd.NewParam(nn.Join(p, "dw.weight"), autograd.RoleMatrix, tensor.Uniform(r, -b, b, m, c.Kernel)),
		DWB:    autograd.NewParam(nn.Join(p, "dw.bias"), autograd.RoleBias, tensor.Uniform(r, -b, b, m)),
		Norm:   nn.NewLayerNorm(nn.Join(p, "norm"), m, 1e-5, true),
		PW2:    nearZero(nn.Join(p, "pw2"), m, d, r),
		causal: c.Causal,
	}, nil
}

func (c *conformerModule) forward(x *autograd.Var) *autograd.Var {
	h := c.PW1.Forward(x) // [B, T, 2m]
	m := h.Dim(2) / 2
	parts := autograd.Split(h, 2, m, m)
	h = autograd.Mul(parts[0], autograd.Sigmoid(parts[1])) // GLU
	h = DepthwiseConv1d(h, c.DW, c.DWB, c.causal)
	return c.PW2.Forward(autograd.Silu(c.Norm.Forward(h)))
}

func (c *conformerModule) params() []*autograd.Var {
	return append(append(c.PW1.Params(), c.DW, c.DWB), nn.Collect(c.Norm, c.PW2)...)
}

// ApplyConformer freezes model and puts a conformer adapter at every FFN
// sublayer named cfg's FFN name (as ApplyAdapters finds them), for a
// residual stream of width d; it returns how many it injected.
func ApplyConformer(model nn.Module, d int, cfg ConformerConfig, seed uint64) (int, error) {
	_, ffnName := sublayerNames(model)
	r := tensor.NewRNG(seed)
	count, err := inject(model, "", ffnName, false, cfg.Parallel, func(name string) (branch, error) {
		return newConformerModule(name, d, cfg, r)
	})
	if err == nil && count == 0 {
		err = fmt.Errorf("petl: no FFN sublayer named %q to put a conformer adapter in", ffnName)
	}
	return count, err
}

// DepthwiseConv1d convolves x [B, T, C] along T, channel by channel, with
// w [C, K] and bias [C] (PyTorch's Conv1d with groups = C, on x
// transposed): out[b, t, c] = bias[c] + Σ_j w[c, j]·x[b, t + j − left, c],
// zero outside [0, T), left = (K−1)/2 ("same" padding, K odd) or K−1
// (causal).
func DepthwiseConv1d(x, w, bias *autograd.Var, causal bool) *autograd.Var {
	B, T, C := x.Dim(0), x.Dim(1), x.Dim(2)
	K := w.Dim(1)
	if w.Dim(0) != C || bias.Dim(0) != C {
		panic(fmt.Sprintf("petl: depthwise convolution of %d channels with weights %v and bias %v", C, w.Shape(), bias.Shape()))
	}
	left := (K - 1) / 2
	if causal {
		left = K - 1
	}
	xv, wv, bv := x.Value.Contiguous().F32(), w.Value.Contiguous().F32(), bias.Value.Contiguous().F32()
	out := tensor.New(tensor.Float32, B, T, C)
	o := out.F32()
	for b := range B {
		for t := range T {
			row := o[(b*T+t)*C : (b*T+t+1)*C]
			copy(row, bv)
			for j := range K {
				s := t + j - left
				if s < 0 || s >= T {
					continue
				}
				src := xv[(b*T+s)*C : (b*T+s+1)*C]
				for c := range C {
					row[c] += wv[c*K+j] * src[c]
				}
			}
		}
	}
	return autograd.Custom("depthwise_conv1d", out, func(g *tensor.Tensor) []*tensor.Tensor {
		gv := g.Contiguous().F32()
		gx, gw, gb := tensor.Zeros(B, T, C), tensor.Zeros(C, K), tensor.Zeros(C)
		gxv, gwv, gbv := gx.F32(), gw.F32(), gb.F32()
		for b := range B {
			for t := range T {
				grow := gv[(b*T+t)*C : (b*T+t+1)*C]
				for c := range C {
					gbv[c] += grow[c]
				}
				for j := range K {
					s := t + j - left
					if s < 0 || s >= T {
						continue
					}
					src := xv[(b*T+s)*C : (b*T+s+1)*C]
					dst := gxv[(b*T+s)*C : (b*T+s+1)*C]
					for c := range C {
						dst[c] += wv[c*K+j] * grow[c]
						gwv[c*K+j] += src[c] * grow[c]
					}
				}
			}
		}
		return []*tensor.Tensor{gx, gw, gb}
	}, x, w, bias)
}
