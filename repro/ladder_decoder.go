package repro

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/sparse"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/quant/w8a8"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

// ladderForm is one rung of the ladder: a source model (the trained
// decoder or its distilled student), an optional weight pruning and an
// optional quantisation, applied in that order.
type ladderForm struct {
	Name, Kind string
	Student    bool   // the distilled 2-layer student
	Prune      string // "", "magnitude" (50 %, per layer) or "2:4"
	Quant      string // "", "int8" (W8A8, q8_0/VNNI activations) or "q4_K_M" (GGUF)
}

// ladderForms are the decoder's forms, fixed before the first full run:
// the base, the five single methods and five combinations.
var ladderForms = []ladderForm{
	{Name: "fp32 base", Kind: ladderBase},
	{Name: "magnitude 50%", Kind: ladderSingle, Prune: "magnitude"},
	{Name: "2:4", Kind: ladderSingle, Prune: "2:4"},
	{Name: "int8", Kind: ladderSingle, Quant: "int8"},
	{Name: "q4_K_M", Kind: ladderSingle, Quant: "q4_K_M"},
	{Name: "distilled", Kind: ladderSingle, Student: true},
	{Name: "distilled+int8", Kind: ladderCombo, Student: true, Quant: "int8"},
	{Name: "distilled+q4_K_M", Kind: ladderCombo, Student: true, Quant: "q4_K_M"},
	{Name: "distilled+2:4", Kind: ladderCombo, Student: true, Prune: "2:4"},
	{Name: "2:4+int8", Kind: ladderCombo, Prune: "2:4", Quant: "int8"},
	{Name: "magnitude+q4_K_M", Kind: ladderCombo, Prune: "magnitude", Quant: "q4_K_M"},
}

// ladderRatio is magnitude pruning's fraction of the block weights zeroed.
const ladderRatio = 0.5

// ladderStudentLayers are the teacher layers the 2-layer student starts
// from (one of two, as DistilBERT initialises its student).
var ladderStudentLayers = []int{0, 2}

// decoderSettings are the decoder part's budgets.
type decoderSettings struct {
	TeacherSteps, StudentSteps int
	EvalTokens                 int
	Repeats                    int
	Threads                    []int
}

func ladderDecoderSettings(quick bool) decoderSettings {
	if quick {
		return decoderSettings{TeacherSteps: 150, StudentSteps: 60, EvalTokens: 10000, Repeats: 11, Threads: []int{1, 2}}
	}
	return decoderSettings{TeacherSteps: 600, StudentSteps: 300, EvalTokens: 30000, Repeats: 21, Threads: []int{1, 2}}
}

// formResult is one form's measurements on one seed.
type formResult struct {
	Loss      float64         // held-out nats/byte (decoder) or test error (encoder)
	Disk      int64           // bytes of the file loom writes; -1: no on-disk format
	Mem       int64           // weight bytes as the forward reads them
	Params    int             // parameters (the student has fewer)
	Lat       []decodeLatency // per thread count
	GGUFTypes string          // the GGUF file's tensor types (q4_K_M forms)
}

// decoderSeed trains the teacher and distils the student of one seed, then
// builds and measures every form.
func decoderSeed(c *Context, seed uint64, s decoderSettings) ([]formResult, decoderSetup, error) {
	var setup decoderSetup
	corpus := data.TinyShakespeare()
	spec, err := train.LookupPreset("quickstart")
	if err != nil {
		return nil, setup, err
	}
	spec.Train.Seed = seed
	spec.Train.Steps, spec.Train.Warmup = s.TeacherSteps, max(1, s.TeacherSteps/20)
	spec.Train.EvalEvery, spec.Train.CheckpointEvery = s.TeacherSteps/4, s.TeacherSteps
	dir := filepath.Join(c.WorkDir, fmt.Sprintf("teacher-%d-%d", seed, s.TeacherSteps))
	fmt.Fprintf(c.Progress, "compression-ladder: seed %d, training the decoder (%d steps)\n", seed, s.TeacherSteps)
	o, err := (&train.Job{Spec: spec, Text: corpus, OutDir: dir, Resume: true, Progress: c.Progress}).Run()
	if err != nil {
		return nil, setup, err
	}
	tok := o.Tokenizer
	held := eval.HeldOutText(corpus, tok, spec.Train.ValFraction)
	trainIDs := tok.Encode(string(corpus[:len(corpus)-len(held)]))
	heldIDs := tok.Encode(string(held))
	eo := eval.Options{SeqLen: spec.Train.SeqLen, MaxTokens: s.EvalTokens}
	teacherDir := filepath.Join(dir, train.CheckpointDir)
	studentDir := filepath.Join(c.WorkDir, fmt.Sprintf("student-%d-%d-%d", seed, s.TeacherSteps, s.StudentSteps))
	if err := distilStudent(c, o.Model, teacherDir, studentDir, trainIDs, seed, s.StudentSteps); err != nil {
		return nil, setup, err
	}
	setup = decoderSetup{Spec: spec, HeldTokens: len(heldIDs)}
	scratch := filepath.Join(c.WorkDir, fmt.Sprintf("forms-%d", seed))
	if err := os.RemoveAll(scratch); err != nil {
		return nil, setup, err
	}
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, setup, err
	}
	var out []formResult
	for _, f := range ladderForms {
		src := teacherDir
		if f.Student {
			src = studentDir
		}
		m, r, err := buildForm(f, src, filepath.Join(scratch, strings.NewReplacer("%", "", ":", "", "+", "-", " ", "-").Replace(f.Name)), tok)
		if err != nil {
			return nil, setup, fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := pack24(f, m, &r); err != nil {
			return nil, setup, fmt.Errorf("%s: %w", f.Name, err)
		}
		res, err := eval.Tokens(m, heldIDs, tok, eo)
		if err != nil {
			return nil, setup, fmt.Errorf("%s: %w", f.Name, err)
		}
		r.Loss = res.Loss
		setup.Scored = res.Tokens
		for _, th := range s.Threads {
			l, err := measureDecoder(m, th, s.Repeats)
			if err != nil {
				return nil, setup, fmt.Errorf("%s: %w", f.Name, err)
			}
			r.Lat = append(r.Lat, l)
		}
		fmt.Fprintf(c.Progress, "compression-ladder: seed %d, %-18s loss %.4f, decode %.3f ms/token, prefill %.1f ms (1 thread), disk %d B, memory %d B\n",
			seed, f.Name, r.Loss, r.Lat[0].DecodeMs, r.Lat[0].PrefillMs, r.Disk, r.Mem)
		out = append(out, r)
	}
	return out, setup, nil
}

// decoderSetup records what the report describes.
type decoderSetup struct {
	Spec       *train.Spec
	HeldTokens int // tokens of the held-out split
	Scored     int // tokens scored
}

// buildForm loads src and applies f; scratch is the path prefix of the
// files the form writes (its safetensors directory or GGUF file).
func buildForm(f ladderForm, src, scratch string, tok tokenizer.Tokenizer) (*decoder.Model, formResult, error) {
	r := formResult{Disk: -1}
	m, err := convert.Load(src)
	if err != nil {
		return nil, r, err
	}
	if f.Prune != "" {
		ts, err := sparse.Targets(m)
		if err != nil {
			return nil, r, err
		}
		if f.Prune == "2:4" {
			_, err = sparse.TwoFour(ts)
		} else {
			_, err = sparse.Magnitude(ts, ladderRatio, sparse.ScopeLayer)
		}
		if err != nil {
			return nil, r, err
		}
	}
	switch f.Quant {
	case "":
		// The float model as loom saves it (pruned weights stay dense).
		if err := convert.Save(m, scratch); err != nil {
			return nil, r, err
		}
		st, err := os.Stat(filepath.Join(scratch, convert.WeightsFile))
		if err != nil {
			return nil, r, err
		}
		r.Disk = st.Size()
		if f.Prune != "2:4" { // 2:4: packed by pack24
			m.PackWeights()
		}
	case "int8":
		// No on-disk format: the weights are quantised in memory.
		if _, err := w8a8.Decoder(m, w8a8.Options{Activations: w8a8.Block32}); err != nil {
			return nil, r, err
		}
		m.PackWeights() // the embedding/head, still float32
	case "q4_K_M":
		mix, err := convert.ParseQuantMix("q4_K_M")
		if err != nil {
			return nil, r, err
		}
		path := scratch + ".gguf"
		if err := convert.ExportGGUFMix(m, path, tok, mix, "compression-ladder", convert.WriteOptions{}); err != nil {
			return nil, r, err
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, r, err
		}
		r.Disk = st.Size()
		if r.GGUFTypes, err = ggufTypes(path); err != nil {
			return nil, r, err
		}
		l, err := convert.Open(path, convert.LoadOptions{})
		if err != nil {
			return nil, r, err
		}
		m = l.Model
		m.PackWeights() // any matrix left float32
	default:
		return nil, r, fmt.Errorf("unknown quantisation %q", f.Quant)
	}
	r.Mem = weightBytes(m, 0)
	r.Params = m.NumParams()
	return m, r, nil
}

// pack24 moves a 2:4 form without quantisation onto the packed 2:4 kernel
// and counts its packed bytes; other forms are left as they are.
func pack24(f ladderForm, m *decoder.Model, r *formResult) error {
	if f.Prune != "2:4" || f.Quant != "" {
		return nil
	}
	n, err := m.Pack24Weights()
	if err != nil {
		return err
	}
	r.Mem = weightBytes(m, n)
	return nil
}

// initFromTeacher copies the teacher's parameters into the student's of
// the same name, student layer i (named by the pattern, such as
// "layers.%d.") taking teacher layer layers[i].
func initFromTeacher(student, teacher []*autograd.Var, pattern string, layers []int) error {
	byName := map[string][]float32{}
	for _, p := range teacher {
		byName[p.Name] = p.Value.F32()
	}
	for _, p := range student {
		name := p.Name
		for i, l := range layers {
			if pre := fmt.Sprintf(pattern, i); strings.Contains(name, pre) {
				name = strings.Replace(name, pre, fmt.Sprintf(pattern, l), 1)
				break
			}
		}
		w, ok := byName[name]
		if !ok || len(w) != p.Value.Numel() {
			return fmt.Errorf("student parameter %s has no teacher counterpart %s", p.Name, name)
		}
		copy(p.Value.F32(), w)
	}
	return nil
}

// ggufTypes summarises the tensor types of a GGUF file: "q5_0 ×24, f32 ×9".
func ggufTypes(path string) (string, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	n := map[string]int{}
	for _, t := range f.Tensors {
		n[t.Type.String()]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n[k]))
	}
	return strings.Join(parts, ", "), nil
}

// distilStudent builds the 2-layer student of the teacher (same width; its
// embedding, final norm, head and layers from ladderStudentLayers of the
// teacher) and distils it for steps steps (KL at τ = 2 plus the text's
// cross-entropy), saving it to dir; a student already in dir is kept.
func distilStudent(c *Context, teacher *decoder.Model, teacherDir, dir string, trainIDs []int, seed uint64, steps int) error {
	if _, err := os.Stat(filepath.Join(dir, convert.WeightsFile)); err == nil {
		return nil
	}
	cfg, err := decoder.ParseConfig("student", teacher.Config.JSON())
	if err != nil {
		return err
	}
	cfg.NumHiddenLayers = len(ladderStudentLayers)
	st, err := decoder.New(cfg, seed)
	if err != nil {
		return err
	}
	if err := initFromTeacher(st.Params(), teacher.Params(), "layers.%d.", ladderStudentLayers); err != nil {
		return err
	}
	d, err := distill.New(st, teacher, distill.Config{KL: 1, CE: 1, Temperature: 2})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Progress, "compression-ladder: seed %d, distilling the 2-layer student (%d steps)\n", seed, steps)
	if err := tuneOn(d, trainIDs, steps, seed); err != nil {
		return err
	}
	if err := convert.Save(st, dir); err != nil {
		return err
	}
	// The student shares the teacher's tokenizer files, if any.
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if b, err := os.ReadFile(filepath.Join(teacherDir, name)); err == nil {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
