package convert

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// GGUF export and import of the architectures llama.cpp runs besides
// llama: qwen3, gpt2, phi3, gemma2 and gemma3 (text). Each is written as
// llama.cpp's converter writes it (convert_hf_to_gguf.py and its
// conversion/ modules: Qwen3Model, GPT2Model, Phi3MiniModel, Gemma2Model,
// Gemma3Model; names from gguf-py's constants.py and tensor_mapping.py)
// and read as llama.cpp's loader reads it (src/llama-model.cpp's common
// hyperparameters, src/models/<arch>.cpp's load_arch_hparams,
// load_arch_tensors and graph). Differences from the llama architecture:
//
//   - no rotary permutation of q and k: these architectures use NEOX
//     (rotate-half) rotary embeddings, Hugging Face's own layout
//     (llama_model_rope_type);
//   - Gemma's norm gains are stored as 1+w (Gemma2Model.modify_tensors,
//     Gemma3Model.norm_shift: Gemma's RMSNorm multiplies by 1+w, llama.cpp's
//     by the gain);
//   - fused tensors: GPT-2's and Phi-3's attn_qkv (q, k, v stacked by
//     rows) and Phi-3's ffn_up (gate then up, which llama.cpp's SWIGLU
//     splits in halves); GPT-2's Conv1D weights are stored [out, in] like
//     every other matrix (GPT2Model.modify_tensors transposes them; loom
//     holds them so already).

// A ggufArchTensor is one tensor of a GGUF architecture: its name and the
// loom parameters it holds, stacked along the first dimension in order
// ("{i}" is the layer).
type ggufArchTensor struct {
	gguf string
	loom []string
}

// A ggufArch is one of llama.cpp's architectures loom writes and reads.
type ggufArch struct {
	// name is general.architecture; modelType is loom's (Hugging Face's)
	// model_type.
	name, modelType string
	tensors         []ggufArchTensor
	// normShift is added to every RMSNorm gain on export (subtracted on
	// import): 1 for Gemma.
	normShift float32
	// check refuses a model llama.cpp would compute differently.
	check func(c *decoder.Config) error
	// keys returns the architecture's metadata (without the "<arch>."
	// prefix) and extra tensors (Phi-3's rope factors).
	keys func(c *decoder.Config) ([]ggufKV, []ggufExtra, error)
	// config builds the Hugging Face config.json the file stands for.
	config func(r *ggufMeta) (map[string]any, error)
}

type ggufKV struct {
	k string
	v any
}

type ggufExtra struct {
	name string
	v    []float32
}

// Per-layer tensor tables.
var (
	ggufEmbed = []ggufArchTensor{
		{"token_embd.weight", []string{"model.embed_tokens.weight"}},
		{"output_norm.weight", []string{"model.norm.weight"}},
		{"output.weight", []string{"lm_head.weight"}},
		{"blk.{i}.attn_norm.weight", []string{"model.layers.{i}.input_layernorm.weight"}},
		{"blk.{i}.attn_output.weight", []string{"model.layers.{i}.self_attn.o_proj.weight"}},
		{"blk.{i}.ffn_down.weight", []string{"model.layers.{i}.mlp.down_proj.weight"}},
	}
	ggufSeparateQKV = []ggufArchTensor{
		{"blk.{i}.attn_q.weight", []string{"model.layers.{i}.self_attn.q_proj.weight"}},
		{"blk.{i}.attn_k.weight", []string{"model.layers.{i}.self_attn.k_proj.weight"}},
		{"blk.{i}.attn_v.weight", []string{"model.layers.{i}.self_attn.v_proj.weight"}},
		{"blk.{i}.ffn_gate.weight", []string{"model.layers.{i}.mlp.gate_proj.weight"}},
		{"blk.{i}.ffn_up.weight", []string{"model.layers.{i}.mlp.up_proj.weight"}},
	}
	ggufQKNorm = []ggufArchTensor{
		{"blk.{i}.attn_q_norm.weight", []string{"model.layers.{i}.self_attn.q_norm.weight"}},
		{"blk.{i}.attn_k_norm.weight", []string{"model.layers.{i}.self_attn.k_norm.weight"}},
	}
	// Gemma's four norms per layer (tensor_mapping.py: post_attention_layernorm
	// is ATTN_POST_NORM, pre_feedforward_layernorm FFN_NORM,
	// post_feedforward_layernorm FFN_POST_NORM).
	ggufGemmaNorms = []ggufArchTensor{
		{"blk.{i}.post_attention_norm.weight", []string{"model.layers.{i}.post_attention_layernorm.weight"}},
		{"blk.{i}.ffn_norm.weight", []string{"model.layers.{i}.pre_feedforward_layernorm.weight"}},
		{"blk.{i}.post_ffw_norm.weight", []string{"model.layers.{i}.post_feedforward_layernorm.weight"}},
	}
	ggufFFNNorm = []ggufArchTensor{
		{"blk.{i}.ffn_norm.weight", []string{"model.layers.{i}.post_attention_layernorm.weight"}},
	}
)

func qkv(suffix string) []string {
	return []string{"model.layers.{i}.self_attn.q_proj." + suffix, "model.layers.{i}.self_attn.k_proj." + suffix, "model.layers.{i}.self_attn.v_proj." + suffix}
}

// ggufArchs are the architectures by general.architecture.
var ggufArchs = map[string]*ggufArch{}

// ggufArchOf returns the architecture of a loom model_type (nil for llama
// and mistral, which export as llama).
func ggufArchOf(modelType string) *ggufArch {
	for _, a := range ggufArchs {
		if a.modelType == modelType {
			return a
		}
	}
	return nil
}

func init() {
	for _, a := range []*ggufArch{
		{name: "qwen3", modelType: "qwen3", tensors: slices.Concat(ggufEmbed, ggufSeparateQKV, ggufQKNorm, ggufFFNNorm),
			check: checkQwen3, keys: qwen3Keys, config: qwen3Config},
		{name: "gemma2", modelType: "gemma2", tensors: slices.Concat(ggufEmbed, ggufSeparateQKV, ggufGemmaNorms), normShift: 1,
			check: checkGemma, keys: gemmaKeys, config: gemmaConfig},
		{name: "gemma3", modelType: "gemma3_text", tensors: slices.Concat(ggufEmbed, ggufSeparateQKV, ggufQKNorm, ggufGemmaNorms), normShift: 1,
			check: checkGemma, keys: gemmaKeys, config: gemmaConfig},
		{name: "phi3", modelType: "phi3", tensors: slices.Concat(ggufEmbed, ggufFFNNorm, []ggufArchTensor{
			{"blk.{i}.attn_qkv.weight", qkv("weight")},
			{"blk.{i}.ffn_up.weight", []string{"model.layers.{i}.mlp.gate_proj.weight", "model.layers.{i}.mlp.up_proj.weight"}},
		}), check: checkPhi3, keys: phi3Keys, config: phi3Config},
		{name: "gpt2", modelType: "gpt2", tensors: slices.Concat(ggufEmbed, ggufFFNNorm, []ggufArchTensor{
			{"position_embd.weight", []string{"model.embed_positions.weight"}},
			{"output_norm.bias", []string{"model.norm.bias"}},
			{"blk.{i}.attn_norm.bias", []string{"model.layers.{i}.input_layernorm.bias"}},
			{"blk.{i}.attn_qkv.weight", qkv("weight")},
			{"blk.{i}.attn_qkv.bias", qkv("bias")},
			{"blk.{i}.attn_output.bias", []string{"model.layers.{i}.self_attn.o_proj.bias"}},
			{"blk.{i}.ffn_norm.bias", []string{"model.layers.{i}.post_attention_layernorm.bias"}},
			{"blk.{i}.ffn_up.weight", []string{"model.layers.{i}.mlp.up_proj.weight"}},
			{"blk.{i}.ffn_up.bias", []string{"model.layers.{i}.mlp.up_proj.bias"}},
			{"blk.{i}.ffn_down.bias", []string{"model.layers.{i}.mlp.down_proj.bias"}},
		}), check: checkGPT2, keys: gpt2Keys, config: gpt2Config},
	} {
		ggufArchs[a.name] = a
	}
}

// GGUFArchitectures lists the general.architecture values loom writes and
// reads: llama and the others of ggufArchs.
func GGUFArchitectures() []string {
	out := []string{"llama"}
	for k := range ggufArchs {
		out = append(out, k)
	}
	slices.Sort(out[1:])
	return out
}

// layerTensors expands the table for n layers: GGUF name → loom names.
func (a *ggufArch) layerTensors(n int) ([]string, map[string][]string) {
	var order []string
	out := map[string][]string{}
	for _, t := range a.tensors {
		layers := []int{-1}
		if strings.Contains(t.gguf, "{i}") {
			layers = make([]int, n)
			for i := range layers {
				layers[i] = i
			}
		}
		for _, i := range layers {
			at := func(s string) string { return strings.ReplaceAll(s, "{i}", strconv.Itoa(i)) }
			g := at(t.gguf)
			order = append(order, g)
			for _, l := range t.loom {
				out[g] = append(out[g], at(l))
			}
		}
	}
	return order, out
}

// shifted reports whether a loom parameter's values are stored shifted by
// a.normShift (a norm gain of a Gemma model).
func (a *ggufArch) shifted(loom string) bool {
	return a.normShift != 0 && strings.HasSuffix(loom, "norm.weight")
}

// ggufParams returns m's parameters as a GGUF file of its architecture
// holds them, named as llama.cpp names them: for llama, q and k rows
// permuted to llama.cpp's interleaved rotary layout (permuteRows); for the
// others of ggufArchs, fused and shifted as the converter writes them.
// Removed sublayers are zero weights (FullParams).
func ggufParams(m *decoder.Model) ([]*autograd.Var, error) {
	c := m.Config
	params, _, err := m.FullParams()
	if err != nil {
		return nil, err
	}
	a := ggufArchOf(c.ModelType)
	if a == nil {
		out := make([]*autograd.Var, 0, len(params))
		experts := map[string][]*autograd.Var{} // stacked tensor → its experts' parameters
		slot := map[int]string{}                // place in out → stacked tensor
		for _, p := range params {
			if g, e := ggufExpert(p.Name); g != "" {
				if len(experts[g]) != e {
					return nil, fmt.Errorf("convert: expert parameter %s out of order", p.Name)
				}
				if experts[g] = append(experts[g], p); e == 0 {
					slot[len(out)] = g
					out = append(out, nil) // stacked below
				}
				continue
			}
			g := GGUFName(p.Name)
			if g == "" {
				return nil, fmt.Errorf("convert: parameter %s has no llama.cpp name", p.Name)
			}
			v := p.Value
			if heads, ok := ropePermuted(c, p.Name); ok {
				rows := p.Dim(0)
				if v.DType().Packed() { // whole rows of blocks: permuted as they are, nothing requantised
					raw := v.Raw()
					pv, err := tensor.FromPacked(v.DType(), permuteRows(raw, rows, len(raw)/rows, heads, true), p.Shape()...)
					if err != nil {
						return nil, err
					}
					v = pv
				} else {
					f := v.To(tensor.Float32).Contiguous().F32()
					v = tensor.FromFloat32(permuteRows(f, rows, len(f)/rows, heads, true), p.Shape()...)
				}
			}
			out = append(out, autograd.NewParam(g, p.Role, v))
		}
		for i, g := range slot {
			t, err := stackExperts(experts[g])
			if err != nil {
				return nil, err
			}
			out[i] = autograd.NewParam(g, experts[g][0].Role, t)
		}
		return out, nil
	}
	byName := map[string]*autograd.Var{}
	for _, p := range params {
		byName[p.Name] = p
	}
	used := map[string]bool{}
	order, parts := a.layerTensors(c.NumHiddenLayers)
	var out []*autograd.Var
	for _, g := range order {
		var ts []*tensor.Tensor
		var role autograd.Role
		for _, l := range parts[g] {
			p, ok := byName[l]
			if !ok {
				continue
			}
			used[l] = true
			role = p.Role
			t := p.Value
			if a.shifted(l) {
				f := slices.Clone(t.To(tensor.Float32).Contiguous().F32())
				for i := range f {
					f[i] += a.normShift
				}
				t = tensor.FromFloat32(f, t.Shape()...)
			}
			ts = append(ts, t)
		}
		switch {
		case len(ts) == 0: // an untied head, biases the model lacks
			continue
		case len(ts) != len(parts[g]):
			return nil, fmt.Errorf("convert: %s: llama.cpp's %s tensor %s needs all of %s", c.ModelType, a.name, g, strings.Join(parts[g], ", "))
		case len(ts) > 1 && packedAlike(ts):
			// Rows of blocks joined as they are (a model loaded from a
			// quantised file writes its blocks back unchanged).
			var raw []byte
			rows := 0
			for _, t := range ts {
				raw = append(raw, t.Raw()...)
				rows += t.Dim(0)
			}
			j, err := tensor.FromPacked(ts[0].DType(), raw, rows, ts[0].Dim(1))
			if err != nil {
				return nil, err
			}
			ts[0] = j
		case len(ts) > 1:
			for i := range ts {
				ts[i] = ts[i].To(tensor.Float32)
			}
			ts[0] = tensor.Concat(0, ts...)
		}
		if g == "position_embd.weight" {
			// float32 in every file type, as the converter's
			// prepare_tensors and llama.cpp's quantiser keep POS_EMBD.
			role = autograd.RoleOther
		}
		out = append(out, autograd.NewParam(g, role, ts[0]))
	}
	for _, p := range params {
		if !used[p.Name] {
			return nil, fmt.Errorf("convert: parameter %s has no place in llama.cpp's %s architecture", p.Name, a.name)
		}
	}
	return out, nil
}

// stackExperts stacks the experts' matrices ps [rows, cols] into one
// [E, rows, cols] tensor: blocks joined as they are when all are held in
// one packed type (a model loaded from a quantised file), float32
// otherwise.
func stackExperts(ps []*autograd.Var) (*tensor.Tensor, error) {
	ts := make([]*tensor.Tensor, len(ps))
	for i, p := range ps {
		if ts[i] = p.Value; !tensor.EqualShape(p.Shape(), ps[0].Shape()) || p.Value.NDim() != 2 {
			return nil, fmt.Errorf("convert: expert %s has shape %v, the first expert %v", p.Name, p.Shape(), ps[0].Shape())
		}
	}
	shape := append([]int{len(ts)}, ts[0].Shape()...)
	if packedAlike(ts) {
		var raw []byte
		for _, t := range ts {
			raw = append(raw, t.Raw()...)
		}
		return tensor.FromPacked(ts[0].DType(), raw, shape...)
	}
	var f []float32
	for _, t := range ts {
		f = append(f, t.To(tensor.Float32).Contiguous().F32()...)
	}
	return tensor.FromFloat32(f, shape...), nil
}

// packedAlike reports whether ts are 2-D matrices of one packed dtype and
// row length.
func packedAlike(ts []*tensor.Tensor) bool {
	for _, t := range ts {
		if !t.DType().Packed() || t.NDim() != 2 || t.DType() != ts[0].DType() || t.Dim(1) != ts[0].Dim(1) {
			return false
		}
	}
	return true
}

// ggufHParams returns the metadata and extra tensors of c's architecture
// (general.architecture first).
func ggufHParams(c *decoder.Config) ([]ggufKV, []ggufExtra, error) {
	a := ggufArchOf(c.ModelType)
	if a == nil {
		return llamaKeys(c)
	}
	if err := c.CheckExport(decoder.HF); err != nil {
		return nil, nil, fmt.Errorf("convert: %w", err)
	}
	if err := a.check(c); err != nil {
		return nil, nil, fmt.Errorf("convert: llama.cpp's %s architecture (GGUF) cannot express the model: %w", a.name, err)
	}
	kvs, extra, err := a.keys(c)
	if err != nil {
		return nil, nil, err
	}
	out := []ggufKV{{"general.architecture", a.name}}
	for _, kv := range kvs {
		out = append(out, ggufKV{a.name + "." + kv.k, kv.v})
	}
	return out, extra, nil
}

// llamaKeys are the llama.* metadata (llama.cpp's LlamaModel), with
// Llama 3.1's rope_freqs tensor.
func llamaKeys(c *decoder.Config) ([]ggufKV, []ggufExtra, error) {
	if err := c.CheckExport(decoder.GGUF); err != nil {
		return nil, nil, fmt.Errorf("convert: %w", err)
	}
	hd := c.HeadDimOrDefault()
	kv := []ggufKV{
		{"general.architecture", "llama"},
		{"llama.vocab_size", uint32(c.VocabSize)},
		{"llama.context_length", uint32(c.MaxPositionEmbeddings)},
		{"llama.embedding_length", uint32(c.HiddenSize)},
		{"llama.block_count", uint32(c.NumHiddenLayers)},
		{"llama.feed_forward_length", uint32(c.IntermediateSize)},
		{"llama.rope.dimension_count", uint32(hd)},
		{"llama.attention.head_count", uint32(c.NumAttentionHeads)},
		{"llama.attention.head_count_kv", uint32(c.KVHeads())},
		{"llama.attention.key_length", uint32(hd)},
		{"llama.attention.value_length", uint32(hd)},
		{"llama.rope.freq_base", float32(c.RopeTheta)},
		{"llama.attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
	}
	if c.MoE() { // Mixtral: LlamaModel.set_gguf_parameters
		kv = append(kv, ggufKV{"llama.expert_count", uint32(c.NumExperts)}, ggufKV{"llama.expert_used_count", uint32(c.NumExpertsPerTok)})
	}
	var extra []ggufExtra
	if r := c.RopeScaling; r != nil {
		switch r.Kind() {
		case "linear":
			kv = append(kv, ggufKV{"llama.rope.scaling.type", "linear"}, ggufKV{"llama.rope.scaling.factor", float32(r.Factor)})
		case "llama3":
			// llama.cpp divides each base frequency by rope_freqs.
			base := tensor.RopeInvFreq(hd, c.RopeTheta)
			scaled := c.RopeInvFreq()
			f := make([]float32, len(base))
			for i := range f {
				f[i] = float32(float64(base[i]) / float64(scaled[i]))
			}
			extra = append(extra, ggufExtra{"rope_freqs.weight", f})
		}
	}
	return kv, extra, nil
}

// common are the keys TextModel.set_gguf_parameters writes for every
// architecture with RMSNorm.
func commonKeys(c *decoder.Config) []ggufKV {
	return []ggufKV{
		{"context_length", uint32(c.MaxPositionEmbeddings)},
		{"embedding_length", uint32(c.HiddenSize)},
		{"block_count", uint32(c.NumHiddenLayers)},
		{"feed_forward_length", uint32(c.IntermediateSize)},
		{"attention.head_count", uint32(c.NumAttentionHeads)},
		{"attention.head_count_kv", uint32(c.KVHeads())},
	}
}

func headKeys(c *decoder.Config) []ggufKV {
	hd := uint32(c.HeadDimOrDefault())
	return []ggufKV{{"attention.key_length", hd}, {"attention.value_length", hd}}
}

// tanhGELU: llama.cpp's LLM_FFN_GELU is ggml_gelu, the tanh approximation.
func tanhGELU(c *decoder.Config) error {
	if c.HiddenAct != "gelu_new" && c.HiddenAct != "gelu_pytorch_tanh" {
		return fmt.Errorf("hidden_act is %q; llama.cpp's GELU is the tanh approximation (gelu_new, gelu_pytorch_tanh)", c.HiddenAct)
	}
	return nil
}

// linearRope writes rope_scaling "linear" (TextModel.set_gguf_parameters)
// and refuses any other kind.
func linearRope(c *decoder.Config) ([]ggufKV, error) {
	r := c.RopeScaling
	if r == nil || r.Kind() == "" || r.Kind() == "default" {
		return nil, nil
	}
	if r.Kind() != "linear" {
		return nil, fmt.Errorf("rope_scaling %q: llama.cpp's %s reads only linear scaling", r.Kind(), c.ModelType)
	}
	return []ggufKV{{"rope.scaling.type", "linear"}, {"rope.scaling.factor", float32(r.Factor)}}, nil
}

// checkQwen3 follows src/models/qwen3.cpp: q/k/v without biases or with
// them (but never an o_proj bias, which Qwen3's attention_bias brings), no
// MLP biases, no sliding window, SiLU.
func checkQwen3(c *decoder.Config) error {
	switch {
	case c.AttentionBias || c.MLPBias:
		return fmt.Errorf("attention_bias/mlp_bias: llama.cpp's qwen3 has no o_proj or MLP biases")
	case c.Window() > 0 && c.Window() < c.MaxPositionEmbeddings:
		return fmt.Errorf("sliding_window %d: llama.cpp's qwen3 has no sliding window", c.Window())
	case c.HiddenAct != "silu":
		return fmt.Errorf("hidden_act is %q, llama.cpp's qwen3 uses silu", c.HiddenAct)
	}
	_, err := linearRope(c)
	return err
}

// qwen3Keys are Qwen3Model's (TextModel.set_gguf_parameters).
func qwen3Keys(c *decoder.Config) ([]ggufKV, []ggufExtra, error) {
	kv := slices.Concat(commonKeys(c), []ggufKV{
		{"rope.freq_base", float32(c.RopeTheta)},
		{"attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
	}, headKeys(c))
	r, err := linearRope(c)
	return append(kv, r...), nil, err
}

// checkGPT2 follows src/models/gpt2.cpp (LayerNorm with biases, learned
// positions, fused qkv with bias, tanh GELU MLP with biases).
func checkGPT2(c *decoder.Config) error { return tanhGELU(c) }

// gpt2Keys are GPT2Model.set_gguf_parameters' (feed_forward_length
// written as loom's intermediate size, which the converter assumes to be
// 4·n_embd, GPT-2's n_inner default).
func gpt2Keys(c *decoder.Config) ([]ggufKV, []ggufExtra, error) {
	return []ggufKV{
		{"block_count", uint32(c.NumHiddenLayers)},
		{"context_length", uint32(c.MaxPositionEmbeddings)},
		{"embedding_length", uint32(c.HiddenSize)},
		{"feed_forward_length", uint32(c.IntermediateSize)},
		{"attention.head_count", uint32(c.NumAttentionHeads)},
		{"attention.layer_norm_epsilon", float32(c.RMSNormEps)},
	}, nil, nil
}

// checkPhi3 follows src/models/phi3.cpp: head_dim = n_embd/n_head (the
// file has no key_length), SwiGLU, rope_scaling none or longrope.
func checkPhi3(c *decoder.Config) error {
	if c.HeadDimOrDefault()*c.NumAttentionHeads != c.HiddenSize {
		return fmt.Errorf("head_dim %d: llama.cpp's phi3 takes hidden_size/num_attention_heads = %d", c.HeadDimOrDefault(), c.HiddenSize/c.NumAttentionHeads)
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("hidden_act is %q, llama.cpp's phi3 uses silu", c.HiddenAct)
	}
	if r := c.RopeScaling; r != nil && r.Kind() != "" && r.Kind() != "default" && r.Kind() != "longrope" {
		return fmt.Errorf("rope_scaling %q: llama.cpp's phi3 reads only longrope (rope_factors_long/short)", r.Kind())
	}
	return nil
}

// phi3Keys are Phi3MiniModel's: set_gguf_parameters, and from
// generate_extra_tensors the longrope factors and attention factor (loom's
// own, RopeVariant.Scale: the converter's formula, or the config's
// attention_factor).
func phi3Keys(c *decoder.Config) ([]ggufKV, []ggufExtra, error) {
	orig := c.MaxPositionEmbeddings
	if r := c.RopeScaling; r != nil {
		orig = cmp.Or(c.OriginalMaxPositionEmbeddings, r.OriginalMaxPositionEmbeddings, orig)
	} else {
		orig = cmp.Or(c.OriginalMaxPositionEmbeddings, orig)
	}
	kv := []ggufKV{
		{"context_length", uint32(c.MaxPositionEmbeddings)},
		{"rope.scaling.original_context_length", uint32(orig)},
		{"embedding_length", uint32(c.HiddenSize)},
		{"feed_forward_length", uint32(c.IntermediateSize)},
		{"block_count", uint32(c.NumHiddenLayers)},
		{"attention.head_count", uint32(c.NumAttentionHeads)},
		{"attention.head_count_kv", uint32(c.KVHeads())},
		{"attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
		{"rope.dimension_count", uint32(c.RotaryDim())},
		{"rope.freq_base", float32(c.RopeTheta)},
		{"attention.sliding_window", uint32(c.Window())},
	}
	r := c.RopeScaling
	if r == nil || r.Kind() != "longrope" {
		return kv, nil, nil
	}
	if len(r.LongFactor) != c.RotaryDim()/2 || len(r.ShortFactor) != c.RotaryDim()/2 {
		return nil, nil, fmt.Errorf("convert: rope_scaling long_factor and short_factor have %d and %d values; llama.cpp needs rotary dim/2 = %d", len(r.LongFactor), len(r.ShortFactor), c.RotaryDim()/2)
	}
	kv = append(kv, ggufKV{"rope.scaling.attn_factor", float32(c.RopeVariant().Scale)})
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	return kv, []ggufExtra{{"rope_factors_long.weight", f32(r.LongFactor)}, {"rope_factors_short.weight", f32(r.ShortFactor)}}, nil
}

// gemmaScalar is the query_pre_attn_scalar llama.cpp's Gemma 2 and 3
// use: head_dim, except for the 27B models (by layer count: 46 for Gemma
// 2, 62 for Gemma 3), which use n_embd/n_head (load_arch_hparams'
// f_attention_scale).
func gemmaScalar(arch string, layers, embd, heads, headDim int) float64 {
	if arch == "gemma2" && layers == 46 || arch == "gemma3" && layers == 62 {
		return float64(embd / heads)
	}
	return float64(headDim)
}

// swaPeriod returns the period p for which llama_hparams::set_swa_pattern
// makes layer i a sliding-window layer when i%p < p-1 (p 0: every layer),
// as c's layers are; false when no period describes them.
func swaPeriod(c *decoder.Config) (int, bool) {
	n := c.NumHiddenLayers
	for p := 0; p <= n; p++ {
		ok := true
		for i := range n {
			sw := p == 0 || i%p < p-1
			if sw != (c.Sliding(i) && c.WindowAt(i) > 0) {
				ok = false
				break
			}
		}
		if ok {
			return p, true
		}
	}
	return 0, false
}

// checkGemma follows src/models/gemma2.cpp and gemma3.cpp.
func checkGemma(c *decoder.Config) error {
	a := ggufArchOf(c.ModelType)
	if err := tanhGELU(c); err != nil {
		return err
	}
	if want := gemmaScalar(a.name, c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.HeadDimOrDefault()); c.QueryPreAttnScalar != want {
		return fmt.Errorf("query_pre_attn_scalar is %g; llama.cpp's %s scales scores by 1/√%g (head_dim, or hidden_size/num_attention_heads for the 27B model)", c.QueryPreAttnScalar, a.name, want)
	}
	if c.Window() > 0 {
		if _, ok := swaPeriod(c); !ok {
			return fmt.Errorf("layer_types: llama.cpp's %s takes sliding-window layers in a repeating pattern (all but the last of every p layers)", a.name)
		}
	}
	if _, err := linearRope(c); err != nil {
		return err
	}
	if a.name == "gemma2" {
		switch {
		case c.AttnLogitSoftcapping == nil || c.FinalLogitSoftcapping == nil:
			return fmt.Errorf("attn_logit_softcapping/final_logit_softcapping: llama.cpp's gemma2 always soft-caps")
		case !c.TieWordEmbeddings:
			return fmt.Errorf("tie_word_embeddings is false: llama.cpp's gemma2 reads the head from token_embd")
		case c.Window() == 0:
			return fmt.Errorf("sliding_window: llama.cpp's gemma2 always has sliding-window layers")
		}
		return nil
	}
	if c.Window() == 0 && c.RopeLocalBaseFreq > 0 && c.RopeLocalBaseFreq != c.RopeTheta {
		for i := range c.NumHiddenLayers {
			if c.Sliding(i) {
				return fmt.Errorf("rope_local_base_freq without sliding_window: llama.cpp's gemma3 uses rope_theta in every layer then")
			}
		}
	}
	return nil
}

// gemmaKeys are Gemma2Model's and Gemma3Model's (the latter through
// TextModel.set_gguf_parameters), plus what their loaders read and the
// converter leaves to defaults: gemma2's rope.freq_base (llama.cpp's
// default 10000 is Gemma 2's own; loom writes the config's), and the
// sliding-window pattern when it is not the loader's default (2 for
// gemma2, 6 for gemma3; the converter does not write it).
func gemmaKeys(c *decoder.Config) ([]ggufKV, []ggufExtra, error) {
	a := ggufArchOf(c.ModelType)
	kv := slices.Concat(commonKeys(c), []ggufKV{
		{"attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
		{"rope.freq_base", float32(c.RopeTheta)},
	}, headKeys(c))
	if a.name == "gemma3" {
		local := c.RopeLocalBaseFreq
		if local == 0 {
			local = c.RopeTheta
		}
		kv = append(kv, ggufKV{"rope.freq_base_swa", float32(local)})
	}
	r, err := linearRope(c)
	if err != nil {
		return nil, nil, err
	}
	kv = append(kv, r...)
	if c.AttnLogitSoftcapping != nil {
		if a.name != "gemma2" {
			return nil, nil, fmt.Errorf("convert: attn_logit_softcapping: llama.cpp's %s has no attention soft-capping", a.name)
		}
		kv = append(kv, ggufKV{"attn_logit_softcapping", float32(*c.AttnLogitSoftcapping)})
	}
	if c.FinalLogitSoftcapping != nil {
		kv = append(kv, ggufKV{"final_logit_softcapping", float32(*c.FinalLogitSoftcapping)})
	}
	if w := c.Window(); w > 0 {
		kv = append(kv, ggufKV{"attention.sliding_window", uint32(w)})
		p, _ := swaPeriod(c)
		if def := map[string]int{"gemma2": 2, "gemma3": 6}[a.name]; p != def {
			kv = append(kv, ggufKV{"attention.sliding_window_pattern", uint32(p)})
		}
	}
	return kv, nil, nil
}

// ggufMeta reads one architecture's metadata from a GGUF file, remembering
// the keys read so that the others can be refused.
type ggufMeta struct {
	f    *gguf.File
	arch string
	read map[string]bool
}

func (r *ggufMeta) key(k string) string { return r.arch + "." + k }

func (r *ggufMeta) has(k string) bool {
	r.read[r.key(k)] = true
	_, ok := r.f.Get(r.key(k))
	return ok
}

// uint reads a required unsigned key, or def (≥ 0) when it is absent.
func (r *ggufMeta) uint(k string, def int) (int, error) {
	if !r.has(k) {
		if def < 0 {
			return 0, fmt.Errorf("%s: key %s is missing", r.f.Name(), r.key(k))
		}
		return def, nil
	}
	v, err := r.f.Uint(r.key(k))
	if err != nil {
		return 0, err
	}
	if v > math.MaxInt32 {
		return 0, fmt.Errorf("%s: %s is %d, too large", r.f.Name(), r.key(k), v)
	}
	return int(v), nil
}

// float reads a float key, or def when it is absent (NaN: required).
func (r *ggufMeta) float(k string, def float64) (float64, error) {
	if !r.has(k) {
		if math.IsNaN(def) {
			return 0, fmt.Errorf("%s: key %s is missing", r.f.Name(), r.key(k))
		}
		return def, nil
	}
	v, err := r.f.Float(r.key(k))
	if err != nil {
		return 0, err
	}
	// The file holds float32: the value as a decimal float32 prints, so
	// that 1e-6 reads back as 1e-6.
	v32, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
	return v32, nil
}

// common reads the keys commonKeys writes into cfg (HF names).
func (r *ggufMeta) common(cfg map[string]any) error {
	var err error
	get := func(hf, k string, def int) {
		if err == nil {
			var v int
			v, err = r.uint(k, def)
			cfg[hf] = v
		}
	}
	for _, k := range [][2]string{{"max_position_embeddings", "context_length"}, {"hidden_size", "embedding_length"},
		{"num_hidden_layers", "block_count"}, {"intermediate_size", "feed_forward_length"}, {"num_attention_heads", "attention.head_count"}} {
		get(k[0], k[1], -1)
		if err == nil && cfg[k[0]].(int) <= 0 {
			err = fmt.Errorf("%s: %s is %d, want a positive integer", r.f.Name(), r.key(k[1]), cfg[k[0]])
		}
	}
	if err != nil {
		return err
	}
	// Every layer has tensors: a block_count beyond the file's tensors is
	// refused before a model of that many layers is built.
	if n := cfg["num_hidden_layers"].(int); n > len(r.f.Tensors) {
		return fmt.Errorf("%s: %s is %d, more layers than the file's %d tensors can hold", r.f.Name(), r.key("block_count"), n, len(r.f.Tensors))
	}
	get("num_key_value_heads", "attention.head_count_kv", cfg["num_attention_heads"].(int))
	return err
}

// headDim reads key_length (value_length must equal it), default def.
func (r *ggufMeta) headDim(def int) (int, error) {
	hd, err := r.uint("attention.key_length", def)
	if err != nil {
		return 0, err
	}
	if vl, err := r.uint("attention.value_length", hd); err != nil || vl != hd {
		return 0, fmt.Errorf("%s: %s is %d, differs from key_length %d; loom needs them equal", r.f.Name(), r.key("attention.value_length"), vl, hd)
	}
	return hd, nil
}

// linearRope reads rope.scaling.type (none or linear) and its factor.
func (r *ggufMeta) linearRope(cfg map[string]any) error {
	if !r.has("rope.scaling.type") {
		r.has("rope.scaling.factor")
		return nil
	}
	typ, err := r.f.String(r.key("rope.scaling.type"))
	if err != nil {
		return err
	}
	switch typ {
	case "none":
	case "linear":
		f, err := r.float("rope.scaling.factor", math.NaN())
		if err != nil {
			return err
		}
		if f != 0 && f != 1 {
			cfg["rope_scaling"] = map[string]any{"rope_type": "linear", "factor": f}
		}
	default:
		return fmt.Errorf("%s: %s is %q; loom reads none and linear for %s", r.f.Name(), r.key("rope.scaling.type"), typ, r.arch)
	}
	return nil
}

func qwen3Config(r *ggufMeta) (map[string]any, error) {
	cfg := map[string]any{"hidden_act": "silu", "use_sliding_window": false}
	if err := r.common(cfg); err != nil {
		return nil, err
	}
	var err error
	if cfg["rms_norm_eps"], err = r.float("attention.layer_norm_rms_epsilon", math.NaN()); err != nil {
		return nil, err
	}
	if cfg["rope_theta"], err = r.float("rope.freq_base", 10000); err != nil {
		return nil, err
	}
	if cfg["head_dim"], err = r.headDim(cfg["hidden_size"].(int) / cfg["num_attention_heads"].(int)); err != nil {
		return nil, err
	}
	return cfg, r.linearRope(cfg)
}

func gpt2Config(r *ggufMeta) (map[string]any, error) {
	cfg := map[string]any{}
	if err := r.common(cfg); err != nil {
		return nil, err
	}
	if cfg["num_key_value_heads"] != cfg["num_attention_heads"] {
		return nil, fmt.Errorf("%s: %s is %d; GPT-2 has head_count key/value heads (%d)", r.f.Name(), r.key("attention.head_count_kv"), cfg["num_key_value_heads"], cfg["num_attention_heads"])
	}
	eps, err := r.float("attention.layer_norm_epsilon", math.NaN())
	if err != nil {
		return nil, err
	}
	return map[string]any{"n_positions": cfg["max_position_embeddings"], "n_ctx": cfg["max_position_embeddings"], "n_embd": cfg["hidden_size"],
		"n_layer": cfg["num_hidden_layers"], "n_inner": cfg["intermediate_size"], "n_head": cfg["num_attention_heads"],
		"layer_norm_epsilon": eps, "activation_function": "gelu_new"}, nil
}

func phi3Config(r *ggufMeta) (map[string]any, error) {
	cfg := map[string]any{"hidden_act": "silu"}
	if err := r.common(cfg); err != nil {
		return nil, err
	}
	var err error
	if cfg["rms_norm_eps"], err = r.float("attention.layer_norm_rms_epsilon", math.NaN()); err != nil {
		return nil, err
	}
	if cfg["rope_theta"], err = r.float("rope.freq_base", 10000); err != nil {
		return nil, err
	}
	hd := cfg["hidden_size"].(int) / cfg["num_attention_heads"].(int)
	if k, err := r.headDim(hd); err != nil || k != hd {
		return nil, fmt.Errorf("%s: %s is %d; llama.cpp's phi3 needs embedding_length/head_count = %d", r.f.Name(), r.key("attention.key_length"), k, hd)
	}
	rot, err := r.uint("rope.dimension_count", hd)
	if err != nil {
		return nil, err
	}
	if rot <= 0 || rot > hd || rot%2 != 0 {
		return nil, fmt.Errorf("%s: %s is %d, want an even number in 2…%d (the head size)", r.f.Name(), r.key("rope.dimension_count"), rot, hd)
	}
	if rot != hd {
		cfg["partial_rotary_factor"] = float64(rot) / float64(hd)
	}
	orig, err := r.uint("rope.scaling.original_context_length", cfg["max_position_embeddings"].(int))
	if err != nil {
		return nil, err
	}
	cfg["original_max_position_embeddings"] = orig
	if w, err := r.uint("attention.sliding_window", 0); err != nil {
		return nil, err
	} else if w > 0 {
		// llama.cpp's phi3 disables its sliding window ("Phi SWA is
		// currently disabled"); loom keeps transformers' window.
		cfg["sliding_window"] = w
	}
	if r.has("rope.scaling.type") {
		if typ, err := r.f.String(r.key("rope.scaling.type")); err != nil {
			return nil, err
		} else if typ != "longrope" && typ != "none" {
			return nil, fmt.Errorf("%s: %s is %q; loom reads longrope (rope_factors_long/short) for phi3", r.f.Name(), r.key("rope.scaling.type"), typ)
		}
	}
	attn, err := r.float("rope.scaling.attn_factor", 1)
	if err != nil {
		return nil, err
	}
	long, okL := r.f.Tensor("rope_factors_long.weight")
	short, okS := r.f.Tensor("rope_factors_short.weight")
	if !okL && !okS {
		if attn != 1 {
			return nil, fmt.Errorf("%s: %s is %g without rope_factors_long/short; loom reads it only with longrope", r.f.Name(), r.key("rope.scaling.attn_factor"), attn)
		}
		return cfg, nil
	}
	if !okL || !okS {
		return nil, fmt.Errorf("%s: tensors rope_factors_long.weight and rope_factors_short.weight come together; the file has one", r.f.Name())
	}
	factors := func(t gguf.TensorInfo) ([]float64, error) {
		if len(t.Shape) != 1 || t.Shape[0] != rot/2 {
			return nil, fmt.Errorf("%s: tensor %s has shape %v, want [%d] (rope.dimension_count/2)", r.f.Name(), t.Name, t.Shape, rot/2)
		}
		v, err := r.f.Float32s(t.Name)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, nil
	}
	lf, err := factors(long)
	if err != nil {
		return nil, err
	}
	sf, err := factors(short)
	if err != nil {
		return nil, err
	}
	cfg["rope_scaling"] = map[string]any{"type": "longrope", "long_factor": lf, "short_factor": sf, "attention_factor": attn}
	return cfg, nil
}

func gemmaConfig(r *ggufMeta) (map[string]any, error) {
	cfg := map[string]any{"hidden_activation": "gelu_pytorch_tanh"}
	if err := r.common(cfg); err != nil {
		return nil, err
	}
	var err error
	if cfg["rms_norm_eps"], err = r.float("attention.layer_norm_rms_epsilon", math.NaN()); err != nil {
		return nil, err
	}
	n, embd, heads := cfg["num_hidden_layers"].(int), cfg["hidden_size"].(int), cfg["num_attention_heads"].(int)
	hd, err := r.headDim(embd / heads)
	if err != nil {
		return nil, err
	}
	cfg["head_dim"] = hd
	cfg["query_pre_attn_scalar"] = gemmaScalar(r.arch, n, embd, heads, hd)
	theta, err := r.float("rope.freq_base", 10000)
	if err != nil {
		return nil, err
	}
	cfg["rope_theta"] = theta
	if err := r.linearRope(cfg); err != nil {
		return nil, err
	}
	final, err := r.float("final_logit_softcapping", map[string]float64{"gemma2": 30, "gemma3": 0}[r.arch])
	if err != nil {
		return nil, err
	}
	if final != 0 {
		cfg["final_logit_softcapping"] = final
	} else {
		cfg["final_logit_softcapping"] = nil
	}
	// Which layers slide: llama_hparams::set_swa_pattern.
	period, window := 2, 4096 // gemma2's load_arch_hparams
	if r.arch == "gemma3" {
		period, window = 6, 0
	}
	if r.has("attention.sliding_window_pattern") {
		raw, _ := r.f.Get(r.key("attention.sliding_window_pattern"))
		if strings.HasPrefix(fmt.Sprintf("%T", raw), "[]") {
			return nil, fmt.Errorf("%s: %s is an array; loom reads a period", r.f.Name(), r.key("attention.sliding_window_pattern"))
		}
	}
	if period, err = r.uint("attention.sliding_window_pattern", period); err != nil {
		return nil, err
	}
	if window, err = r.uint("attention.sliding_window", window); err != nil {
		return nil, err
	}
	types := make([]string, n)
	for i := range types {
		types[i] = "full_attention"
		if window > 0 && (period == 0 || i%period < period-1) {
			types[i] = "sliding_attention"
		}
	}
	cfg["layer_types"] = types
	if window > 0 {
		cfg["sliding_window"] = window
	} else {
		cfg["sliding_window"] = nil
	}
	switch r.arch {
	case "gemma2":
		attn, err := r.float("attn_logit_softcapping", 50)
		if err != nil {
			return nil, err
		}
		cfg["attn_logit_softcapping"] = attn
		// load_arch_hparams: the local layers' base is rope.freq_base_swa
		// when given, else rope.freq_base; loom's Gemma 2 has one base.
		if swa, err := r.float("rope.freq_base_swa", theta); err != nil {
			return nil, err
		} else if swa != theta {
			return nil, fmt.Errorf("%s: %s is %g, differs from rope.freq_base %g; loom's gemma2 has one rotary base", r.f.Name(), r.key("rope.freq_base_swa"), swa, theta)
		}
	case "gemma3":
		if r.has("attn_logit_softcapping") {
			return nil, fmt.Errorf("%s: key %s: llama.cpp's and loom's gemma3 have no attention soft-capping", r.f.Name(), r.key("attn_logit_softcapping"))
		}
		cfg["attn_logit_softcapping"] = nil
		local := theta // no sliding window: every layer uses freq_base
		if window > 0 {
			if local, err = r.float("rope.freq_base_swa", 10000); err != nil {
				return nil, err
			}
		}
		cfg["rope_local_base_freq"] = local
	}
	return cfg, nil
}

// ggufArchIgnored are keys of an architecture that leave the computation
// unchanged (r.arch + "." + these).
var ggufArchIgnored = []string{"vocab_size", "rope.scaling.finetuned", "pooling_type"}

// configFromGGUFArch builds the config of a file whose
// general.architecture is arch (one of ggufArchs): the Hugging Face
// config.json the metadata stands for, parsed as one. Keys of the
// architecture loom does not read are refused by name.
func configFromGGUFArch(f *gguf.File, arch string) (*decoder.Config, error) {
	a, ok := ggufArchs[arch]
	if !ok {
		return nil, fmt.Errorf("%s: general.architecture is %q; loom reads %s GGUF files", f.Name(), arch, strings.Join(GGUFArchitectures(), ", "))
	}
	r := &ggufMeta{f: f, arch: arch, read: map[string]bool{}}
	cfg, err := a.config(r)
	if err != nil {
		return nil, err
	}
	for _, k := range ggufArchIgnored {
		r.read[r.key(k)] = true
	}
	for _, kv := range f.KV {
		if strings.HasPrefix(kv.Key, arch+".") && !r.read[kv.Key] {
			return nil, fmt.Errorf("%s: key %s is not supported (loom's %s import reads %s)", f.Name(), kv.Key, arch, strings.Join(slices.Sorted(func(yield func(string) bool) {
				for k := range r.read {
					if !yield(k) {
						return
					}
				}
			}), ", "))
		}
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return nil, fmt.Errorf("%s: tensor token_embd.weight is missing", f.Name())
	}
	if len(emb.Shape) != 2 {
		return nil, fmt.Errorf("%s: token_embd.weight has shape %v, want [vocab, embedding_length]", f.Name(), emb.Shape)
	}
	cfg["vocab_size"] = emb.Shape[0]
	// The sizes the metadata gives are bounded by the tensors' before a
	// model of those sizes is built (its norms and tables are allocated).
	if embd := cfg["hidden_size"]; embd != nil && embd != emb.Shape[1] {
		return nil, fmt.Errorf("%s: %s is %v, token_embd.weight has rows of %d", f.Name(), r.key("embedding_length"), embd, emb.Shape[1])
	}
	if embd := cfg["n_embd"]; embd != nil && embd != emb.Shape[1] {
		return nil, fmt.Errorf("%s: %s is %v, token_embd.weight has rows of %d", f.Name(), r.key("embedding_length"), embd, emb.Shape[1])
	}
	largest := 0
	for _, t := range f.Tensors {
		for _, d := range t.Shape {
			largest = max(largest, d)
		}
	}
	for hf, k := range map[string]string{"intermediate_size": "feed_forward_length", "n_inner": "feed_forward_length",
		"num_attention_heads": "attention.head_count", "n_head": "attention.head_count", "num_key_value_heads": "attention.head_count_kv",
		"head_dim": "attention.key_length"} {
		if v, ok := cfg[hf].(int); ok && v > largest {
			return nil, fmt.Errorf("%s: %s is %d, larger than any tensor's dimension (%d)", f.Name(), r.key(k), v, largest)
		}
	}
	_, hasOutput := f.Tensor("output.weight")
	cfg["tie_word_embeddings"] = !hasOutput
	cfg["model_type"] = a.modelType
	cfg["architectures"] = []string{decoder.Architecture(a.modelType)}
	for key, hf := range map[string]string{"tokenizer.ggml.bos_token_id": "bos_token_id", "tokenizer.ggml.eos_token_id": "eos_token_id"} {
		if id, err := f.Uint(key); err == nil && int(id) < emb.Shape[0] {
			cfg[hf] = int(id)
		}
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return decoder.ParseConfig(f.Name(), data)
}

// ggufArchSource serves a GGUF file of one of ggufArchs under loom's
// names: fused tensors split by rows, Gemma's norm gains unshifted.
type ggufArchSource struct {
	*ggufSource
	a     *ggufArch
	parts map[string]ggufPart // loom name → place in the file
	// loaded holds a fused tensor's float32 values until its last part is
	// taken.
	loaded map[string][]float32
	taken  map[string]int
}

type ggufPart struct {
	g           string
	row, rows   int
	cols, parts int
	shift       float32
}

// loadGGUFArch fills c's model (one of ggufArchs) from f.
func loadGGUFArch(f *gguf.File, c *decoder.Config, o LoadOptions) (*decoder.Model, error) {
	a := ggufArchOf(c.ModelType)
	mm, err := decoder.Build(c, nn.Init{Empty: true})
	if err != nil {
		return nil, err
	}
	shapes := map[string][]int{}
	for _, p := range mm.Params() {
		shapes[p.Name] = p.Shape()
	}
	s := &ggufArchSource{ggufSource: &ggufSource{f: f, c: c, hf: map[string]string{}}, a: a, parts: map[string]ggufPart{},
		loaded: map[string][]float32{}, taken: map[string]int{}}
	_, table := a.layerTensors(c.NumHiddenLayers)
	known := map[string]bool{"rope_factors_long.weight": true, "rope_factors_short.weight": true}
	for _, t := range f.Tensors {
		loom, ok := table[t.Name]
		if known[t.Name] {
			continue
		}
		if !ok {
			s.extra = append(s.extra, t.Name)
			continue
		}
		rows := 0
		for _, l := range loom {
			sh, ok := shapes[l]
			if !ok {
				return nil, fmt.Errorf("%s: tensor %s holds %s, which loom's %s model (as the metadata configures it) does not have", f.Name(), t.Name, l, a.name)
			}
			rows += sh[0]
		}
		if len(t.Shape) == 0 || t.Shape[0] != rows {
			want := slices.Clone(shapes[loom[0]])
			want[0] = rows
			return nil, fmt.Errorf("%s: tensor %s has shape %v, the metadata implies %v", f.Name(), t.Name, t.Shape, want)
		}
		row := 0
		for _, l := range loom {
			sh := shapes[l]
			cols := 1
			for _, d := range sh[1:] {
				cols *= d
			}
			p := ggufPart{g: t.Name, row: row, rows: sh[0], cols: cols, parts: len(loom)}
			if a.shifted(l) {
				p.shift = a.normShift
			}
			s.parts[l] = p
			s.hf[l] = t.Name
			row += sh[0]
		}
	}
	if len(s.extra) > 0 {
		return nil, fmt.Errorf("%s: tensors loom's %s model has no place for: %s", f.Name(), a.name, strings.Join(s.extra, ", "))
	}
	m, err := fill(c, s, o)
	if err != nil {
		return nil, err
	}
	roundBlockInputs(m, s.ggufSource)
	return m, nil
}

// whole reports whether a part is its tensor, unchanged.
func (p ggufPart) whole() bool { return p.parts == 1 && p.shift == 0 }

func (s *ggufArchSource) shape(name string) ([]int, bool) {
	p, ok := s.parts[name]
	if !ok || p.parts == 1 {
		return s.ggufSource.shape(name)
	}
	info, _ := s.f.Tensor(p.g)
	sh := slices.Clone(info.Shape)
	sh[0] = p.rows
	return sh, true
}

func (s *ggufArchSource) load(name string, dt tensor.DType) (*tensor.Tensor, error) {
	p, ok := s.parts[name]
	if !ok || p.whole() {
		return s.ggufSource.load(name, dt)
	}
	info, _ := s.f.Tensor(p.g)
	if pt, _ := info.Type.DType(); pt.Packed() && pt == dt && p.shift == 0 && len(info.Shape) == 2 {
		// Rows of blocks, sliced out of the fused tensor as they are (a
		// block never spans rows): nothing widened or requantised.
		raw, err := s.f.TensorBytes(p.g)
		if err != nil {
			return nil, err
		}
		rb := len(raw) / info.Shape[0]
		s.f.Retain()
		return tensor.FromPacked(dt, raw[p.row*rb:(p.row+p.rows)*rb:(p.row+p.rows)*rb], p.rows, info.Shape[1])
	}
	v, ok := s.loaded[p.g]
	if !ok {
		var err error
		if v, err = s.f.Float32s(p.g); err != nil {
			return nil, err
		}
		s.loaded[p.g] = v
	}
	if s.taken[p.g]++; s.taken[p.g] == p.parts {
		delete(s.loaded, p.g)
	}
	out := slices.Clone(v[p.row*p.cols : (p.row+p.rows)*p.cols])
	for i := range out {
		out[i] -= p.shift
	}
	sh := slices.Clone(info.Shape)
	sh[0] = p.rows
	return tensor.FromFloat32(out, sh...), nil
}

func (s *ggufArchSource) check(name string) error {
	if p, ok := s.parts[name]; ok && p.row > 0 {
		return nil // checked with the tensor's first part
	}
	return s.ggufSource.check(name)
}

func (s *ggufArchSource) locate(name string, i int) (string, int) {
	p, ok := s.parts[name]
	if !ok {
		return s.ggufSource.locate(name, i)
	}
	where, _ := s.ggufSource.locate(name, 0)
	return where, p.row*p.cols + i
}
