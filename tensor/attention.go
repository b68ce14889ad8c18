package tensor

import (
	"fmt"
	"math"
)

// AttentionShape checks the operands of scaled-dot-product attention and
// returns B, H, Hkv, T, S, d, dv. q is [B, H, T, d], k is [B, Hkv, S, d] and
// v is [B, Hkv, S, dv], with Hkv dividing H (grouped-query attention: query
// head h reads key/value head h / (H/Hkv)). mask, when not nil, must
// broadcast to [B, H, T, S].
func AttentionShape(q, k, v, mask *Tensor) (B, H, Hkv, T, S, d, dv int, err error) {
	if q.NDim() != 4 || k.NDim() != 4 || v.NDim() != 4 {
		return 0, 0, 0, 0, 0, 0, 0, fmt.Errorf("tensor: attention wants 4-D q, k, v ([B, H, T, d]), have %v, %v, %v", q.shape, k.shape, v.shape)
	}
	B, H, T, d = q.shape[0], q.shape[1], q.shape[2], q.shape[3]
	Hkv, S = k.shape[1], k.shape[2]
	dv = v.shape[3]
	if k.shape[0] != B || v.shape[0] != B || k.shape[3] != d || v.shape[1] != Hkv || v.shape[2] != S || Hkv == 0 || H%Hkv != 0 {
		return 0, 0, 0, 0, 0, 0, 0, fmt.Errorf("tensor: attention shapes q %v, k %v, v %v do not fit", q.shape, k.shape, v.shape)
	}
	if mask != nil {
		if _, e := BroadcastShapes(mask.shape, []int{B, H, T, S}); e != nil || mask.NDim() > 4 {
			return 0, 0, 0, 0, 0, 0, 0, fmt.Errorf("tensor: attention mask %v does not broadcast to [B, H, T, S] = %v", mask.shape, []int{B, H, T, S})
		}
	}
	return
}

// Attention computes scaled-dot-product attention softmax(q·kᵀ·scale + mask)·v
// per (batch, head), returning the output [B, H, T, dv] and the attention
// probabilities [B, H, T, S] (which the backward pass needs).
//
// mask is added to the scores (use −Inf to hide a key); with causal, query t
// sees keys s ≤ t + S − T, i.e. the queries are the last T positions of the
// S keys (the usual alignment with a KV cache; for T = S it is the lower
// triangle). A row whose keys are all hidden yields zero probabilities.
func Attention(q, k, v, mask *Tensor, causal bool, scale float64) (out, probs *Tensor) {
	B, H, Hkv, T, S, d, dv, err := AttentionShape(q, k, v, mask)
	if err != nil {
		panic(err.Error())
	}
	qc, kc, vc := q.Contiguous(), k.Contiguous(), v.Contiguous()
	var m *Tensor
	if mask != nil {
		m = mask.To(q.dtype).Expand(B, H, T, S).Contiguous()
	}
	out = New(q.dtype, B, H, T, dv)
	probs = New(q.dtype, B, H, T, S)
	if q.dtype == Float32 {
		attention[float32](out, probs, qc, kc, vc, m, causal, scale, B, H, Hkv, T, S, d, dv)
	} else {
		attention[float64](out, probs, qc, kc, vc, m, causal, scale, B, H, Hkv, T, S, d, dv)
	}
	return out, probs
}

func attention[T Float](out, probs, q, k, v, mask *Tensor, causal bool, scale float64, B, H, Hkv, Tq, S, d, dv int) {
	qd, kd, vd := Data[T](q), Data[T](k), Data[T](v)
	od, pd := Data[T](out), Data[T](probs)
	var md []T
	if mask != nil {
		md = Data[T](mask)
	}
	group := H / Hkv
	negInf := T(math.Inf(-1))
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			bh := b*H + h
			kv := b*Hkv + h/group
			qm := qd[bh*Tq*d : (bh+1)*Tq*d]
			km := kd[kv*S*d : (kv+1)*S*d]
			vm := vd[kv*S*dv : (kv+1)*S*dv]
			p := pd[bh*Tq*S : (bh+1)*Tq*S]
			gemm(false, true, Tq, S, d, qm, d, km, d, 0, p) // scores [T, S]
			for t := 0; t < Tq; t++ {
				row := p[t*S : (t+1)*S]
				for s := range row {
					row[s] *= T(scale)
				}
				if md != nil {
					mr := md[bh*Tq*S+t*S : bh*Tq*S+(t+1)*S]
					for s := range row {
						row[s] += mr[s]
					}
				}
				if causal {
					for s := max(0, t+S-Tq+1); s < S; s++ {
						row[s] = negInf
					}
				}
				SoftmaxRow(row, row, S, 1, false)
			}
			gemm(false, false, Tq, dv, S, p, S, vm, dv, 0, od[bh*Tq*dv:(bh+1)*Tq*dv])
		}
	}
}
