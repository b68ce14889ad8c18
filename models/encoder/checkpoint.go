package encoder

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Files of a model directory, as transformers writes them.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
)

// LoadOptions say what to build from a checkpoint.
type LoadOptions struct {
	// Architecture, when set and not the checkpoint's, builds that
	// architecture on the checkpoint's base model, as transformers'
	// from_pretrained does: a classifier from an MLM-pretrained BERT, say.
	// Head (and pooler) parameters the file lacks are drawn fresh from
	// Seed; those of another head are left out. Both are listed in the
	// report.
	Architecture string
	// Labels name the classes of a new classification head (in id order);
	// Regression makes it a one-output regression head instead.
	Labels     []string
	Regression bool
	Seed       uint64
}

// LoadReport lists what a load did beyond copying tensors.
type LoadReport struct {
	Initialised []string // parameters the file lacked, drawn fresh
	Dropped     []string // tensors of the file's head, not used
}

// isTaskHead reports whether a canonical name belongs to a task head
// (classifier, MLM head); isHead also counts BERT's pooler. A load may
// initialise those or leave them out.
func isTaskHead(canonical string) bool {
	return strings.HasPrefix(canonical, "classifier") || strings.HasPrefix(canonical, "cls.")
}

func isHead(canonical string) bool {
	return isTaskHead(canonical) || strings.HasPrefix(canonical, "pooler.")
}

// canonical maps a checkpoint name to the base-model-relative name loom
// matches on: without the task model's base prefix, and with TF-era
// LayerNorm gamma/beta read as weight/bias (as transformers does).
func canonical(name string) string {
	for _, p := range []string{"bert.", "audio_spectrogram_transformer."} {
		name = strings.TrimPrefix(name, p)
	}
	if strings.HasSuffix(name, "LayerNorm.gamma") {
		name = strings.TrimSuffix(name, "gamma") + "weight"
	} else if strings.HasSuffix(name, "LayerNorm.beta") {
		name = strings.TrimSuffix(name, "beta") + "bias"
	}
	return name
}

// ignorable are tensors transformers writes that hold nothing of their
// own: position_ids buffers and the MLM decoder tied to the embeddings.
func ignorable(canonical string) bool {
	return strings.HasSuffix(canonical, "position_ids") || canonical == "cls.predictions.decoder.weight" ||
		canonical == "cls.predictions.decoder.bias"
}

// Load reads a model directory (config.json and model.safetensors) as
// transformers or Save write it.
func Load(dir string) (*Model, error) {
	m, _, err := LoadWith(dir, LoadOptions{})
	return m, err
}

// LoadWith reads a model directory, building o.Architecture when set.
// Every name and shape is checked, and errors name the file and tensor.
func LoadWith(dir string, o LoadOptions) (*Model, *LoadReport, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	c, err := LoadConfig(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	newHead := false
	if o.Architecture == "" && (o.Labels != nil || o.Regression) {
		o.Architecture = c.Architecture()
	}
	if o.Architecture != "" && (o.Architecture != c.Architecture() || o.Labels != nil || o.Regression) {
		newHead = o.Architecture == c.Architecture() // the same head with other labels: drawn fresh
		mt, ok := architectures[o.Architecture]
		if !ok {
			return nil, nil, fmt.Errorf("architecture %q: loom's encoders are %s", o.Architecture, strings.Join(ArchitectureNames(), ", "))
		}
		if mt != c.ModelType {
			return nil, nil, fmt.Errorf("%s: a %s checkpoint cannot become a %s", cfgPath, c.ModelType, o.Architecture)
		}
		c.Architectures = []string{o.Architecture}
		c.ProblemType = ""
		c.ID2Label, c.Label2ID = nil, nil
		if o.Regression {
			c.ProblemType = problemRegression
			c.SetLabels([]string{"LABEL_0"})
		} else if len(o.Labels) > 0 {
			c.ProblemType = problemSingleLabel
			c.SetLabels(o.Labels)
		}
		if err := c.Validate(); err != nil {
			return nil, nil, err
		}
	}
	m, err := New(c, o.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	rep, err := m.load(filepath.Join(dir, WeightsFile), newHead)
	if err != nil {
		return nil, nil, err
	}
	return m, rep, nil
}

// load fills m's parameters from a safetensors file; with newHead the
// file's task head (classifier, cls) is left out and m's drawn fresh.
func (m *Model) load(path string, newHead bool) (*LoadReport, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &LoadReport{}
	inFile := map[string]string{} // canonical → file name
	for _, n := range f.Names() {
		c := canonical(n)
		if newHead && isTaskHead(c) {
			rep.Dropped = append(rep.Dropped, n)
			continue
		}
		if prev, dup := inFile[c]; dup {
			return nil, fmt.Errorf("%s: tensors %q and %q are the same parameter", path, prev, n)
		}
		inFile[c] = n
	}
	if _, ok := inFile["cls.predictions.bias"]; !ok {
		if n, ok := inFile["cls.predictions.decoder.bias"]; ok {
			inFile["cls.predictions.bias"] = n // the older spelling of the tied bias
			delete(inFile, "cls.predictions.decoder.bias")
		}
	}
	used := map[string]bool{}
	var missing []string
	type pair struct {
		p    *autograd.Var
		name string
	}
	var todo []pair
	for _, p := range m.Params() {
		c := canonical(p.Name)
		n, ok := inFile[c]
		switch {
		case ok:
			if in, _ := f.Info(n); !tensor.EqualShape(in.Shape, p.Shape()) {
				// Checked before any tensor is read.
				return nil, fmt.Errorf("%s: tensor %q has shape %v, the model expects %v", path, n, in.Shape, p.Shape())
			}
			used[c] = true
			todo = append(todo, pair{p, n})
		case isHead(c):
			rep.Initialised = append(rep.Initialised, p.Name)
		default:
			missing = append(missing, p.Name)
		}
	}
	var unexpected []string
	for c, n := range inFile {
		switch {
		case used[c] || ignorable(c):
		case isHead(c):
			rep.Dropped = append(rep.Dropped, n)
		default:
			unexpected = append(unexpected, n)
		}
	}
	if len(missing) > 0 || len(unexpected) > 0 {
		sort.Strings(missing)
		sort.Strings(unexpected)
		return nil, fmt.Errorf("%s: tensors do not match a %s: missing %s; unexpected %s", path, m.Config.Architecture(), nn.NameList(missing), nn.NameList(unexpected))
	}
	for _, t := range todo {
		if err := nn.LoadTensor(f, t.name, t.p); err != nil {
			return nil, err
		}
	}
	sort.Strings(rep.Initialised)
	sort.Strings(rep.Dropped)
	return rep, nil
}

// Save writes dir/model.safetensors (float32, Hugging Face names; the MLM
// decoder tied to the embeddings is not written, as transformers does not)
// and then dir/config.json, each atomically. The config records the
// sublayers removed from m's layers and their top-k attention
// (RecordPruning), and torch_dtype float32.
func Save(m *Model, dir string) error { return SaveAs(m, dir, tensor.Float32) }

// SaveAs is Save with the weights stored as dt: tensor.Float32,
// tensor.BFloat16 or tensor.Float16 (float32 values rounded to nearest,
// ties to even, as they are written), and config.json's torch_dtype saying
// so. m's values are not changed.
func SaveAs(m *Model, dir string, dt tensor.DType) error {
	var st safetensors.DType
	switch dt {
	case tensor.Float32, tensor.BFloat16, tensor.Float16:
		st = safetensors.DType(dt.Info().Safetensors)
	default:
		return fmt.Errorf("encoder: weights as %v: want f32, bf16 or f16", dt)
	}
	if err := m.RecordPruning(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := nn.SaveParams(filepath.Join(dir, WeightsFile), m.Params(), st, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	c := *m.Config
	c.TorchDtype = dt.Info().Torch
	return fsutil.WriteFile(filepath.Join(dir, ConfigFile), c.JSON())
}
