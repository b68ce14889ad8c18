package convert

import (
	"fmt"
	"strings"

	"github.com/loomml/loom/dtype"
)

// A QuantMix is one of llama.cpp's file types (llama_ftype) that loom
// quantises to: a default type for the weight matrices, and llama.cpp's
// rules for the tensors that get another (llama_tensor_get_type in
// llama.cpp's src/llama-quant.cpp, followed here for the mixes listed, for
// models without experts and without an importance matrix).
type QuantMix struct {
	Name     string      // as llama-quantize spells it: "Q4_K_M"
	FileType int         // general.file_type (llama_ftype)
	Default  dtype.DType // the type of most matrices
}

// QuantMixes are the mixes loom writes.
var QuantMixes = []QuantMix{
	{"Q4_K_M", 15, dtype.Q4_K},
	{"Q5_K_M", 17, dtype.Q5_K},
	{"Q6_K", 18, dtype.Q6_K},
	{"Q8_0", 7, dtype.Q8_0},
	{"Q4_0", 2, dtype.Q4_0},
}

// ParseQuantMix returns the mix named s, in any case ("q4_k_m").
func ParseQuantMix(s string) (QuantMix, error) {
	var names []string
	for _, q := range QuantMixes {
		if strings.EqualFold(q.Name, s) {
			return q, nil
		}
		names = append(names, strings.ToLower(q.Name))
	}
	return QuantMix{}, fmt.Errorf("unknown quantisation %q: want one of %s", s, strings.Join(names, ", "))
}

// QuantTensor describes a tensor of a GGUF file, in the file's order, for
// QuantMix.Types: its name and shape (ne[0], the row length, first).
type QuantTensor struct {
	Name  string
	Shape []int
}

// Types returns the type llama.cpp's quantiser gives each tensor of a model
// in mix q: nil for a tensor that stays as it is (1-D tensors, norms, and
// anything whose name does not end in "weight"). The rules, for these
// mixes:
//   - output.weight, or token_embd.weight when there is no output.weight
//     (tied embeddings): Q6_K (Q8_0 in a Q8_0 file, and when its rows are
//     not a whole number of the default type's blocks);
//   - attn_v.weight (and fused attn_qkv) in Q4_K_M and Q5_K_M: Q6_K in the
//     layers use_more_bits picks (the first and last eighth, and every
//     third layer between), counting attn_v tensors in file order; fused
//     attn_qkv: Q5_K in Q4_K_M, Q6_K in Q5_K_M;
//   - ffn_down.weight in Q4_K_M and Q5_K_M: Q6_K in the layers
//     use_more_bits picks;
//   - then a row length that is not a whole number of the chosen type's
//     blocks falls back: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, and to F16
//     when even that does not fit.
func (q QuantMix) Types(tensors []QuantTensor) []dtype.DType {
	tied := true
	nV, nDown := 0, 0
	for _, t := range tensors {
		switch {
		case t.Name == "output.weight":
			tied = false
		case strings.Contains(t.Name, "attn_v.weight"), strings.Contains(t.Name, "attn_qkv.weight"):
			nV++
		case strings.Contains(t.Name, "ffn_down"):
			nDown++
		}
	}
	km := q.Name == "Q4_K_M" || q.Name == "Q5_K_M"
	out := make([]dtype.DType, len(tensors))
	iV, iDown := 0, 0
	for i, t := range tensors {
		if !quantisable(t) {
			continue
		}
		typ := q.Default
		ncols := t.Shape[0]
		switch {
		case t.Name == "output.weight" || tied && t.Name == "token_embd.weight":
			if ncols%q.Default.Info().Block != 0 {
				typ = dtype.Q8_0
			} else if typ != dtype.Q8_0 {
				typ = dtype.Q6_K
			}
		case strings.Contains(t.Name, "attn_qkv.weight"):
			if q.Name == "Q4_K_M" {
				typ = dtype.Q5_K
			} else if q.Name == "Q5_K_M" {
				typ = dtype.Q6_K
			}
			iV++
		case strings.Contains(t.Name, "attn_v.weight"):
			if km && useMoreBits(iV, nV) {
				typ = dtype.Q6_K
			}
			iV++
		case strings.Contains(t.Name, "ffn_down"):
			if km && useMoreBits(iDown, nDown) {
				typ = dtype.Q6_K
			}
			iDown++
		}
		out[i] = quantFallback(typ, ncols)
	}
	return out
}

// quantisable reports whether llama.cpp quantises t (tensor_allows_quantization
// for a llama-style model): a matrix whose name ends in "weight" and is not
// a norm's.
func quantisable(t QuantTensor) bool {
	return len(t.Shape) >= 2 && strings.HasSuffix(t.Name, "weight") && !strings.Contains(t.Name, "_norm.weight") &&
		t.Name != "position_embd.weight" && t.Name != "token_types.weight"
}

// useMoreBits is llama.cpp's choice of the layers that get more bits: the
// first and last eighth, and every third layer between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// quantFallback is llama.cpp's tensor_type_fallback: the type a tensor with
// rows of ncols values gets when typ's blocks do not divide them.
func quantFallback(typ dtype.DType, ncols int) dtype.DType {
	if ncols%typ.Info().Block == 0 {
		return typ
	}
	switch typ {
	case dtype.Q2_K, dtype.Q3_K:
		typ = dtype.Q4_0
	case dtype.Q4_K:
		typ = dtype.Q5_0
	case dtype.Q5_K:
		typ = dtype.Q5_1
	case dtype.Q6_K:
		typ = dtype.Q8_0
	}
	if ncols%typ.Info().Block != 0 {
		return dtype.Float16
	}
	return typ
}
