package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// IndexFile is the name of a sharded checkpoint's index (weight_map from
// tensor name to shard file), as transformers writes it.
const IndexFile = "model.safetensors.index.json"

// LoadOptions control how a checkpoint is loaded.
type LoadOptions struct {
	// DType is the in-memory precision of the weight matrices (Linear
	// weights and embeddings): tensor.Float32 (the default when zero),
	// tensor.BFloat16, tensor.Float16 or tensor.Q8_0. Norm gains and biases
	// stay float32; activations are always float32. Low-precision models
	// run inference only.
	DType tensor.DType
	// WidenBlocks widens matrices a GGUF file stores in ggml's quantised
	// block types (q8_0, q4_K, q5_K, q6_K) to DType. By default they stay
	// in their blocks, which products compute on as llama.cpp does, whatever
	// DType is; types products cannot read (q2_K, q3_K, q4_0 …) are widened
	// to float32 either way, their inputs rounded as llama.cpp's products
	// round them.
	WidenBlocks bool
}

// Load reads a model directory: config.json and model.safetensors (or the
// shards of model.safetensors.index.json), as Save or Hugging Face write
// them, with float32 weights.
func Load(dir string) (*decoder.Model, error) { return LoadWith(dir, LoadOptions{}) }

// LoadWith reads a model from path: a directory as Load reads it, or a
// GGUF file. Everything is validated (config, index, shard files, tensor
// names, shapes and dtypes) before any weight is allocated, and errors name
// the file and the problem.
func LoadWith(path string, o LoadOptions) (*decoder.Model, error) {
	if o.DType == 0 {
		o.DType = tensor.Float32
	}
	if err := decoder.CheckWeightDType(o.DType); err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		if gguf.IsGGUF(path) {
			return loadGGUF(path, o)
		}
		return nil, fmt.Errorf("%s: not a model directory or a GGUF file (for a .safetensors file, give the directory that holds it and its config.json)", path)
	}
	c, err := decoder.LoadConfig(filepath.Join(path, ConfigFile))
	if err != nil {
		return nil, err
	}
	src, err := openSafetensors(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	ws, err := withHFLayout(c, src) // Phi-3's fused, GPT-2's Conv1D tensors
	if err != nil {
		return nil, err
	}
	return fill(c, ws, o)
}

// weightSource is a set of named tensors a model is filled from: a
// safetensors file, the shards of an index, or a GGUF file.
type weightSource interface {
	// names lists every tensor, by its loom (HF) name.
	names() []string
	// shape returns a tensor's row-major shape.
	shape(name string) ([]int, bool)
	// file names the file holding a tensor, for errors.
	file(name string) string
	// load reads a tensor as float32, or packed as dt when the source can
	// do so without a float32 copy (nil, nil otherwise).
	load(name string, dt tensor.DType) (*tensor.Tensor, error)
	// check fails, naming the file, the tensor and the first bad element,
	// when a tensor holds a NaN or an infinity as stored (a block type's
	// scales included): such weights make every output NaN or garbage.
	check(name string) error
	// locate names the file and tensor of element i of a loaded tensor
	// ("model.gguf: tensor blk.0.attn_q.weight (model.layers.0…)"), and
	// its index in the file's layout.
	locate(name string, i int) (string, int)
	Close() error
}

// ignorable reports whether a checkpoint tensor that the model does not use
// is known to be harmless: rotary tables older transformers saved, and the
// lm_head copy of tied embeddings.
func ignorable(c *decoder.Config, name string) bool {
	return strings.HasSuffix(name, ".rotary_emb.inv_freq") || (c.TieWordEmbeddings && name == "lm_head.weight")
}

// blockTyped is a weightSource that can say which ggml block type a tensor
// is stored in (0 for none).
type blockTyped interface {
	blockType(name string) tensor.DType
}

// weightDType is the type p is held in: decoder.WeightDType, except for a
// matrix src stores in a quantised block type: one products compute on
// stays in it (unless o.WidenBlocks), others are widened to float32.
func weightDType(p *autograd.Var, src weightSource, o LoadOptions) tensor.DType {
	dt := decoder.WeightDType(p, o.DType)
	if bs, ok := src.(blockTyped); ok && p.Role.Packable() && p.NDim() == 2 {
		switch bt := bs.blockType(p.Name); {
		case bt == 0:
		case !bt.Packed():
			return tensor.Float32 // widened; its inputs rounded (roundBlockInputs)
		case !o.WidenBlocks:
			return bt
		}
	}
	return dt
}

// fill builds c's model with empty weights, checks src against it, then
// loads every tensor.
func fill(c *decoder.Config, src weightSource, o LoadOptions) (*decoder.Model, error) {
	m, err := decoder.Build(c, nn.Init{Empty: true})
	if err != nil {
		return nil, err
	}
	params := m.Params()
	want, err := nn.ParamMap(params)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	var missing, unexpected []string
	for _, n := range src.names() {
		have[n] = true
		if _, ok := want[n]; !ok && !ignorable(c, n) {
			unexpected = append(unexpected, n)
		}
	}
	for n := range want {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if cn, ok := src.(interface{ checkpointName(string) string }); ok {
		// Name what is missing as the checkpoint would hold it (GPT-2's
		// c_attn rather than loom's q_proj, k_proj and v_proj).
		seen := map[string]bool{}
		out := missing[:0]
		for _, n := range missing {
			if c := cn.checkpointName(n); !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		missing = out
	}
	if len(missing) > 0 || len(unexpected) > 0 {
		sort.Strings(missing)
		sort.Strings(unexpected)
		where := "the checkpoint"
		if len(missing) > 0 {
			where = src.file("")
		} else {
			where = src.file(unexpected[0])
		}
		return nil, fmt.Errorf("%s: tensors do not match the config: missing %s; unexpected %s", where, nn.NameList(missing), nn.NameList(unexpected))
	}
	for _, p := range params {
		s, _ := src.shape(p.Name)
		if !tensor.EqualShape(s, p.Shape()) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", src.file(p.Name), p.Name, s, p.Shape())
		}
	}
	need := int64(0)
	for _, p := range params {
		need += weightDType(p, src, o).Bytes(p.Shape())
	}
	if avail, ok := availableMemory(); ok && need > avail {
		return nil, fmt.Errorf("%s: the weights need %.1f GB as %v, more than the %.1f GB of memory available; load them as bf16 or q8_0 (--dtype)",
			src.file(""), float64(need)/1e9, o.DType, float64(avail)/1e9)
	}
	garbage := 0 // bytes of float32 temporaries since the last collection
	converted := false
	for _, p := range params {
		dt := weightDType(p, src, o)
		if err := src.check(p.Name); err != nil {
			return nil, err
		}
		t, err := src.load(p.Name, dt)
		if err != nil {
			return nil, err
		}
		if t.DType() != dt {
			garbage += 4 * t.Numel()
			packed := tensor.Pack(t, dt)
			if err := checkPacked(src, p.Name, t, packed); err != nil {
				return nil, err
			}
			t = packed
		}
		p.Value = t
		// Packing a large model leaves a float32 copy of each matrix
		// behind; collect them early rather than let the heap grow to
		// twice the model (GOGC) and out of memory.
		if garbage > 1<<30 {
			runtime.GC()
			converted, garbage = true, 0
		}
		converted = converted || garbage > 0
	}
	if converted {
		debug.FreeOSMemory() // return the temporaries' pages, so RSS is the model's
	}
	return m, nil
}

// shards is a safetensors checkpoint: one file or the shards of an index.
type shards struct {
	dir   string
	index string                       // the index file, or "" for one file
	by    map[string]*safetensors.File // tensor name → its file
	files []*safetensors.File
	// left counts each file's tensors not loaded yet; a file is unmapped
	// when its last one is, so the mapped pages of a large checkpoint do
	// not add up on top of the loaded model.
	left map[*safetensors.File]int
}

// openSafetensors opens dir's model.safetensors, or else the shards its
// model.safetensors.index.json lists, checking that each exists and holds
// the tensors the index puts in it.
func openSafetensors(dir string) (*shards, error) {
	s := &shards{dir: dir, by: map[string]*safetensors.File{}, left: map[*safetensors.File]int{}}
	defer func() {
		for _, f := range s.by {
			s.left[f]++
		}
	}()
	single := filepath.Join(dir, WeightsFile)
	if _, err := os.Stat(single); err == nil {
		f, err := safetensors.Open(single)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, f)
		for _, n := range f.Names() {
			s.by[n] = f
		}
		return s, nil
	}
	s.index = filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(s.index)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no weights: neither %s nor %s exists", dir, WeightsFile, IndexFile)
	}
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: not a safetensors index: %v", s.index, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: weight_map is missing or empty", s.index)
	}
	byFile := map[string][]string{}
	for name, file := range idx.WeightMap {
		if file == "" || filepath.Base(file) != file || file == "." || file == ".." {
			return nil, fmt.Errorf("%s: weight_map[%q] is %q, want a file name in the same directory", s.index, name, file)
		}
		byFile[file] = append(byFile[file], name)
	}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, file := range files {
		names := byFile[file]
		sort.Strings(names)
		path := filepath.Join(dir, file)
		if _, err := os.Stat(path); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: shard %s (holding %d tensors, e.g. %s) is missing: %v", s.index, file, len(names), names[0], err)
		}
		f, err := safetensors.Open(path)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, f)
		for _, n := range names {
			if _, ok := f.Info(n); !ok {
				s.Close()
				return nil, fmt.Errorf("%s: the index puts tensor %q in this shard, which does not hold it", path, n)
			}
			s.by[n] = f
		}
	}
	return s, nil
}

func (s *shards) names() []string { return slices.Sorted(maps.Keys(s.by)) }

func (s *shards) shape(name string) ([]int, bool) {
	f, ok := s.by[name]
	if !ok {
		return nil, false
	}
	in, _ := f.Info(name)
	return in.Shape, true
}

func (s *shards) file(name string) string {
	if f, ok := s.by[name]; ok {
		return f.Path
	}
	if s.index != "" {
		return s.index
	}
	return filepath.Join(s.dir, WeightsFile)
}

func (s *shards) load(name string, dt tensor.DType) (t *tensor.Tensor, err error) {
	f := s.by[name]
	defer func() {
		if s.left[f]--; s.left[f] == 0 && err == nil {
			err = f.Close()
		}
	}()
	in, _ := f.Info(name)
	// A tensor stored as the type asked for is used in place: the file
	// stays mapped, copy-on-write (safetensors.File.Retain).
	if dt == tensor.BFloat16 && in.DType == safetensors.BF16 || dt == tensor.Float16 && in.DType == safetensors.F16 {
		b, err := f.View(name)
		if err != nil {
			return nil, err
		}
		f.Retain()
		return tensor.FromPacked(dt, b, in.Shape...)
	}
	if dt == tensor.Float32 && in.DType == safetensors.F32 {
		b, err := f.View(name)
		if err != nil {
			return nil, err
		}
		if v, ok := float32sInPlace(b); ok {
			f.Retain()
			return tensor.FromFloat32(v, in.Shape...), nil
		}
	}
	if (in.DType == safetensors.BF16 || in.DType == safetensors.F16) && len(in.Shape) > 0 {
		// Widen with the vector kernels, straight from the mapping.
		b, err := f.View(name)
		if err != nil {
			return nil, err
		}
		pt := map[safetensors.DType]tensor.DType{safetensors.BF16: tensor.BFloat16, safetensors.F16: tensor.Float16}[in.DType]
		t, err := tensor.FromPacked(pt, b, in.Shape...)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", f.Path, name, err)
		}
		return t.To(tensor.Float32), nil
	}
	v, shape, err := f.Float32(name)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(v, shape...), nil
}

func (s *shards) check(name string) error {
	f := s.by[name]
	in, _ := f.Info(name)
	nf, err := f.NonFinite(name)
	if err != nil {
		return err
	}
	d, _ := dtype.FromSafetensors(string(in.DType))
	return nf.Corrupt(f.Path+": tensor "+name, d)
}

func (s *shards) locate(name string, i int) (string, int) {
	return s.file(name) + ": tensor " + name, i
}

func (s *shards) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// availableMemory returns MemAvailable plus SwapFree from /proc/meminfo
// (false where there is none).
func availableMemory() (int64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	var total int64
	found := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "MemAvailable:" || f[0] == "SwapFree:") {
			var kb int64
			fmt.Sscan(f[1], &kb)
			total += kb * 1024
			found = found || f[0] == "MemAvailable:"
		}
	}
	return total, found
}
