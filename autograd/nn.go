package autograd

import (
	"math"

	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// Softmax returns the softmax of x along axis.
func Softmax(x *Var, axis int) *Var {
	y := tensor.Softmax(x.Value, axis)
	return record("softmax", y, func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = y ⊙ (g − Σ g⊙y)
		return []*tensor.Tensor{tensor.SoftmaxBackward(y, g, axis)}
	}, vjpFunc(func(_ []*Var, y, g *Var, _ []bool) []*Var {
		return []*Var{Mul(y, Sub(g, Sum(Mul(g, y), true, axis)))}
	}), x)
}

// LogSoftmax returns the log-softmax of x along axis.
func LogSoftmax(x *Var, axis int) *Var {
	y := tensor.LogSoftmax(x.Value, axis)
	return record("log_softmax", y, func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = g − softmax ⊙ Σ g
		return []*tensor.Tensor{tensor.Sub(g, tensor.Mul(tensor.Exp(y), tensor.Sum(g, true, axis)))}
	}, vjpFunc(func(_ []*Var, y, g *Var, _ []bool) []*Var {
		return []*Var{Sub(g, Mul(Exp(y), Sum(g, true, axis)))}
	}), x)
}

// IgnoreIndex is PyTorch's default ignore_index for cross-entropy.
const IgnoreIndex = -100

// CrossEntropy returns the mean cross-entropy of logits [..., C] against one
// integer target per row, as torch.nn.functional.cross_entropy with
// ignore_index and label_smoothing: rows whose target equals ignoreIndex do
// not count (pass IgnoreIndex for PyTorch's default).
func CrossEntropy(logits *Var, targets []int, ignoreIndex int, smoothing float64) *Var {
	loss, logp, count := tensor.CrossEntropy(logits.Value, targets, ignoreIndex, smoothing)
	out := tensor.ScalarLike(logits.Value, loss)
	return record("cross_entropy", out, func(g *tensor.Tensor) []*tensor.Tensor {
		// d/dlogits = (softmax − q) · g / count with q = (1−ε)·onehot + ε/C.
		C := logits.Dim(-1)
		d := tensor.Exp(logp)
		scale := g.Item() / float64(count)
		dd := d.Float64s()
		for i, t := range targets {
			row := dd[i*C : (i+1)*C]
			if t == ignoreIndex {
				clear(row)
				continue
			}
			for c := range row {
				row[c] -= smoothing / float64(C)
			}
			row[t] -= 1 - smoothing
			for c := range row {
				row[c] *= scale
			}
		}
		return []*tensor.Tensor{tensor.FromFloat64(dd, logits.Shape()...).To(logits.Value.DType())}
	}, vjpFunc(func(in []*Var, _, g *Var, _ []bool) []*Var {
		// (softmax ⊙ kept − q) · g / count, kept 0 on ignored rows (as q).
		C := logits.Dim(-1)
		q := make([]float64, logits.Value.Numel())
		kept := make([]float64, len(targets))
		for i, t := range targets {
			if t == ignoreIndex {
				continue
			}
			kept[i] = 1
			for c := range C {
				q[i*C+c] = smoothing / float64(C)
			}
			q[i*C+t] += 1 - smoothing
		}
		dt := logits.Value.DType()
		rows := append(logits.Shape()[:logits.NDim()-1:logits.NDim()-1], 1)
		d := Sub(Mul(Softmax(in[0], -1), Const(tensor.FromFloat64(kept, rows...).To(dt))), Const(tensor.FromFloat64(q, logits.Shape()...).To(dt)))
		return []*Var{Mul(d, MulScalar(g, 1/float64(count)))}
	}), logits)
}

// MSELoss returns mean((a − b)²).
func MSELoss(a, b *Var) *Var {
	d := Sub(a, b)
	return Mean(Mul(d, d), false)
}

// L1Loss returns mean(|a − b|).
func L1Loss(a, b *Var) *Var { return Mean(Abs(Sub(a, b)), false) }

// LayerNorm normalises x over its last dimension and applies weight and
// bias ([D]; either may be nil).
func LayerNorm(x, weight, bias *Var, eps float64) *Var {
	return norm("layer_norm", x, weight, bias, eps, false)
}

// RMSNorm scales x over its last dimension by 1/√(mean(x²)+eps) and by
// weight ([D]; may be nil), as Llama's RMSNorm.
func RMSNorm(x, weight *Var, eps float64) *Var {
	return norm("rms_norm", x, weight, nil, eps, true)
}

func norm(op string, x, weight, bias *Var, eps float64, rms bool) *Var {
	var wv, bv *tensor.Tensor
	if weight != nil {
		wv = weight.Value
	}
	if bias != nil {
		bv = bias.Value
	}
	var y *tensor.Tensor
	if rms {
		y = tensor.RMSNorm(x.Value, wv, eps)
	} else {
		y = tensor.LayerNorm(x.Value, wv, bv, eps)
	}
	return record(op, y, func(g *tensor.Tensor) []*tensor.Tensor {
		xc, gc := x.Value.Contiguous(), g.Contiguous()
		if xc.DType() == tensor.Float32 {
			return normBackward32(xc, gc, wv, eps, rms, x, weight, bias)
		}
		return normBackward[float64](xc, gc, wv, eps, rms, x, weight, bias)
	}, composed(func(in []*Var) *Var { return normComposed(in[0], in[1], in[2], eps, rms) }), x, weight, bias)
}

// normComposed is (Layer|RMS)Norm in primitive operations:
// (x − mean)·rsqrt(mean((x − mean)²) + eps)·w + b, without the mean for RMS.
func normComposed(x, w, b *Var, eps float64, rms bool) *Var {
	if !rms {
		x = Sub(x, Mean(x, true, -1))
	}
	y := Mul(x, Rsqrt(AddScalar(Mean(Mul(x, x), true, -1), eps)))
	if w != nil {
		y = Mul(y, w)
	}
	if b != nil {
		y = Add(y, b)
	}
	return y
}

// normBackward returns the gradients of (Layer|RMS)Norm with respect to x,
// weight and bias. With x̂ the normalised row and ĝ = g⊙w:
//
//	LayerNorm: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂))
//	RMSNorm:   dx = rstd·(ĝ − x̂·mean(ĝ⊙x̂))
//
// dw = Σ_rows g⊙x̂, db = Σ_rows g.
func normBackward[T tensor.Float](x, g, w *tensor.Tensor, eps float64, rms bool, xv, wvar, bvar *Var) []*tensor.Tensor {
	D := x.Dim(-1)
	xs, gs := tensor.Data[T](x), tensor.Data[T](g)
	var ws []T
	if w != nil {
		ws = tensor.Data[T](w.Contiguous())
	}
	dx := tensor.ZerosLike(x)
	dxs := tensor.Data[T](dx)
	dw := make([]float64, D)
	db := make([]float64, D)
	xhat := make([]float64, D)
	gh := make([]float64, D)
	for r := 0; r*D < len(xs); r++ {
		row, grow := xs[r*D:(r+1)*D], gs[r*D:(r+1)*D]
		mean, rstd := tensor.NormStats(row, eps, rms)
		var mg, mgx float64
		for i := range row {
			xhat[i] = (float64(row[i]) - mean) * rstd
			gh[i] = float64(grow[i])
			if ws != nil {
				gh[i] *= float64(ws[i])
			}
			mg += gh[i]
			mgx += gh[i] * xhat[i]
			dw[i] += float64(grow[i]) * xhat[i]
			db[i] += float64(grow[i])
		}
		mg /= float64(D)
		mgx /= float64(D)
		if rms {
			mg = 0
		}
		out := dxs[r*D : (r+1)*D]
		for i := range out {
			out[i] = T(rstd * (gh[i] - mg - xhat[i]*mgx))
		}
	}
	grads := make([]*tensor.Tensor, 3)
	if xv.requiresGrad {
		grads[0] = dx
	}
	if wvar != nil && wvar.requiresGrad {
		grads[1] = tensor.FromFloat64(dw, D).To(x.DType())
	}
	if bvar != nil && bvar.requiresGrad {
		grads[2] = tensor.FromFloat64(db, D).To(x.DType())
	}
	return grads
}

// Rope applies rotary position embeddings (HF rotate_half layout) to x
// [..., T, hd] with tables cos, sin [T, hd] from tensor.RopeTables.
func Rope(x *Var, cos, sin *tensor.Tensor) *Var {
	return rope(x, cos.To(x.Value.DType()), sin.To(x.Value.DType()), false)
}

// rope is Rope, or with transpose its adjoint (the inverse rotation), which
// is its gradient.
func rope(x *Var, cos, sin *tensor.Tensor, transpose bool) *Var {
	return record("rope", tensor.Rope(x.Value, cos, sin, transpose), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Rope(g, cos, sin, !transpose)}
	}, linear(func(g *Var) *Var { return rope(g, cos, sin, !transpose) }), x)
}

// Attention is scaled-dot-product attention softmax(q·kᵀ·scale + mask)·v for
// q [B, H, T, d], k [B, Hkv, S, d], v [B, Hkv, S, dv] (grouped-query when
// Hkv < H); mask (additive, broadcast to [B, H, T, S]) may be nil; causal
// hides keys after each query (queries aligned to the last T keys). See
// tensor.Attention.
//
// Without a mask it runs the fused kernel (tensor.FlashAttention), which
// never holds the T×S probabilities; with a mask, the composed one.
func Attention(q, k, v *Var, mask *tensor.Tensor, causal bool, scale float64) *Var {
	if mask == nil {
		return flash(q, k, v, causal, 0, scale)
	}
	out, probs := tensor.Attention(q.Value, k.Value, v.Value, mask, causal, scale)
	return record("attention", out, func(g *tensor.Tensor) []*tensor.Tensor {
		qc, kc, vc, gc := q.Value.Contiguous(), k.Value.Contiguous(), v.Value.Contiguous(), g.Contiguous()
		var dq, dk, dv *tensor.Tensor
		if qc.DType() == tensor.Float32 {
			dq, dk, dv = attentionBackward[float32](qc, kc, vc, probs, gc, scale)
		} else {
			dq, dk, dv = attentionBackward[float64](qc, kc, vc, probs, gc, scale)
		}
		return []*tensor.Tensor{dq, dk, dv}
	}, composed(func(in []*Var) *Var { return attentionComposed(in, mask, causal, 0, scale) }), q, k, v)
}

// SlidingAttention is causal attention in which the query at key position p
// sees only keys p−window+1 … p (Mistral's sliding window); window 0 is
// plain causal attention. It runs the fused kernel.
func SlidingAttention(q, k, v *Var, window int, scale float64) *Var {
	return flash(q, k, v, true, window, scale)
}

func flash(q, k, v *Var, causal bool, window int, scale float64) *Var {
	return FlashAttention(q, k, v, tensor.FlashOptions{Causal: causal, Window: window, Scale: scale})
}

// FlashAttention is attention through the fused kernel with o's masks
// (causal, sliding window, per-row key lengths for right padding), which
// never holds the T×S probabilities.
func FlashAttention(q, k, v *Var, o tensor.FlashOptions) *Var {
	// Options left at fp32 (the zero value) follow the precision setting.
	if o.Precision == tensor.FP32 {
		o.Precision = Precision()
	}
	out, lse := tensor.FlashAttentionWith(q.Value, k.Value, v.Value, o)
	return record("flash_attention", out, func(g *tensor.Tensor) []*tensor.Tensor {
		dq, dk, dv := tensor.FlashAttentionWithBackward(q.Value, k.Value, v.Value, out, lse, g, o)
		return []*tensor.Tensor{dq, dk, dv}
	}, composed(func(in []*Var) *Var {
		mask := tensor.KeyLengthMask(o.KeyLens, q.Dim(0), k.Dim(2))
		if o.SSA != nil { // only the sampled tiles (tensor/ssa.go)
			m := o.SSA.Mask()
			if mask != nil {
				m = tensor.Add(m, mask)
			}
			mask = m
		}
		return attentionComposed(in, mask, o.Causal, o.Window, o.Scale)
	}), q, k, v)
}

// attentionComposed is attention in primitive operations, for q, k, v =
// in: softmax(q·kᵀ·scale + mask, hidden keys −∞)·v, the key/value heads
// repeated for grouped-query attention. Keys are hidden as tensor.Attention
// (causal) and tensor.FlashAttentionWindow (window) hide them.
func attentionComposed(in []*Var, mask *tensor.Tensor, causal bool, window int, scale float64) *Var {
	q, k, v := in[0], in[1], in[2]
	B, H, T, Hkv, S := q.Dim(0), q.Dim(1), q.Dim(2), k.Dim(1), k.Dim(2)
	repeat := func(x *Var) *Var {
		if Hkv == H {
			return x
		}
		e := Expand(Unsqueeze(x, 2), B, Hkv, H/Hkv, S, x.Dim(3))
		return Reshape(e, B, H, S, x.Dim(3))
	}
	s := MulScalar(MatMul(q, repeat(k), false, true), scale)
	if mask != nil {
		s = Add(s, Const(mask.To(q.Value.DType())))
	}
	if causal {
		hide := tensor.New(q.Value.DType(), T, S)
		for t := range T {
			last, first := t+S-T, 0 // the keys query t sees
			if window > 0 {
				first = last - window + 1
			}
			for j := range S {
				if j < first || j > last {
					hide.Set(1, t, j)
				}
			}
		}
		s = MaskedFill(s, hide, math.Inf(-1))
	}
	return MatMul(Softmax(s, -1), repeat(v), false, false)
}

// attentionBackward computes, per (batch, head) with P the probabilities and
// G the output gradient:
//
//	dV = Pᵀ·G    dP = G·Vᵀ    dS = P ⊙ (dP − rowsum(dP ⊙ P))
//	dQ = dS·K·scale    dK = dSᵀ·Q·scale
//
// summing dK and dV over the query heads that share a key/value head.
func attentionBackward[T tensor.Float](q, k, v, p, g *tensor.Tensor, scale float64) (dq, dk, dv *tensor.Tensor) {
	B, H, Tq, d := q.Dim(0), q.Dim(1), q.Dim(2), q.Dim(3)
	Hkv, S, dvd := k.Dim(1), k.Dim(2), v.Dim(3)
	group := H / Hkv
	// Per-head views as [B·H, T, ·] matrices, batched through MatMul.
	qm := q.Reshape(B*H, Tq, d)
	pm := p.Reshape(B*H, Tq, S)
	gm := g.Reshape(B*H, Tq, dvd)
	// Expand k, v to one copy per query head.
	ke := k.Unsqueeze(2).Expand(B, Hkv, group, S, d).Reshape(B*H, S, d)
	ve := v.Unsqueeze(2).Expand(B, Hkv, group, S, dvd).Reshape(B*H, S, dvd)
	dvE := tensor.MatMul(pm, gm, true, false) // [BH, S, dv]
	dP := tensor.MatMul(gm, ve, false, true)  // [BH, T, S]
	ps, dps := tensor.Data[T](pm.Contiguous()), tensor.Data[T](dP)
	for r := 0; r*S < len(ps); r++ {
		pr, dr := ps[r*S:(r+1)*S], dps[r*S:(r+1)*S]
		var dot float64
		for i := range pr {
			dot += float64(pr[i]) * float64(dr[i])
		}
		for i := range pr {
			dr[i] = T(float64(pr[i]) * (float64(dr[i]) - dot) * scale)
		}
	}
	dq = tensor.MatMul(dP, ke, false, false).Reshape(B, H, Tq, d) // dS·K
	dkE := tensor.MatMul(dP, qm, true, false)                     // dSᵀ·Q [BH, S, d]
	dk = tensor.Sum(dkE.Reshape(B, Hkv, group, S, d), false, 2)   // [B, Hkv, S, d]
	dv = tensor.Sum(dvE.Reshape(B, Hkv, group, S, dvd), false, 2) // [B, Hkv, S, dv]
	return dq, dk, dv
}

// normBackward32 is normBackward for float32 with the vector kernels.
func normBackward32(x, g, w *tensor.Tensor, eps float64, rms bool, xv, wvar, bvar *Var) []*tensor.Tensor {
	D := x.Dim(-1)
	xs, gs := x.F32(), g.F32()
	var ws []float32
	if w != nil {
		ws = w.Contiguous().F32()
	} else {
		ws = tensor.Ones32(D)
	}
	dx := tensor.ZerosLike(x)
	dxs := dx.F32()
	dw := tensor.Zeros(D)
	var db *tensor.Tensor
	var dbs []float32
	if !rms {
		db = tensor.Zeros(D)
		dbs = db.F32()
	}
	for r := 0; r*D < len(xs); r++ {
		row, grow := xs[r*D:(r+1)*D], gs[r*D:(r+1)*D]
		mean, rstd := tensor.NormStats32(row, eps, rms)
		s1, s2 := kernels.NormBackward1(row, grow, ws, dw.F32(), dbs, mean, rstd)
		c1 := s1 / float32(D)
		if rms {
			c1 = 0
		}
		kernels.NormBackward2(dxs[r*D:(r+1)*D], row, grow, ws, mean, rstd, c1, s2/float32(D))
	}
	grads := make([]*tensor.Tensor, 3)
	if xv.requiresGrad {
		grads[0] = dx
	}
	if wvar != nil && wvar.requiresGrad {
		grads[1] = dw
	}
	if bvar != nil && bvar.requiresGrad {
		grads[2] = db
	}
	return grads
}

// SoftmaxDropout is dropout(softmax(x), p) along the last axis, fused (see
// tensor.SoftmaxDropout): attention's dropout on its probabilities. It
// takes one draw from r for the op's seed; with r nil or p 0 it is Softmax.
func SoftmaxDropout(x *Var, p float64, r *tensor.RNG) *Var {
	if r == nil || p == 0 {
		return Softmax(x, -1)
	}
	seed := r.Uint64()
	out, probs := tensor.SoftmaxDropout(x.Value, p, seed)
	return record("softmax_dropout", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SoftmaxDropoutBackward(probs, g, p, seed)}
	}, composed(func(in []*Var) *Var { return dropoutRows(Softmax(in[0], -1), p, seed) }), x)
}

// L2Scale scales every row of x's last dimension to c/√(‖row‖² + eps)
// (TokenFormer's normalised scores, tensor.L2Scale): one fused pass each
// way.
func L2Scale(x *Var, c, eps float64) *Var {
	return record("l2_scale", tensor.L2Scale(x.Value, c, eps), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.L2ScaleGrad(x.Value, g, c, eps)}
	}, composed(func(in []*Var) *Var {
		x := in[0]
		ss := Sum(Mul(x, x), true, x.NDim()-1)
		return Mul(x, MulScalar(Rsqrt(AddScalar(ss, eps)), c))
	}), x)
}
