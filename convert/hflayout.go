package convert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// An hfTensor says how one tensor of a Hugging Face checkpoint holds loom
// parameters: hf is the checkpoint name and loom the parameters' names
// ("{i}" is the layer, "{e}" the expert of a mixture), the loom parameters stacked along their first
// dimension in order (a fused projection: Phi-3's qkv_proj holds q_proj,
// k_proj and v_proj), and, with transposed, stored transposed (GPT-2's
// Conv1D keeps weights as [in, out]).
type hfTensor struct {
	hf         string
	loom       []string
	transposed bool
}

// An hfLayout is how an architecture's checkpoints name and shape its
// tensors where they differ from loom's (Llama's) names: the tensors
// listed, and checkpoint tensors the model does not use (ignored,
// suffixes).
type hfLayout struct {
	tensors []hfTensor
	ignored []string
	// basePrefix is the prefix of the base model's tensors ("transformer."
	// in GPT2LMHeadModel), which a checkpoint saved from the base model
	// (GPT2Model: openai-community/gpt2's own files) leaves out, as
	// transformers' from_pretrained accepts.
	basePrefix string
}

// hfLayouts are the checkpoint layouts by model_type; a type not listed
// stores loom's parameters under their own names.
var hfLayouts = map[string]hfLayout{
	// transformers' modeling_mixtral.py: MixtralSparseMoeBlock is
	// block_sparse_moe, its router gate, each expert's w1 (gate), w3 (up)
	// and w2 (down); loom names them as Qwen2-MoE does.
	"mixtral": {tensors: []hfTensor{
		{hf: "model.layers.{i}.block_sparse_moe.gate.weight", loom: []string{"model.layers.{i}.mlp.gate.weight"}},
		{hf: "model.layers.{i}.block_sparse_moe.experts.{e}.w1.weight", loom: []string{"model.layers.{i}.mlp.experts.{e}.gate_proj.weight"}},
		{hf: "model.layers.{i}.block_sparse_moe.experts.{e}.w3.weight", loom: []string{"model.layers.{i}.mlp.experts.{e}.up_proj.weight"}},
		{hf: "model.layers.{i}.block_sparse_moe.experts.{e}.w2.weight", loom: []string{"model.layers.{i}.mlp.experts.{e}.down_proj.weight"}},
	}},
	// transformers' modeling_phi3.py: Phi3Attention.qkv_proj is q, k and v
	// in that order; Phi3MLP.gate_up_proj is gate then up (chunk(2)).
	"phi3": {tensors: []hfTensor{
		{hf: "model.layers.{i}.self_attn.qkv_proj.weight", loom: []string{"model.layers.{i}.self_attn.q_proj.weight", "model.layers.{i}.self_attn.k_proj.weight", "model.layers.{i}.self_attn.v_proj.weight"}},
		{hf: "model.layers.{i}.mlp.gate_up_proj.weight", loom: []string{"model.layers.{i}.mlp.gate_proj.weight", "model.layers.{i}.mlp.up_proj.weight"}},
	}},
	// transformers' modeling_gpt2.py: GPT2Model's wte, wpe, h.{i} and
	// ln_f; GPT2Attention.c_attn is q, k and v (split(split_size, dim=2))
	// and every Conv1D (c_attn, c_proj, c_fc) computes x·W + b with W
	// [in, out]. attn.bias and attn.masked_bias are mask buffers older
	// versions saved.
	"gpt2": {
		tensors: []hfTensor{
			{hf: "transformer.wte.weight", loom: []string{"model.embed_tokens.weight"}},
			{hf: "transformer.wpe.weight", loom: []string{"model.embed_positions.weight"}},
			{hf: "transformer.ln_f.weight", loom: []string{"model.norm.weight"}},
			{hf: "transformer.ln_f.bias", loom: []string{"model.norm.bias"}},
			{hf: "transformer.h.{i}.ln_1.weight", loom: []string{"model.layers.{i}.input_layernorm.weight"}},
			{hf: "transformer.h.{i}.ln_1.bias", loom: []string{"model.layers.{i}.input_layernorm.bias"}},
			{hf: "transformer.h.{i}.attn.c_attn.weight", transposed: true, loom: []string{"model.layers.{i}.self_attn.q_proj.weight", "model.layers.{i}.self_attn.k_proj.weight", "model.layers.{i}.self_attn.v_proj.weight"}},
			{hf: "transformer.h.{i}.attn.c_attn.bias", loom: []string{"model.layers.{i}.self_attn.q_proj.bias", "model.layers.{i}.self_attn.k_proj.bias", "model.layers.{i}.self_attn.v_proj.bias"}},
			{hf: "transformer.h.{i}.attn.c_proj.weight", transposed: true, loom: []string{"model.layers.{i}.self_attn.o_proj.weight"}},
			{hf: "transformer.h.{i}.attn.c_proj.bias", loom: []string{"model.layers.{i}.self_attn.o_proj.bias"}},
			{hf: "transformer.h.{i}.ln_2.weight", loom: []string{"model.layers.{i}.post_attention_layernorm.weight"}},
			{hf: "transformer.h.{i}.ln_2.bias", loom: []string{"model.layers.{i}.post_attention_layernorm.bias"}},
			{hf: "transformer.h.{i}.mlp.c_fc.weight", transposed: true, loom: []string{"model.layers.{i}.mlp.up_proj.weight"}},
			{hf: "transformer.h.{i}.mlp.c_fc.bias", loom: []string{"model.layers.{i}.mlp.up_proj.bias"}},
			{hf: "transformer.h.{i}.mlp.c_proj.weight", transposed: true, loom: []string{"model.layers.{i}.mlp.down_proj.weight"}},
			{hf: "transformer.h.{i}.mlp.c_proj.bias", loom: []string{"model.layers.{i}.mlp.down_proj.bias"}},
		},
		ignored:    []string{".attn.bias", ".attn.masked_bias"},
		basePrefix: "transformer.",
	},
}

// hfPart is where a loom parameter lives in a checkpoint tensor: rows
// [row, row+rows) of the tensor as loom orients it.
type hfPart struct {
	hf         string
	row, rows  int
	transposed bool
}

// hfMapping is a layout made concrete for one model: each loom parameter's
// place, and each checkpoint tensor's loom parameters in order.
type hfMapping struct {
	parts  map[string]hfPart   // loom name → its place
	fused  map[string][]string // checkpoint name → loom names
	shapes map[string][]int    // loom name → shape
	flip   map[string]bool     // checkpoint name → stored transposed
	layout hfLayout
}

// newHFMapping makes c's layout concrete from the model's parameters
// (their shapes give each part's rows); nil when c's type has no layout.
func newHFMapping(c *decoder.Config, params []*autograd.Var) (*hfMapping, error) {
	l, ok := hfLayouts[c.ModelType]
	if !ok {
		return nil, nil
	}
	byName, err := nn.ParamMap(params)
	if err != nil {
		return nil, err
	}
	m := &hfMapping{parts: map[string]hfPart{}, fused: map[string][]string{}, shapes: map[string][]int{}, flip: map[string]bool{}, layout: l}
	indices := func(pattern, key string, n int) []int {
		if !strings.Contains(pattern, key) {
			return []int{-1}
		}
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	for _, t := range l.tensors {
		for _, i := range indices(t.hf, "{i}", c.NumHiddenLayers) {
			for _, e := range indices(t.hf, "{e}", c.NumExperts) {
				m.add(t, byName, strings.NewReplacer("{i}", strconv.Itoa(i), "{e}", strconv.Itoa(e)).Replace)
			}
		}
	}
	return m, nil
}

// add places the loom parameters of checkpoint tensor t, its indices
// filled by at.
func (m *hfMapping) add(t hfTensor, byName map[string]*autograd.Var, at func(string) string) {
	hf, row := at(t.hf), 0
	for _, ln := range t.loom {
		ln = at(ln)
		p, ok := byName[ln]
		if !ok {
			continue // a removed sublayer, an untied head, a dense layer of a mixture
		}
		m.parts[ln] = hfPart{hf: hf, row: row, rows: p.Dim(0), transposed: t.transposed}
		m.shapes[ln] = p.Shape()
		m.fused[hf] = append(m.fused[hf], ln)
		row += p.Dim(0)
	}
	m.flip[hf] = t.transposed
}

// fusedShape returns the shape checkpoint tensor hf must have.
func (m *hfMapping) fusedShape(hf string) []int {
	parts := m.fused[hf]
	s := slices.Clone(m.shapes[parts[0]])
	s[0] = 0
	for _, ln := range parts {
		s[0] += m.shapes[ln][0]
	}
	if m.flip[hf] && len(s) == 2 {
		s[0], s[1] = s[1], s[0]
	}
	return s
}

// hfSource presents a checkpoint in an architecture's layout under loom's
// names: fused tensors split, Conv1D weights transposed.
type hfSource struct {
	weightSource
	m *hfMapping
	// loaded holds checkpoint tensors, oriented as loom has them, until
	// their last part is taken (a file is read once per tensor).
	loaded map[string]*tensor.Tensor
	taken  map[string]int
}

// withHFLayout returns src seen through c's checkpoint layout when src is
// in it (it holds one of the layout's checkpoint names); src itself
// otherwise (loom's own names, as Save writes them). A checkpoint tensor
// of the wrong shape is an error naming it and the shape expected.
func withHFLayout(c *decoder.Config, src weightSource) (weightSource, error) {
	mm, err := decoder.Build(c, nn.Init{Empty: true})
	if err != nil {
		return nil, err
	}
	m, err := newHFMapping(c, mm.Params())
	if m == nil || err != nil {
		return src, err
	}
	if p := m.layout.basePrefix; p != "" && !slices.ContainsFunc(src.names(), func(n string) bool { return strings.HasPrefix(n, p) }) {
		if _, ok := src.shape(strings.TrimPrefix(m.layout.tensors[0].hf, p)); ok {
			src = &prefixedSource{weightSource: src, prefix: p}
		}
	}
	inLayout := false // a checkpoint name of the layout that is not loom's
	for _, n := range src.names() {
		_, fused := m.fused[n]
		_, isLoom := m.parts[n]
		inLayout = inLayout || fused && !isLoom
	}
	if !inLayout {
		return src, nil
	}
	for hf := range m.fused {
		s, ok := src.shape(hf)
		if ok && !tensor.EqualShape(s, m.fusedShape(hf)) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", src.file(hf), hf, s, m.fusedShape(hf))
		}
	}
	return &hfSource{weightSource: src, m: m, loaded: map[string]*tensor.Tensor{}, taken: map[string]int{}}, nil
}

func (s *hfSource) names() []string {
	var out []string
	for _, n := range s.weightSource.names() {
		if parts, ok := s.m.fused[n]; ok {
			out = append(out, parts...)
			continue
		}
		if s.ignored(n) {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// checkpointName returns the checkpoint tensor holding loom parameter
// name (name itself when the layout does not list it).
func (s *hfSource) checkpointName(name string) string {
	if p, ok := s.m.parts[name]; ok {
		return p.hf
	}
	return name
}

func (s *hfSource) ignored(n string) bool {
	for _, suf := range s.m.layout.ignored {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return false
}

func (s *hfSource) part(name string) (hfPart, bool) {
	p, ok := s.m.parts[name]
	if !ok {
		return p, false
	}
	_, in := s.weightSource.shape(p.hf)
	return p, in
}

func (s *hfSource) shape(name string) ([]int, bool) {
	if _, ok := s.part(name); ok {
		return s.m.shapes[name], true
	}
	return s.weightSource.shape(name)
}

func (s *hfSource) file(name string) string {
	if p, ok := s.part(name); ok {
		return s.weightSource.file(p.hf)
	}
	return s.weightSource.file(name)
}

func (s *hfSource) load(name string, dt tensor.DType) (*tensor.Tensor, error) {
	p, ok := s.part(name)
	if !ok {
		return s.weightSource.load(name, dt)
	}
	t, ok := s.loaded[p.hf]
	if !ok {
		var err error
		if t, err = s.weightSource.load(p.hf, tensor.Float32); err != nil {
			return nil, err
		}
		if t.DType() != tensor.Float32 {
			t = t.To(tensor.Float32)
		}
		if p.transposed {
			t = t.Transpose(0, 1).Contiguous()
		}
		s.loaded[p.hf] = t
	}
	if s.taken[p.hf]++; s.taken[p.hf] == len(s.m.fused[p.hf]) {
		delete(s.loaded, p.hf)
	}
	if len(s.m.fused[p.hf]) == 1 {
		return t, nil
	}
	return t.Slice(0, p.row, p.row+p.rows).Contiguous(), nil
}

func (s *hfSource) check(name string) error {
	if p, ok := s.part(name); ok {
		if s.m.fused[p.hf][0] != name {
			return nil // checked with the tensor's first part
		}
		return s.weightSource.check(p.hf)
	}
	return s.weightSource.check(name)
}

func (s *hfSource) locate(name string, i int) (string, int) {
	p, ok := s.part(name)
	if !ok {
		return s.weightSource.locate(name, i)
	}
	sh := s.m.shapes[name]
	cols := 1
	for _, d := range sh[1:] {
		cols *= d
	}
	row, col := i/cols+p.row, i%cols
	where, _ := s.weightSource.locate(p.hf, 0)
	if p.transposed {
		rows := s.m.fusedShape(p.hf)[1]
		return where, col*rows + row
	}
	return where, row*cols + col
}

// toHFLayout returns params as m's architecture stores them in a Hugging
// Face checkpoint: parts fused in order, Conv1D weights transposed, under
// the checkpoint's names (params unchanged for a type without a layout).
func toHFLayout(c *decoder.Config, params []*autograd.Var) ([]*autograd.Var, error) {
	m, err := newHFMapping(c, params)
	if m == nil || err != nil {
		return params, err
	}
	byName, _ := nn.ParamMap(params)
	var out []*autograd.Var
	done := map[string]bool{}
	for _, p := range params {
		part, ok := m.parts[p.Name]
		if !ok {
			out = append(out, p)
			continue
		}
		if done[part.hf] {
			continue
		}
		done[part.hf] = true
		var ts []*tensor.Tensor
		role := p.Role
		for _, ln := range m.fused[part.hf] {
			ts = append(ts, byName[ln].Value.To(tensor.Float32))
		}
		t := ts[0]
		if len(ts) > 1 {
			t = tensor.Concat(0, ts...)
		}
		if part.transposed {
			t = t.Transpose(0, 1).Contiguous()
		}
		out = append(out, autograd.NewParam(part.hf, role, t))
	}
	return out, nil
}

// prefixedSource shows a base model's checkpoint under the full model's
// names: prefix added to every tensor name.
type prefixedSource struct {
	weightSource
	prefix string
}

func (s *prefixedSource) names() []string {
	var out []string
	for _, n := range s.weightSource.names() {
		out = append(out, s.prefix+n)
	}
	return out
}

func (s *prefixedSource) inner(name string) string { return strings.TrimPrefix(name, s.prefix) }

func (s *prefixedSource) shape(name string) ([]int, bool) { return s.weightSource.shape(s.inner(name)) }
func (s *prefixedSource) file(name string) string         { return s.weightSource.file(s.inner(name)) }
func (s *prefixedSource) check(name string) error         { return s.weightSource.check(s.inner(name)) }
func (s *prefixedSource) load(name string, dt tensor.DType) (*tensor.Tensor, error) {
	return s.weightSource.load(s.inner(name), dt)
}
func (s *prefixedSource) locate(name string, i int) (string, int) {
	return s.weightSource.locate(s.inner(name), i)
}
