package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
)

func init() {
	register("inspect", "Print the metadata and tensors of a safetensors file, a GGUF file, a model directory or a training run.\n\n"+
		"Plain inspect reads only headers. --check also reads every tensor's data and counts its NaNs and infinities\n"+
		"(every element of a float tensor; the scales of a block-quantized one, whose quants are integers); it exits\n"+
		"with status 1, naming the tensors, when any tensor holds one.", runInspect)
}

// tensorRow is one tensor in inspect's listing.
type tensorRow struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Bytes int64  `json:"bytes"`
	File  string `json:"file,omitempty"`
	// With --check: the count of NaNs and infinities and the first of
	// them; a block type whose scales loom does not know is not checked
	// (no count, unchecked true).
	NonFinite *int   `json:"non_finite,omitempty"`
	Unchecked bool   `json:"unchecked,omitempty"`
	First     string `json:"first_non_finite,omitempty"`
}

// checkSummary is what --check found.
type checkSummary struct {
	Tensors   int `json:"tensors_checked"`
	NonFinite int `json:"tensors_non_finite"` // tensors holding a NaN or an infinity
	Unchecked int `json:"tensors_unchecked"`  // block types whose scales loom does not know
}

type inspection struct {
	Path     string            `json:"path"`
	Kind     string            `json:"kind"`
	Version  uint32            `json:"version,omitempty"`
	Metadata map[string]any    `json:"metadata,omitempty"`
	Config   *decoder.Config   `json:"config,omitempty"`
	Files    map[string]string `json:"files,omitempty"`
	Tensors  []tensorRow       `json:"tensors"`
	Params   int64             `json:"parameters"`
	Bytes    int64             `json:"tensor_bytes"`
	Check    *checkSummary     `json:"check,omitempty"`
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "PATH [--json] [--all] [--check]", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "print arrays in metadata in full (default: their length and first items)")
	check := fs.Bool("check", false, "read all tensor data and count each tensor's NaNs and infinities; exit status 1 if any (JSON: non_finite per tensor and a check summary)")
	var path string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		path, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if path == "" {
		fmt.Fprintln(stderr, "loom inspect: PATH is required")
		fs.Usage()
		return errUsage
	}
	in, err := inspectPath(path, *all, *check)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			return err
		}
		return in.checkErr()
	}
	fmt.Fprintf(stdout, "%s: %s", in.Path, in.Kind)
	if in.Version > 0 {
		fmt.Fprintf(stdout, " v%d", in.Version)
	}
	fmt.Fprintf(stdout, ", %d tensors, %d parameters, %.1f MB\n", len(in.Tensors), in.Params, float64(in.Bytes)/1e6)
	if in.Config != nil {
		c := in.Config
		fmt.Fprintf(stdout, "\nconfig: %s, hidden %d, layers %d, heads %d (kv %d, head_dim %d), ffn %d, vocab %d, context %d, rope_theta %g, tied %v\n",
			cmp.Or(c.ModelType, "llama"), c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.KVHeads(), c.HeadDimOrDefault(),
			c.IntermediateSize, c.VocabSize, c.MaxPositionEmbeddings, c.RopeTheta, c.TieWordEmbeddings)
	}
	if len(in.Files) > 0 {
		fmt.Fprintln(stdout, "\nfiles:")
		for _, k := range sortedKeys(in.Files) {
			fmt.Fprintf(stdout, "  %-32s %s\n", k, in.Files[k])
		}
	}
	if len(in.Metadata) > 0 {
		fmt.Fprintln(stdout, "\nmetadata:")
		for _, k := range sortedKeys(in.Metadata) {
			b, _ := json.Marshal(in.Metadata[k])
			fmt.Fprintf(stdout, "  %-44s %s\n", k, b)
		}
	}
	fmt.Fprintln(stdout, "\ntensors:")
	for _, t := range in.Tensors {
		fmt.Fprintf(stdout, "  %-48s %-5s %-16s %s\n", t.Name, t.DType, fmt.Sprint(t.Shape), t.File)
	}
	if c := in.Check; c != nil {
		fmt.Fprintln(stdout, "\ncheck:")
		for _, t := range in.Tensors {
			switch {
			case t.Unchecked:
				fmt.Fprintf(stdout, "  %-48s not checked (loom does not know where %s keeps its scales)\n", t.Name, t.DType)
			case *t.NonFinite > 0:
				fmt.Fprintf(stdout, "  %-48s %s (first: %s)\n", t.Name, plural(*t.NonFinite, "non-finite value"), t.First)
			}
		}
		if c.NonFinite == 0 {
			fmt.Fprintf(stdout, "  %s checked: all finite", plural(c.Tensors, "tensor"))
		} else {
			fmt.Fprintf(stdout, "  %s checked: %d with NaNs or infinities", plural(c.Tensors, "tensor"), c.NonFinite)
		}
		if c.Unchecked > 0 {
			fmt.Fprintf(stdout, "; %d not checked", c.Unchecked)
		}
		fmt.Fprintln(stdout)
	}
	return in.checkErr()
}

// checkErr is the error of a --check that found NaNs or infinities, naming
// the tensors.
func (in *inspection) checkErr() error {
	if in.Check == nil || in.Check.NonFinite == 0 {
		return nil
	}
	var bad []string
	for _, t := range in.Tensors {
		if t.NonFinite != nil && *t.NonFinite > 0 {
			bad = append(bad, t.Name)
		}
	}
	return fmt.Errorf("%s: %d of %s hold NaNs or infinities (the file is corrupt): %s", in.Path, len(bad), plural(in.Check.Tensors, "tensor"), nn.NameList(bad))
}

// checkRow records in t and in's summary what scanning a tensor found.
func (in *inspection) checkRow(t *tensorRow, d dtype.DType, nf dtype.NonFinite, checked bool) {
	if in.Check == nil {
		in.Check = &checkSummary{}
	}
	if !checked {
		t.Unchecked = true
		in.Check.Unchecked++
		return
	}
	in.Check.Tensors++
	n := nf.Count
	t.NonFinite = &n
	if n > 0 {
		in.Check.NonFinite++
		t.First = fmt.Sprintf("element %d is %s", nf.First, dtype.Describe(nf.Value))
		if nf.Scale {
			t.First = fmt.Sprintf("the scale of the block of elements %d to %d is %s", nf.First, nf.First+d.Info().Block-1, dtype.Describe(nf.Value))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func numel(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	return n
}

func inspectPath(path string, all, check bool) (*inspection, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	in := &inspection{Path: path}
	if st.IsDir() {
		// A training run's directory: inspect its checkpoint.
		if dir, _, err := convert.ResolvePath(path); err == nil && dir != path {
			in.Path, path = dir, dir
		}
		return in, inspectDir(in, path, check)
	}
	if gguf.IsGGUF(path) {
		return in, inspectGGUF(in, path, all, check)
	}
	return in, inspectSafetensors(in, path, "", check)
}

func inspectSafetensors(in *inspection, path, file string, check bool) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if in.Kind == "" {
		in.Kind = "safetensors"
		if len(f.Metadata) > 0 {
			in.Metadata = map[string]any{}
			for k, v := range f.Metadata {
				in.Metadata[k] = v
			}
		}
	}
	for _, t := range f.Infos() {
		row := tensorRow{Name: t.Name, DType: string(t.DType), Shape: t.Shape, Bytes: t.End - t.Begin, File: file}
		if check {
			nf, err := f.NonFinite(t.Name)
			if err != nil {
				return err
			}
			in.checkRow(&row, dtype.Invalid, nf, true)
		}
		in.Tensors = append(in.Tensors, row)
		in.Params += numel(t.Shape)
		in.Bytes += t.End - t.Begin
	}
	return nil
}

func inspectGGUF(in *inspection, path string, all, check bool) error {
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	in.Kind, in.Version = "gguf", f.Version
	in.Metadata = map[string]any{}
	for _, kv := range f.KV {
		in.Metadata[kv.Key] = summarize(kv.Value, all)
	}
	for _, t := range f.Tensors {
		row := tensorRow{Name: t.Name, DType: t.Type.String(), Shape: t.Shape, Bytes: int64(t.Size)}
		if check {
			nf, checked, err := f.NonFinite(t.Name)
			if err != nil {
				return err
			}
			d, _ := t.Type.DType()
			in.checkRow(&row, d, nf, checked)
		}
		in.Tensors = append(in.Tensors, row)
		in.Params += numel(t.Shape)
		in.Bytes += int64(t.Size)
	}
	return nil
}

// summarize shortens long arrays to their length and first items.
func summarize(v any, all bool) any {
	if all {
		return v
	}
	b, _ := json.Marshal(v)
	var items []any
	if json.Unmarshal(b, &items) != nil || len(items) <= 8 {
		return v
	}
	return map[string]any{"len": len(items), "first": items[:8]}
}

func inspectDir(in *inspection, dir string, check bool) error {
	c, err := decoder.LoadConfig(filepath.Join(dir, convert.ConfigFile))
	if err != nil {
		return err
	}
	in.Kind, in.Config = "model directory", c
	in.Files = map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			in.Files[e.Name()] = fmt.Sprintf("%.1f kB", float64(info.Size())/1e3)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, convert.WeightsFile)); err == nil {
		return inspectSafetensors(in, filepath.Join(dir, convert.WeightsFile), convert.WeightsFile, check)
	}
	data, err := os.ReadFile(filepath.Join(dir, convert.IndexFile))
	if err != nil {
		return fmt.Errorf("%s: no weights: neither %s nor %s exists", dir, convert.WeightsFile, convert.IndexFile)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("%s: %v", filepath.Join(dir, convert.IndexFile), err)
	}
	shards := map[string]bool{}
	for _, f := range idx.WeightMap {
		shards[f] = true
	}
	for _, f := range sortedKeys(shards) {
		if filepath.Base(f) != f {
			return fmt.Errorf("%s: shard %q is not a file name", filepath.Join(dir, convert.IndexFile), f)
		}
		if err := inspectSafetensors(in, filepath.Join(dir, f), f, check); err != nil {
			return err
		}
	}
	return nil
}

// plural is "1 tensor", "2 tensors".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
