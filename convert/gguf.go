package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/quant"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// GGUF export and import of Llama-style models, as llama.cpp's
// convert_hf_to_gguf.py writes them for LlamaForCausalLM: architecture
// "llama", llama.* hyperparameters, tensor names token_embd, blk.N.attn_q,
// …, output, and the rows of q_proj and k_proj (weights and biases)
// permuted from Hugging Face's rotate-half rotary layout to the
// interleaved pairs llama.cpp's rotary embedding uses. The other
// architectures llama.cpp runs that loom reads (qwen3, gpt2, phi3, gemma2,
// gemma3) are in gguf_arch.go.

// ggufNames maps the HF names of one layer's tensors (after
// "model.layers.N.") to llama.cpp's (after "blk.N.").
var ggufNames = map[string]string{
	"input_layernorm.weight":          "attn_norm.weight",
	"self_attn.q_proj.weight":         "attn_q.weight",
	"self_attn.q_proj.bias":           "attn_q.bias",
	"self_attn.k_proj.weight":         "attn_k.weight",
	"self_attn.k_proj.bias":           "attn_k.bias",
	"self_attn.v_proj.weight":         "attn_v.weight",
	"self_attn.v_proj.bias":           "attn_v.bias",
	"self_attn.o_proj.weight":         "attn_output.weight",
	"self_attn.o_proj.bias":           "attn_output.bias",
	"post_attention_layernorm.weight": "ffn_norm.weight",
	"mlp.gate_proj.weight":            "ffn_gate.weight",
	"mlp.gate_proj.bias":              "ffn_gate.bias",
	"mlp.up_proj.weight":              "ffn_up.weight",
	"mlp.up_proj.bias":                "ffn_up.bias",
	"mlp.down_proj.weight":            "ffn_down.weight",
	"mlp.down_proj.bias":              "ffn_down.bias",
	"mlp.gate.weight":                 "ffn_gate_inp.weight", // a mixture's router
}

// ggufExperts maps a mixture's expert projections (after
// "model.layers.N.mlp.experts.J.") to llama.cpp's stacked tensors (after
// "blk.N."), which hold every expert's matrix along their first dimension
// ([E, rows, cols]: ggml's ne [cols, rows, E]), as convert_hf_to_gguf.py's
// LlamaModel writes Mixtral.
var ggufExperts = map[string]string{
	"gate_proj.weight": "ffn_gate_exps.weight",
	"up_proj.weight":   "ffn_up_exps.weight",
	"down_proj.weight": "ffn_down_exps.weight",
}

var expertName = regexp.MustCompile(`^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(.+)$`)

// ggufExpert returns llama.cpp's stacked tensor holding an HF expert
// tensor, and the expert's index in it ("" if hf is no expert's).
func ggufExpert(hf string) (string, int) {
	m := expertName.FindStringSubmatch(hf)
	if m == nil || ggufExperts[m[3]] == "" {
		return "", 0
	}
	e, _ := strconv.Atoi(m[2])
	return "blk." + m[1] + "." + ggufExperts[m[3]], e
}

var layerName = regexp.MustCompile(`^model\.layers\.(\d+)\.(.+)$`)

// GGUFName returns llama.cpp's name for an HF tensor name ("" if none).
func GGUFName(hf string) string {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight"
	case "model.norm.weight":
		return "output_norm.weight"
	case "lm_head.weight":
		return "output.weight"
	}
	if m := layerName.FindStringSubmatch(hf); m != nil {
		if g, ok := ggufNames[m[2]]; ok {
			return "blk." + m[1] + "." + g
		}
	}
	return ""
}

// ropePermuted reports whether an HF tensor's rows are permuted for
// llama.cpp, and by how many heads.
func ropePermuted(c *decoder.Config, hf string) (int, bool) {
	if ggufArchOf(c.ModelType) != nil {
		return 0, false // NEOX rotary embeddings: Hugging Face's layout
	}
	switch {
	case strings.HasSuffix(hf, ".self_attn.q_proj.weight"), strings.HasSuffix(hf, ".self_attn.q_proj.bias"):
		return c.NumAttentionHeads, true
	case strings.HasSuffix(hf, ".self_attn.k_proj.weight"), strings.HasSuffix(hf, ".self_attn.k_proj.bias"):
		return c.KVHeads(), true
	}
	return 0, false
}

// permuteRows reorders the rows of a [heads·hd, …] tensor (rowLen
// elements each: float32 values, or the bytes of packed rows) between HF's
// rotate-half layout and llama.cpp's interleaved one: HF row
// h·hd + s·hd/2 + i is GGUF row h·hd + 2i + s. toGGUF selects the
// direction.
func permuteRows[T any](data []T, rows, rowLen, heads int, toGGUF bool) []T {
	return permuteRowsInto(make([]T, len(data)), data, rows, rowLen, heads, toGGUF)
}

// permuteRowsInto is permuteRows writing into out (len(data) elements).
func permuteRowsInto[T any](out, data []T, rows, rowLen, heads int, toGGUF bool) []T {
	hd := rows / heads
	half := hd / 2
	for h := range heads {
		for s := range 2 {
			for i := range half {
				hf := h*hd + s*half + i
				gg := h*hd + 2*i + s
				src, dst := hf, gg
				if !toGGUF {
					src, dst = gg, hf
				}
				copy(out[dst*rowLen:(dst+1)*rowLen], data[src*rowLen:(src+1)*rowLen])
			}
		}
	}
	return out
}

// GGUFTypes are the types ExportGGUF writes weight matrices in.
var GGUFTypes = []tensor.DType{tensor.Float32, tensor.Float16, tensor.Q8_0}

// ExportGGUF writes m as a GGUF file for llama.cpp (architecture "llama"
// for Llama and Mistral; qwen3, gpt2, phi3, gemma2 or gemma3 for those
// model types, as llama.cpp's converter writes them: gguf_arch.go), its
// weight matrices as typ (f32, f16 or q8_0; q8_0 only for rows whose
// length is a multiple of 32, others f16 — as llama.cpp's converter does)
// and norms as f32, with tok as the tokenizer.ggml.* metadata. name is
// general.name. Removed sublayers are written as zero weights (llama.cpp
// cannot skip them). path must not exist; the file is written atomically.
func ExportGGUF(m *decoder.Model, path string, tok tokenizer.Tokenizer, typ tensor.DType, name string) error {
	return ExportGGUFWith(m, path, tok, typ, name, WriteOptions{})
}

// ExportGGUFWith is ExportGGUF with o: o.Force replaces an existing path,
// o.Context stops the export.
func ExportGGUFWith(m *decoder.Model, path string, tok tokenizer.Tokenizer, typ tensor.DType, name string, o WriteOptions) error {
	if !slices.Contains(GGUFTypes, typ) {
		return fmt.Errorf("convert: GGUF weight type %v: want one of %s", typ, dtype.Names(GGUFTypes...))
	}
	params, err := ggufLayout(m)
	if err != nil {
		return err
	}
	return exportGGUF(m, params, path, tok, typ.Info().FileType, name, o, func(p *autograd.Var) dtype.DType { return decoder.WeightDType(p, typ) })
}

// ExportGGUFMix is ExportGGUFWith quantising the weight matrices as
// llama.cpp's quantiser does for mix: each tensor's type by llama.cpp's
// rules (QuantMix.Types), its blocks by ggml's reference quantisers
// (package quant); 1-D tensors stay float32.
func ExportGGUFMix(m *decoder.Model, path string, tok tokenizer.Tokenizer, mix QuantMix, name string, o WriteOptions) error {
	params, err := ggufLayout(m)
	if err != nil {
		return err
	}
	var ts []QuantTensor
	for _, p := range params {
		shape := slices.Clone(p.Shape())
		slices.Reverse(shape) // ggml's order: the row length first
		ts = append(ts, QuantTensor{Name: p.Name, Shape: shape})
	}
	types := map[string]dtype.DType{}
	for i, t := range mix.Types(ts) {
		types[ts[i].Name] = t
	}
	return exportGGUF(m, params, path, tok, mix.FileType, name, o, func(p *autograd.Var) dtype.DType {
		if t := types[p.Name]; t != dtype.Invalid {
			return t
		}
		return dtype.Float32
	})
}

// ggufLayout returns m's parameters as llama.cpp's architecture holds
// them (ggufParams), after refusing by name what the architecture cannot
// express (ggufHParams).
func ggufLayout(m *decoder.Model) ([]*autograd.Var, error) {
	if _, _, err := ggufHParams(m.Config); err != nil {
		return nil, err
	}
	return ggufParams(m)
}

// exportGGUF writes the GGUF file of ExportGGUFWith with general.file_type
// fileType and each of params (m's, as ggufParams lays them out) in the
// type typeOf gives it.
func exportGGUF(m *decoder.Model, params []*autograd.Var, path string, tok tokenizer.Tokenizer, fileType int, name string, o WriteOptions, typeOf func(*autograd.Var) dtype.DType) error {
	ctx := o.Ctx()
	c := m.Config
	hparams, extra, err := ggufHParams(c) // refuses what the architecture cannot express
	if err != nil {
		return err
	}
	if tok == nil {
		tok = tokenizer.Byte{}
	}
	v, err := tokenizer.ToVocab(tok, c.VocabSize)
	if err != nil {
		return err
	}
	w := gguf.NewWriter()
	kv := []struct {
		k string
		v any
	}{
		{"general.architecture", hparams[0].v},
		{"general.name", name},
		{"general.file_type", uint32(fileType)},
		{"general.quantization_version", uint32(2)},
	}
	for _, e := range hparams[1:] {
		kv = append(kv, struct {
			k string
			v any
		}{e.k, e.v})
	}
	kv = append(kv, []struct {
		k string
		v any
	}{
		{"tokenizer.ggml.model", v.Model},
		{"tokenizer.ggml.pre", v.Pre},
		{"tokenizer.ggml.tokens", v.Tokens},
		{"tokenizer.ggml.token_type", v.Types},
		{"tokenizer.ggml.add_bos_token", v.AddBOS},
		{"tokenizer.ggml.add_eos_token", v.AddEOS},
	}...)
	if v.Merges != nil {
		kv = append(kv, struct {
			k string
			v any
		}{"tokenizer.ggml.merges", v.Merges})
	}
	if v.Scores != nil {
		kv = append(kv, struct {
			k string
			v any
		}{"tokenizer.ggml.scores", v.Scores})
	}
	if v.AddSpacePrefix != nil {
		kv = append(kv, struct {
			k string
			v any
		}{"tokenizer.ggml.add_space_prefix", *v.AddSpacePrefix})
	}
	for _, e := range kv {
		if err := w.Add(e.k, e.v); err != nil {
			return err
		}
	}
	ids := map[string]int{"tokenizer.ggml.bos_token_id": v.BOS, "tokenizer.ggml.eos_token_id": v.EOS,
		"tokenizer.ggml.unknown_token_id": v.UNK, "tokenizer.ggml.padding_token_id": v.PAD}
	if len(c.BOSTokenID) > 0 && v.BOS < 0 {
		ids["tokenizer.ggml.bos_token_id"] = c.BOSTokenID[0]
	}
	if len(c.EOSTokenID) > 0 && v.EOS < 0 {
		ids["tokenizer.ggml.eos_token_id"] = c.EOSTokenID[0]
	}
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if id := ids[k]; id >= 0 {
			if err := w.Add(k, uint32(id)); err != nil {
				return err
			}
		}
	}
	for _, e := range extra { // rope_freqs, Phi-3's rope factors
		if err := w.AddTensor(e.name, []int{len(e.v)}, gguf.F32, f32Bytes(e.v)); err != nil {
			return err
		}
	}
	// The tensors are packed inside the write, so that its temporary file
	// is there from the start and an interrupt at any point removes it.
	return fsutil.ReplaceFile(path, o, func(out io.Writer) error {
		if err := addGGUFTensors(ctx, w, params, typeOf); err != nil {
			return err
		}
		if _, err := w.WriteTo(fsutil.ContextWriter(ctx, out)); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
}

// addGGUFTensors packs params (ggufParams: llama.cpp's names and layouts,
// removed sublayers as zero weights) into w, stopping when ctx is canceled.
func addGGUFTensors(ctx context.Context, w *gguf.Writer, params []*autograd.Var, typeOf func(*autograd.Var) dtype.DType) error {
	for _, p := range params {
		if err := ctx.Err(); err != nil {
			return err
		}
		gname := p.Name
		shape := p.Shape()
		dt := typeOf(p) // norms and biases f32
		var data []byte
		switch {
		case dt == tensor.Float32:
			data = f32Bytes(p.Value.To(tensor.Float32).Contiguous().F32())
		case dt.Packed():
			// ggml's f16, q8_0 and k-quant rows are loom's packed rows, byte
			// for byte (a matrix already held as dt is written as it is).
			data = tensor.Pack(p.Value, dt).Raw()
		default: // ggml's other block types
			var err error
			if data, err = quant.Quantize(dt, p.Value.To(tensor.Float32).Contiguous().F32()); err != nil {
				return fmt.Errorf("convert: %s as %v: %w", p.Name, dt, err)
			}
		}
		t, _ := gguf.TypeOf(dt)
		if err := w.AddTensor(gname, shape, t, data); err != nil {
			return err
		}
	}
	return nil
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// ConfigFromGGUF builds a model config from a GGUF file's llama.*
// metadata and tensor shapes (or, for the architectures of gguf_arch.go,
// its <arch>.* metadata: configFromGGUFArch); errors name the file and
// key.
func ConfigFromGGUF(f *gguf.File) (*decoder.Config, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, err
	}
	if arch != "llama" {
		return configFromGGUFArch(f, arch) // gguf_arch.go
	}
	u := func(key string) (int, error) {
		v, err := f.Uint(key)
		if err != nil {
			return 0, err
		}
		if v > math.MaxInt32 {
			return 0, fmt.Errorf("%s: %s is %d, too large", f.Name(), key, v)
		}
		return int(v), nil
	}
	c := &decoder.Config{ModelType: "llama", Architectures: []string{"LlamaForCausalLM"}, HiddenAct: "silu", InitializerRange: 0.02, RopeTheta: 10000}
	for _, e := range []struct {
		key string
		dst *int
	}{
		{"llama.context_length", &c.MaxPositionEmbeddings},
		{"llama.embedding_length", &c.HiddenSize},
		{"llama.block_count", &c.NumHiddenLayers},
		{"llama.feed_forward_length", &c.IntermediateSize},
		{"llama.attention.head_count", &c.NumAttentionHeads},
	} {
		if *e.dst, err = u(e.key); err != nil {
			return nil, err
		}
	}
	if _, ok := f.Get("llama.expert_count"); ok { // Mixtral
		if c.NumExperts, err = u("llama.expert_count"); err != nil {
			return nil, err
		}
		if c.NumExperts > 0 {
			if c.NumExpertsPerTok, err = u("llama.expert_used_count"); err != nil {
				return nil, err
			}
			c.ModelType, c.Architectures = "mixtral", []string{decoder.Architecture("mixtral")}
		}
	}
	c.NumKeyValueHeads = c.NumAttentionHeads
	if _, ok := f.Get("llama.attention.head_count_kv"); ok {
		if c.NumKeyValueHeads, err = u("llama.attention.head_count_kv"); err != nil {
			return nil, err
		}
	}
	if _, ok := f.Get("llama.attention.key_length"); ok {
		if c.HeadDim, err = u("llama.attention.key_length"); err != nil {
			return nil, err
		}
		if vl, ok := f.Get("llama.attention.value_length"); ok {
			if n, err := u("llama.attention.value_length"); err != nil || n != c.HeadDim {
				return nil, fmt.Errorf("%s: llama.attention.value_length %v differs from key_length %d; loom needs them equal", f.Name(), vl, c.HeadDim)
			}
		}
	}
	eps, err := f.Float("llama.attention.layer_norm_rms_epsilon")
	if err != nil {
		return nil, err
	}
	c.RMSNormEps = eps
	if _, ok := f.Get("llama.rope.freq_base"); ok {
		if c.RopeTheta, err = f.Float("llama.rope.freq_base"); err != nil {
			return nil, err
		}
	}
	if _, ok := f.Get("llama.rope.scaling.type"); ok {
		typ, err := f.String("llama.rope.scaling.type")
		if err != nil {
			return nil, err
		}
		switch typ {
		case "none":
		case "linear":
			factor, err := f.Float("llama.rope.scaling.factor")
			if err != nil {
				return nil, err
			}
			c.RopeScaling = &decoder.RopeScaling{RopeType: "linear", Factor: factor}
		default:
			return nil, fmt.Errorf("%s: llama.rope.scaling.type %q is not supported (loom reads none and linear)", f.Name(), typ)
		}
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		return nil, fmt.Errorf("%s: tensor rope_freqs.weight (Llama 3.1 rope scaling) is not supported in GGUF import", f.Name())
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return nil, fmt.Errorf("%s: tensor token_embd.weight is missing", f.Name())
	}
	if len(emb.Shape) != 2 {
		return nil, fmt.Errorf("%s: token_embd.weight has shape %v, want [vocab, embedding_length]", f.Name(), emb.Shape)
	}
	c.VocabSize = emb.Shape[0]
	_, hasOutput := f.Tensor("output.weight")
	c.TieWordEmbeddings = !hasOutput
	_, c.AttentionBias = f.Tensor("blk.0.attn_q.bias")
	_, c.MLPBias = f.Tensor("blk.0.ffn_gate.bias")
	if id, err := f.Uint("tokenizer.ggml.bos_token_id"); err == nil && int(id) < c.VocabSize {
		c.BOSTokenID = decoder.TokenIDs{int(id)}
	}
	if id, err := f.Uint("tokenizer.ggml.eos_token_id"); err == nil && int(id) < c.VocabSize {
		c.EOSTokenID = decoder.TokenIDs{int(id)}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return c, nil
}

// VocabFromGGUF reads the tokenizer.ggml.* metadata (scores and
// add_space_prefix too, for SentencePiece "llama" vocabularies).
func VocabFromGGUF(f *gguf.File) (*tokenizer.Vocab, error) {
	v := &tokenizer.Vocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	var err error
	if v.Model, err = f.String("tokenizer.ggml.model"); err != nil {
		return nil, err
	}
	if _, ok := f.Get("tokenizer.ggml.pre"); ok {
		if v.Pre, err = f.String("tokenizer.ggml.pre"); err != nil {
			return nil, err
		}
	}
	if v.Tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
		return nil, err
	}
	if _, ok := f.Get("tokenizer.ggml.merges"); ok {
		if v.Merges, err = f.Strings("tokenizer.ggml.merges"); err != nil {
			return nil, err
		}
	}
	if raw, ok := f.Get("tokenizer.ggml.scores"); ok {
		scores, ok := raw.([]float32)
		if !ok {
			return nil, fmt.Errorf("%s: tokenizer.ggml.scores is %T, want an array of float32", f.Name(), raw)
		}
		v.Scores = scores
	}
	if raw, ok := f.Get("tokenizer.ggml.add_space_prefix"); ok {
		b, ok := raw.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: tokenizer.ggml.add_space_prefix is %T, want a bool", f.Name(), raw)
		}
		v.AddSpacePrefix = &b
	}
	if raw, ok := f.Get("tokenizer.ggml.token_type"); ok {
		types, ok := raw.([]int32)
		if !ok {
			return nil, fmt.Errorf("%s: tokenizer.ggml.token_type is %T, want an array of int32", f.Name(), raw)
		}
		v.Types = types
	}
	for key, dst := range map[string]*int{"tokenizer.ggml.bos_token_id": &v.BOS, "tokenizer.ggml.eos_token_id": &v.EOS,
		"tokenizer.ggml.unknown_token_id": &v.UNK, "tokenizer.ggml.padding_token_id": &v.PAD} {
		if _, ok := f.Get(key); ok {
			id, err := f.Uint(key)
			if err != nil {
				return nil, err
			}
			if id >= uint64(len(v.Tokens)) {
				return nil, fmt.Errorf("%s: %s is %d, outside the %d tokens", f.Name(), key, id, len(v.Tokens))
			}
			*dst = int(id)
		}
	}
	for key, dst := range map[string]*bool{"tokenizer.ggml.add_bos_token": &v.AddBOS, "tokenizer.ggml.add_eos_token": &v.AddEOS} {
		if raw, ok := f.Get(key); ok {
			b, ok := raw.(bool)
			if !ok {
				return nil, fmt.Errorf("%s: %s is %T, want a bool", f.Name(), key, raw)
			}
			*dst = b
		}
	}
	return v, nil
}

// LoadGGUFTokenizer returns the tokenizer stored in a GGUF file.
func LoadGGUFTokenizer(path string) (tokenizer.Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return tokenizer.FromVocab(filepath.Base(path), v)
}

// ggufSource serves a GGUF file's tensors under their HF names.
type ggufSource struct {
	f     *gguf.File
	c     *decoder.Config
	hf    map[string]string // HF name → GGUF name
	extra []string          // GGUF tensors without an HF name
	// expert is the index of an HF expert tensor in its GGUF tensor,
	// which stacks every expert's matrix (Mixtral's ffn_*_exps).
	expert map[string]int
	// last caches the float32 values of the last stacked tensor read, so
	// that its E experts decode it once.
	lastName string
	last     []float32
}

func loadGGUF(path string, o LoadOptions) (*decoder.Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return loadGGUFFile(f, o)
}

// LoadGGUF reads a GGUF file's model and its tokenizer, opening the file
// once; the tokenizer is checked before any weight is allocated.
func LoadGGUF(path string, o LoadOptions) (*decoder.Model, tokenizer.Tokenizer, error) {
	if o.DType == 0 {
		o.DType = tensor.Float32
	}
	if err := decoder.CheckWeightDType(o.DType); err != nil {
		return nil, nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.FromVocab(filepath.Base(path), v)
	if err != nil {
		return nil, nil, err
	}
	m, err := loadGGUFFile(f, o)
	return m, tok, err
}

func loadGGUFFile(f *gguf.File, o LoadOptions) (*decoder.Model, error) {
	path := f.Name()
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	if ggufArchOf(c.ModelType) != nil {
		return loadGGUFArch(f, c, o) // gguf_arch.go
	}
	s := &ggufSource{f: f, c: c, hf: map[string]string{}, expert: map[string]int{}}
	back := map[string]string{"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}
	stacked := map[string][]string{} // llama.cpp's stacked expert tensor → HF names
	for i := range c.NumHiddenLayers {
		for hf, g := range ggufNames {
			back["blk."+strconv.Itoa(i)+"."+g] = "model.layers." + strconv.Itoa(i) + "." + hf
		}
		for hf, g := range ggufExperts {
			for e := range c.NumExperts {
				name := "blk." + strconv.Itoa(i) + "." + g
				stacked[name] = append(stacked[name], fmt.Sprintf("model.layers.%d.mlp.experts.%d.%s", i, e, hf))
			}
		}
	}
	for _, t := range f.Tensors {
		if hfs, ok := stacked[t.Name]; ok {
			if len(t.Shape) != 3 || t.Shape[0] != len(hfs) {
				return nil, fmt.Errorf("%s: tensor %s has shape %v, want [%d experts, rows, columns]", path, t.Name, t.Shape, len(hfs))
			}
			for e, hf := range hfs {
				s.hf[hf] = t.Name
				s.expert[hf] = e
			}
			continue
		}
		if hf, ok := back[t.Name]; ok {
			s.hf[hf] = t.Name
		} else {
			s.extra = append(s.extra, t.Name)
		}
	}
	if len(s.extra) > 0 {
		return nil, fmt.Errorf("%s: tensors loom's llama model has no place for: %s", path, nn.NameList(s.extra))
	}
	m, err := fill(c, s, o)
	if err != nil {
		return nil, err
	}
	roundBlockInputs(m, s)
	return m, nil
}

// roundBlockInputs gives each linear layer whose weight was widened to
// float32 from ggml blocks the rounding of its inputs that llama.cpp's
// products with those blocks apply (quant.RoundActivations: Q8_K for the
// k-quants, Q8_0 or Q8_1 for Q4_0 … Q8_0), so that loom computes what
// llama.cpp computes from such a file. (Weights kept in q8_0 round their
// inputs in the q8_0 kernels themselves.)
func roundBlockInputs(m *decoder.Model, s *ggufSource) {
	nn.Walk(m, func(n *nn.Node) error {
		l, ok := n.Module.(*nn.Linear)
		if !ok || l.Weight.Value.DType() != tensor.Float32 {
			return nil
		}
		info, ok := s.f.Tensor(s.hf[l.Weight.Name])
		if !ok {
			return nil
		}
		if t, _ := info.Type.DType(); quant.Supported(t) {
			l.RoundInputs(func(x []float32) { quant.RoundActivations(t, x) })
		}
		return nil
	})
}

// blockType returns the quantised block type the file stores name in (0
// for a float type).
func (s *ggufSource) blockType(name string) tensor.DType {
	info, ok := s.f.Tensor(s.hf[name])
	if !ok {
		return 0
	}
	if d, ok := info.Type.DType(); ok && d.Info().Block > 1 {
		return d
	}
	return 0
}

func (s *ggufSource) names() []string { return slices.Sorted(maps.Keys(s.hf)) }

func (s *ggufSource) shape(name string) ([]int, bool) {
	t, ok := s.f.Tensor(s.hf[name])
	if _, stacked := s.expert[name]; stacked && ok {
		return t.Shape[1:], true
	}
	return t.Shape, ok
}

// loadExpert reads expert e's matrix of stacked tensor g: its rows of
// blocks as they are when the file's type is dt, else as float32 (the
// stacked tensor decoded once for all its experts).
func (s *ggufSource) loadExpert(g string, e int, dt tensor.DType) (*tensor.Tensor, error) {
	info, _ := s.f.Tensor(g)
	shape, n := info.Shape[1:], info.NumElements()/info.Shape[0]
	if pt, _ := info.Type.DType(); pt.Packed() && pt == dt {
		raw, err := s.f.TensorBytes(g)
		if err != nil {
			return nil, err
		}
		s.f.Retain()
		per := len(raw) / info.Shape[0]
		return tensor.FromPacked(dt, raw[e*per:(e+1)*per], shape...)
	}
	if s.lastName != g {
		v, err := s.f.Float32s(g)
		if err != nil {
			return nil, err
		}
		s.lastName, s.last = g, v
	}
	return tensor.FromFloat32(s.last[e*n:(e+1)*n], shape...), nil
}

func (s *ggufSource) file(name string) string {
	if g, ok := s.hf[name]; ok {
		return s.f.Name() + " (tensor " + g + ")"
	}
	return s.f.Name()
}

func (s *ggufSource) load(name string, dt tensor.DType) (*tensor.Tensor, error) {
	g := s.hf[name]
	if e, ok := s.expert[name]; ok {
		return s.loadExpert(g, e, dt)
	}
	info, _ := s.f.Tensor(g)
	heads, permuted := ropePermuted(s.c, name)
	// A tensor whose type in the file is the one asked for is used in
	// place, as llama.cpp maps its files (the file stays mapped,
	// copy-on-write: gguf.File.Retain), except the rows of q and k, which
	// the file holds permuted.
	pt, _ := info.Type.DType()
	if pt.Packed() && pt == dt {
		raw, err := s.f.TensorBytes(g)
		if err != nil {
			return nil, err
		}
		if permuted {
			// A permuted copy in memory mapped in one call (fresh pages
			// faulted in one at a time, or written in place copy-on-write,
			// cost far more on a VM: docs/results/quant/firsttouch.txt),
			// and the file's pages of the original let go of, so memory
			// holds the rows once.
			p := permuteRowsInto(fsutil.AllocPopulated(len(raw)), raw, info.Shape[0], len(raw)/info.Shape[0], heads, false)
			if s.f.Retain() {
				fsutil.Release(raw)
			}
			raw = p
		} else {
			s.f.Retain()
		}
		return tensor.FromPacked(dt, raw, info.Shape...)
	}
	if pt == dtype.Float32 && dt == tensor.Float32 && !permuted {
		raw, err := s.f.TensorBytes(g)
		if err != nil {
			return nil, err
		}
		if v, ok := float32sInPlace(raw); ok {
			s.f.Retain()
			return tensor.FromFloat32(v, info.Shape...), nil
		}
	}
	v, err := s.f.Float32s(g)
	if err != nil {
		return nil, err
	}
	if permuted {
		v = permuteRows(v, info.Shape[0], len(v)/info.Shape[0], heads, false)
	}
	return tensor.FromFloat32(v, info.Shape...), nil
}

// float32sInPlace views little-endian float32 bytes as float32 values
// without copying, when this machine is little-endian and b is aligned.
func float32sInPlace(b []byte) ([]float32, bool) {
	if len(b) == 0 || len(b)%4 != 0 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 || binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), true
}

func (s *ggufSource) check(name string) error {
	g := s.hf[name]
	if e, ok := s.expert[name]; ok && e > 0 {
		return nil // checked with the stacked tensor's first expert
	}
	nf, _, err := s.f.NonFinite(g)
	if err != nil {
		return err
	}
	info, _ := s.f.Tensor(g)
	d, _ := info.Type.DType()
	return nf.Corrupt(s.f.Name()+": tensor "+g+" ("+name+")", d)
}

func (s *ggufSource) locate(name string, i int) (string, int) {
	g := s.hf[name]
	info, _ := s.f.Tensor(g)
	if e, ok := s.expert[name]; ok {
		return s.f.Name() + ": tensor " + g + " (" + name + ")", e*(info.NumElements()/info.Shape[0]) + i
	}
	if heads, ok := ropePermuted(s.c, name); ok && len(info.Shape) > 0 && i >= 0 {
		// Element i of HF row r is in the file's row for r (permuteRows).
		rows := info.Shape[0]
		cols := info.NumElements() / rows
		r, c := i/cols, i%cols
		hd := rows / heads
		h, half, k := r/hd, (r%hd)/(hd/2), r%(hd/2)
		i = (h*hd+2*k+half)*cols + c
	}
	return s.f.Name() + ": tensor " + g + " (" + name + ")", i
}

func (s *ggufSource) Close() error { return nil }

// GGUFTokenizerConfig reads what a GGUF file holds of tokenizer_config.json:
// tokenizer.chat_template (and named ones, tokenizer.chat_templates with
// tokenizer.chat_template.<name>, as llama.cpp writes them), and the bos
// and eos tokens' text from tokenizer.ggml.tokens.
func GGUFTokenizerConfig(path string) (*TokenizerConfig, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tc := &TokenizerConfig{}
	if _, ok := f.Get("tokenizer.chat_template"); ok {
		if tc.ChatTemplate, err = f.String("tokenizer.chat_template"); err != nil {
			return nil, err
		}
	}
	if _, ok := f.Get("tokenizer.chat_templates"); ok {
		names, err := f.Strings("tokenizer.chat_templates")
		if err != nil {
			return nil, err
		}
		tc.ChatTemplates = map[string]string{}
		if tc.ChatTemplate != "" {
			tc.ChatTemplates["default"], tc.ChatTemplate = tc.ChatTemplate, ""
		}
		for _, n := range names {
			if tc.ChatTemplates[n], err = f.String("tokenizer.chat_template." + n); err != nil {
				return nil, err
			}
		}
	}
	if _, ok := f.Get("tokenizer.ggml.tokens"); ok {
		tokens, err := f.Strings("tokenizer.ggml.tokens")
		if err != nil {
			return nil, err
		}
		for key, dst := range map[string]*string{"tokenizer.ggml.bos_token_id": &tc.BOSToken, "tokenizer.ggml.eos_token_id": &tc.EOSToken} {
			if id, err := f.Uint(key); err == nil && id < uint64(len(tokens)) {
				*dst = tokens[id]
			}
		}
	}
	return tc, nil
}
