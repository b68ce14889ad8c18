// Package kquant quantises a model's weight matrices in memory to ggml's
// block types (q4_K, q6_K, q8_0 …; package quant's reference quantisers,
// bit for bit llama.cpp's), so that its forward passes run loom's quantised
// kernels exactly as a model loaded from a GGUF file in those types does:
// a weight whose type has a kernel format is held packed (tensor.Pack) and
// products read it as it is, on activations rounded to the type's
// activation format (Q8_K for the k-quants, q8_0 or q8_1 for the legacy
// blocks: kernels.GemmLowT); a type without one (q2_K, q3_K) is widened to
// float32 and the layer's inputs rounded the same way (as convert's loader
// does for such files).
//
// Encoder applies one of llama.cpp's file types (convert.QuantMix:
// Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0) to an encoder, naming its tensors as
// llama.cpp's BERT does so that llama_tensor_get_type's rules (the mix's
// Types) choose each one's type:
//
//   - the layers' query, key, value and output projections and the FFN's
//     up and down projections are blk.N.attn_q, attn_k, attn_v,
//     attn_output, ffn_up and ffn_down: the mix's type, with Q4_K_M's and
//     Q5_K_M's Q6_K for attn_v and ffn_down in the layers use_more_bits
//     picks (the first and last eighth and every third layer between);
//   - the word embeddings are token_embd; an encoder has no output matrix,
//     so llama.cpp treats the table as tied: Q6_K (Q8_0 when its rows are
//     not whole super-blocks);
//   - BERT's pooler and the classifier are cls and cls.output: the mix's
//     type;
//   - position and token-type embeddings, norms, biases and an AST's patch
//     projection (4-D) stay float32;
//   - a row length that is not a whole number of the chosen type's blocks
//     falls back as llama.cpp's does (Q4_K → Q5_0, Q6_K → Q8_0, then f16).
//
// Survey context: "A Survey of Techniques for Optimizing Transformer
// Inference" (arXiv 2307.07982), post-training quantisation.
package kquant

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/quant"
	"github.com/loomml/loom/tensor"
)

// Tensor is one weight to quantise.
type Tensor struct {
	// GGUF is the name llama.cpp gives the tensor's role
	// ("blk.0.attn_v.weight"); the mix's rules read it.
	GGUF  string
	Param *autograd.Var
	// Linear is the layer whose weight Param is (nil for an embedding
	// table): its packed copies are dropped and, for a type without a
	// kernel, its inputs rounded.
	Linear *nn.Linear
}

// Entry is one tensor's result.
type Entry struct {
	Name  string      `json:"name"` // the checkpoint name
	GGUF  string      `json:"gguf"`
	Type  dtype.DType `json:"-"`
	TName string      `json:"type"` // the type's name, "f32" when left
	Rows  int         `json:"rows"`
	Cols  int         `json:"cols"`
	Bytes int64       `json:"bytes"` // in its type
}

// Report describes a quantisation.
type Report struct {
	Mix     string  `json:"mix"`
	Tensors []Entry `json:"tensors"`
	// Bytes are the quantised tensors' bytes in their types, Float32Bytes
	// the same tensors as float32.
	Bytes, Float32Bytes int64
	// ModelBytes are all the model's parameters' bytes as a GGUF file
	// holds them: the quantised tensors in their types, the rest float32
	// (0 when the report is of a list of layers).
	ModelBytes int64
}

// Types summarises the types chosen: "q4_k ×10, q6_k ×3, f32 ×2".
func (r *Report) Types() string {
	var order []string
	n := map[string]int{}
	for _, e := range r.Tensors {
		if n[e.TName] == 0 {
			order = append(order, e.TName)
		}
		n[e.TName]++
	}
	parts := make([]string, len(order))
	for i, t := range order {
		parts[i] = t + " ×" + strconv.Itoa(n[t])
	}
	return strings.Join(parts, ", ")
}

// Quantize quantises each tensor ts[i] in place to types[i] (0: left as
// it is). Every tensor must be a float32 matrix whose rows fit the type's
// blocks; nothing is changed when one does not.
func Quantize(ts []Tensor, types []dtype.DType) (*Report, error) {
	if len(ts) != len(types) {
		return nil, fmt.Errorf("kquant: %d tensors and %d types", len(ts), len(types))
	}
	for i, t := range ts {
		v := t.Param.Value
		if v.DType() != tensor.Float32 || len(v.Shape()) != 2 {
			return nil, fmt.Errorf("kquant: %s is a %v tensor %v, want a float32 matrix (quantise a float model)", t.Param.Name, v.DType(), v.Shape())
		}
		if typ := types[i]; typ != 0 && typ != tensor.Float32 {
			if _, err := typ.RowBytes(v.Dim(1)); err != nil {
				return nil, fmt.Errorf("kquant: %s (%s): %v", t.Param.Name, t.GGUF, err)
			}
			if typ.Info().Block > 1 && !quant.Supported(typ) {
				return nil, fmt.Errorf("kquant: %s: type %v is not one loom quantises to", t.Param.Name, typ)
			}
		}
	}
	r := &Report{}
	for i, t := range ts {
		v := t.Param.Value
		rows, cols := v.Dim(0), v.Dim(1)
		typ := types[i]
		if typ == 0 {
			typ = tensor.Float32
		}
		rb, _ := typ.RowBytes(cols)
		e := Entry{Name: t.Param.Name, GGUF: t.GGUF, Type: typ, TName: typ.Info().Name, Rows: rows, Cols: cols, Bytes: int64(rows * rb)}
		r.Tensors = append(r.Tensors, e)
		if typ == tensor.Float32 {
			continue
		}
		r.Bytes += e.Bytes
		r.Float32Bytes += int64(4 * rows * cols)
		if t.Linear != nil {
			t.Linear.Unpack()
			t.Linear.Unpack24()
			t.Linear.RoundInputs(nil)
		}
		if typ.Packed() {
			t.Param.Value = tensor.Pack(v.Contiguous(), typ)
			continue
		}
		// No kernel format: the dequantised values in float32, the
		// inputs rounded as ggml's product with the blocks rounds them.
		raw, err := quant.Quantize(typ, v.Contiguous().F32())
		if err != nil {
			return nil, fmt.Errorf("kquant: %s: %v", t.Param.Name, err)
		}
		w := make([]float32, rows*cols)
		if err := quant.Dequantize(typ, raw, w); err != nil {
			return nil, fmt.Errorf("kquant: %s: %v", t.Param.Name, err)
		}
		t.Param.Value = tensor.FromFloat32(w, rows, cols)
		if t.Linear != nil {
			t.Linear.RoundInputs(func(x []float32) { quant.RoundActivations(typ, x) })
		}
	}
	return r, nil
}

// Linears quantises the weights of the layers ls to one type t (their
// biases stay float32).
func Linears(ls []*nn.Linear, t dtype.DType) (*Report, error) {
	ts := make([]Tensor, len(ls))
	types := make([]dtype.DType, len(ls))
	for i, l := range ls {
		ts[i] = Tensor{GGUF: l.Weight.Name, Param: l.Weight, Linear: l}
		types[i] = t
	}
	r, err := Quantize(ts, types)
	if r != nil {
		r.Mix = t.Info().Name
	}
	return r, err
}

// Encoder quantises m's weight matrices in place to the llama.cpp file
// type mix ("q4_K_M", "q5_K_M", "q6_K", "q8_0", "q4_0"; any case), each
// tensor's type chosen by llama.cpp's rules under its llama.cpp name
// (EncoderTensors; see the package comment). m must be a float32 model.
func Encoder(m *encoder.Model, mix string) (*Report, error) {
	q, err := convert.ParseQuantMix(mix)
	if err != nil {
		return nil, fmt.Errorf("kquant: %v", err)
	}
	ts, err := EncoderTensors(m)
	if err != nil {
		return nil, err
	}
	qt := make([]convert.QuantTensor, len(ts))
	for i, t := range ts {
		v := t.Param.Value
		qt[i] = convert.QuantTensor{Name: t.GGUF, Shape: []int{v.Dim(v.NDim() - 1), v.Dim(0)}}
	}
	before := ParamBytes(m.Params())
	r, err := Quantize(ts, q.Types(qt))
	if err != nil {
		return nil, err
	}
	r.Mix = q.Name
	r.ModelBytes = before - r.Float32Bytes + r.Bytes
	return r, nil
}

// EncoderTensors lists m's weight matrices under llama.cpp's names for a
// BERT (token_embd, position_embd, token_types, blk.N.attn_q … ffn_down,
// cls, cls.output), in a GGUF file's order. A linear layer inside an
// encoder layer that is none of the six known projections keeps its
// checkpoint name under blk.N (no rule applies to it). It returns an error
// for a model holding no matrix in its layers.
func EncoderTensors(m *encoder.Model) ([]Tensor, error) {
	var ts []Tensor
	if e, ok := m.Embed.(*encoder.TextEmbeddings); ok {
		for _, x := range []struct {
			name string
			e    *nn.Embedding
		}{{"token_embd.weight", e.Word}, {"position_embd.weight", e.Position}, {"token_types.weight", e.TokenType}} {
			if x.e != nil {
				ts = append(ts, Tensor{GGUF: x.name, Param: x.e.Weight})
			}
		}
	}
	blocks := 0
	for i, b := range m.Layers {
		nn.Walk(b, func(n *nn.Node) error {
			l, ok := n.Module.(*nn.Linear)
			if !ok || l == nil || l.Weight == nil {
				return nil
			}
			ts = append(ts, Tensor{GGUF: "blk." + strconv.Itoa(i) + "." + role(l.Weight.Name), Param: l.Weight, Linear: l})
			blocks++
			return nil
		})
	}
	if blocks == 0 {
		return nil, fmt.Errorf("kquant: the encoder (%s) has no linear layers in its layers to quantise", m.Config.Architecture())
	}
	if m.Pooler != nil && m.Pooler.Dense != nil {
		ts = append(ts, Tensor{GGUF: "cls.weight", Param: m.Pooler.Dense.Weight, Linear: m.Pooler.Dense})
	}
	switch h := m.Head.(type) {
	case *encoder.Classifier:
		ts = append(ts, Tensor{GGUF: "cls.output.weight", Param: h.Dense.Weight, Linear: h.Dense})
	case *encoder.MLMHead:
		ts = append(ts, Tensor{GGUF: h.Transform.Weight.Name, Param: h.Transform.Weight, Linear: h.Transform})
	}
	return ts, nil
}

// role returns llama.cpp's name for a linear weight of an encoder layer
// from its checkpoint name (BERT's and AST's), or the name itself.
func role(name string) string {
	switch {
	case strings.HasSuffix(name, ".query.weight"):
		return "attn_q.weight"
	case strings.HasSuffix(name, ".key.weight"):
		return "attn_k.weight"
	case strings.HasSuffix(name, ".value.weight"):
		return "attn_v.weight"
	case strings.HasSuffix(name, "attention.output.dense.weight"):
		return "attn_output.weight"
	case strings.HasSuffix(name, "intermediate.dense.weight"):
		return "ffn_up.weight"
	case strings.HasSuffix(name, "output.dense.weight"):
		return "ffn_down.weight"
	}
	return name
}

// ParamBytes returns the bytes the parameters ps hold in memory: a packed
// tensor its raw bytes, any other its elements' size in its dtype (a
// weight widened from a type without a kernel counts as float32).
func ParamBytes(ps []*autograd.Var) int64 {
	var n int64
	for _, p := range ps {
		v := p.Value
		if v.DType().Packed() {
			n += int64(len(v.Raw()))
		} else {
			n += int64(v.Numel()) * int64(v.DType().Info().BlockBytes)
		}
	}
	return n
}
