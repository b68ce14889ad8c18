package sweep

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/train"
)

// Files and directories of a sweep's output directory.
const (
	RecordFile   = "sweep.json"  // the base config's hash and the grids run
	ConfigFile   = "config.json" // a copy of the base config file's bytes
	RunsDir      = "runs"        // one training run per grid point and seed
	SpecFile     = "spec.json"   // a run's spec, as `loom train --config` reads it
	IdentityFile = "run.json"    // a run's spec and data hashes
	ResultFile   = "result.json" // written when a run has finished
	CSVFile      = "results.csv"
	MarkdownFile = "results.md"
)

// Status of a finished run.
const (
	StatusOK       = "ok"
	StatusDiverged = "diverged" // the training or validation loss became NaN or infinite
)

// Sweep trains a spec at every point of a grid of its keys, Seeds times
// each, into Out/runs/NAME, and tabulates the results. It resumes: a run
// that finished (Out/runs/NAME/result.json) is not trained again, and an
// interrupted one continues from its checkpoint. Its errors name the
// command-line flags they come from (--grid, --config, --out, --force).
type Sweep struct {
	Config     []byte // the base spec: a {"model", "train"} spec or a bare config.json
	ConfigName string // where Config came from (--config), for messages and the record
	Axes       []Axis
	// Seeds is the number of runs per grid point, with seeds train.seed,
	// train.seed+1, … of the spec (0: 1).
	Seeds int
	// Steps, when positive, overrides train.steps.
	Steps    int
	Text     []byte // the corpus
	DataName string // what Text is, for the record
	Out      string
	// Force continues a sweep whose base config changed, and trains again
	// (from scratch) the runs whose spec or data changed; without it both
	// are refused.
	Force         bool
	Progress      io.Writer // one line per run, and the training's progress
	ProgressEvery time.Duration
	// Context, when canceled, stops the run under way after its step
	// under way, with a checkpoint (train.Job.Context); Run then returns
	// its *train.Interrupted.
	Context context.Context
}

// Planned is one run of a sweep.
type Planned struct {
	Name  string
	Point Point
	Seed  uint64
	Spec  *train.Spec
	JSON  []byte // the spec as Out/runs/NAME/spec.json holds it
}

// Plan is every run of a sweep, in order: grid points in the order of
// Expand, each with its seeds.
type Plan struct {
	Keys []string // the axes' keys, in the flags' order
	Runs []Planned
	// Bare is set when the base config was a bare config.json, trained
	// with train.DefaultPreset's settings.
	Bare bool
}

// Result is one run's outcome: a row of the results table.
type Result struct {
	Name               string                     `json:"name"`
	Grid               map[string]json.RawMessage `json:"grid"`
	Seed               uint64                     `json:"seed"`
	Params             int                        `json:"params"`
	NonEmbeddingParams int                        `json:"non_embedding_params"` // without token and position embeddings and an untied head
	TrainLoss          Float                      `json:"train_loss"`           // the last step's
	ValLoss            Float                      `json:"val_loss"`             // on the whole held-out split
	ValBitsPerByte     Float                      `json:"val_bits_per_byte"`
	Steps              int                        `json:"steps"`
	Tokens             int64                      `json:"tokens"`
	Seconds            float64                    `json:"seconds"`
	Status             string                     `json:"status"`
	Error              string                     `json:"error,omitempty"`
	SpecSHA256         string                     `json:"spec_sha256"`
	DataSHA256         string                     `json:"data_sha256"`
	// Reused is set when the run had finished before this sweep started.
	Reused bool `json:"reused,omitempty"`
}

// Float is a float64 whose JSON is null when it is NaN or infinite.
type Float float64

func (f Float) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

// record is Out/sweep.json.
type record struct {
	Config       string      `json:"config"`
	ConfigSHA256 string      `json:"config_sha256"`
	Grids        []gridEntry `json:"grids"`
}

// gridEntry is one sweep command run into the directory.
type gridEntry struct {
	Grid  []string `json:"grid"`
	Seeds int      `json:"seeds"`
	Steps int      `json:"steps,omitempty"`
	Data  string   `json:"data"`
}

// identity is Out/runs/NAME/run.json: what a run trains.
type identity struct {
	SpecSHA256 string `json:"spec_sha256"`
	DataSHA256 string `json:"data_sha256"`
	Data       string `json:"data"`
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Plan checks the sweep and resolves every run's spec without writing
// anything: the base config parses, every --grid key exists in the spec,
// every value has the key's type and every combination is a valid spec.
func (s *Sweep) Plan() (*Plan, error) {
	name := cmp.Or(s.ConfigName, "the config")
	base, err := train.ParseSpec(s.Config)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", name, err)
	}
	doc, err := baseDoc(s.Config, base)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", name, err)
	}
	p := &Plan{Bare: base.BareConfig}
	for i, a := range s.Axes {
		switch {
		case a.Key == "train.seed":
			return nil, fmt.Errorf("--grid %s: the seed is swept by --seeds N (seeds train.seed, train.seed+1, …); leave it out of --grid", a.Key)
		case a.Key == "train.steps" && s.Steps > 0:
			return nil, fmt.Errorf("--grid %s and --steps both set the steps; give one", a.Key)
		case len(a.Values) == 0:
			return nil, fmt.Errorf("--grid %s: no values", a.Key)
		}
		for _, b := range s.Axes[:i] {
			if a.Key == b.Key {
				return nil, fmt.Errorf("--grid %s is given twice; give its values in one --grid", a.Key)
			}
			if strings.HasPrefix(a.Key, b.Key+".") || strings.HasPrefix(b.Key, a.Key+".") {
				return nil, fmt.Errorf("--grid %s and --grid %s overlap: one is inside the other", b.Key, a.Key)
			}
		}
		if err := checkKey(doc, a.Path); err != nil {
			return nil, fmt.Errorf("--grid %s: %w", a.Key, err)
		}
		for _, v := range a.Values {
			one, err := Apply(doc, Setting{Key: a.Key, Path: a.Path, Value: v})
			if err == nil {
				_, err = train.ParseSpec(one)
			}
			if err != nil {
				return nil, fmt.Errorf("--grid %s=%s: %w", a.Key, v.Text, err)
			}
		}
		p.Keys = append(p.Keys, a.Key)
	}
	short := ShortKeys(p.Keys)
	names := map[string]bool{}
	for _, pt := range Expand(s.Axes) {
		settings := slices.Clone(pt)
		if s.Steps > 0 {
			settings = append(settings, Setting{Key: "train.steps", Path: []string{"train", "steps"}, Value: Value{JSON: json.RawMessage(strconv.Itoa(s.Steps))}})
		}
		js, err := Apply(doc, settings...)
		var spec *train.Spec
		if err == nil {
			spec, err = train.ParseSpec(js)
		}
		if err != nil {
			return nil, fmt.Errorf("--grid point %s: %w", pointLabel(pt), err)
		}
		for k := range max(1, s.Seeds) {
			seed := spec.Train.Seed + uint64(k)
			js, err := Apply(doc, append(settings, Setting{Key: "train.seed", Path: []string{"train", "seed"}, Value: Value{JSON: json.RawMessage(strconv.FormatUint(seed, 10))}})...)
			var run *train.Spec
			if err == nil {
				run, err = train.ParseSpec(js)
			}
			if err != nil {
				return nil, fmt.Errorf("--grid point %s, seed %d: %w", pointLabel(pt), seed, err)
			}
			n := Name(pt, short, seed)
			if names[n] {
				return nil, fmt.Errorf("two runs are named %s: give distinct values", n)
			}
			names[n] = true
			p.Runs = append(p.Runs, Planned{Name: n, Point: pt, Seed: seed, Spec: run, JSON: append(js, '\n')})
		}
	}
	return p, nil
}

// pointLabel is a grid point as its key=value settings.
func pointLabel(p Point) string {
	var s []string
	for _, st := range p {
		s = append(s, st.Key+"="+st.Value.Text)
	}
	return strings.Join(s, ",")
}

// baseDoc is the base config as a {"model", "train"} document: the file's
// own object, or, for a bare config.json, the model with the training
// settings it trains with.
func baseDoc(raw []byte, spec *train.Spec) ([]byte, error) {
	if !spec.BareConfig {
		if _, err := decodeDoc(raw); err != nil {
			return nil, err
		}
		return raw, nil
	}
	var model json.RawMessage
	if err := json.Unmarshal(raw, &model); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"model": model, "train": spec.Train})
}

// Run plans the sweep, checks Out, trains every run that has not finished
// and writes Out/results.csv and Out/results.md. It returns the results of
// every run of the grid, in the plan's order.
func (s *Sweep) Run() ([]Result, error) {
	p, err := s.Plan()
	if err != nil {
		return nil, err
	}
	rec, err := s.checkOut()
	if err != nil {
		return nil, err
	}
	dataSum := sha(s.Text)
	// Compare the runs already in Out with what they would train now,
	// before writing anything.
	var stale []string
	for _, r := range p.Runs {
		dir := filepath.Join(s.Out, RunsDir, r.Name)
		id, ok, err := readIdentity(dir)
		if err != nil {
			return nil, err
		}
		if !ok || (id.SpecSHA256 == sha(r.JSON) && id.DataSHA256 == dataSum) {
			continue
		}
		if !s.Force {
			what := "another spec (" + filepath.Join(dir, SpecFile) + ")"
			if id.SpecSHA256 == sha(r.JSON) {
				what = fmt.Sprintf("other data (%s)", id.Data)
			}
			return nil, fmt.Errorf("--out %s: run %s was trained with %s; --steps, --data or the config changed since: give a new --out, or pass --force to train it again", s.Out, r.Name, what)
		}
		stale = append(stale, dir)
	}
	if err := s.writeRecord(rec); err != nil {
		return nil, err
	}
	for _, dir := range stale {
		fmt.Fprintf(s.progress(), "sweep: %s: its spec or data changed (--force): training it again\n", dir)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	var results []Result
	for i, r := range p.Runs {
		if s.Context != nil && s.Context.Err() != nil {
			return nil, fmt.Errorf("%w before run %d/%d (%s); %d runs done", train.ErrInterrupted, i+1, len(p.Runs), r.Name, i)
		}
		res, err := s.one(i, len(p.Runs), r, dataSum)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.Name, err)
		}
		results = append(results, res)
	}
	if err := fsutil.WriteAtomic(filepath.Join(s.Out, CSVFile), func(w io.Writer) error { return WriteCSV(w, p.Keys, results) }); err != nil {
		return nil, err
	}
	if err := fsutil.WriteAtomic(filepath.Join(s.Out, MarkdownFile), func(w io.Writer) error { return WriteMarkdown(w, p.Keys, results) }); err != nil {
		return nil, err
	}
	return results, nil
}

func (s *Sweep) progress() io.Writer { return cmp.Or[io.Writer](s.Progress, io.Discard) }

// checkOut refuses an Out that is neither new, empty nor a sweep's, and a
// sweep's whose base config differs (without Force). It returns the
// directory's record (nil: none yet).
func (s *Sweep) checkOut() (*record, error) {
	if s.Out == "" {
		return nil, errors.New("--out: no output directory")
	}
	st, err := os.Stat(s.Out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("--out %s is a file, not a directory", s.Out)
	}
	raw, err := os.ReadFile(filepath.Join(s.Out, RecordFile))
	if errors.Is(err, os.ErrNotExist) {
		entries, err := os.ReadDir(s.Out)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("--out %s is not empty and holds no %s: give a new or empty directory, or a sweep's directory to continue it", s.Out, RecordFile)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("--out %s: %s: %w", s.Out, RecordFile, err)
	}
	if rec.ConfigSHA256 != sha(s.Config) && !s.Force {
		return nil, fmt.Errorf("--config %s differs from the config the sweep in --out %s was started with (%s, a copy in %s): give another --out, or pass --force to continue with this config (the runs whose spec it changes are trained again)",
			cmp.Or(s.ConfigName, "(the config)"), s.Out, rec.Config, filepath.Join(s.Out, ConfigFile))
	}
	return &rec, nil
}

// writeRecord writes Out/sweep.json and Out/config.json for this sweep:
// the config's hash and a copy of it, and the grid added to those run.
func (s *Sweep) writeRecord(rec *record) error {
	if err := os.MkdirAll(filepath.Join(s.Out, RunsDir), 0o755); err != nil {
		return err
	}
	if rec == nil {
		rec = &record{}
	}
	entry := gridEntry{Seeds: max(1, s.Seeds), Steps: s.Steps, Data: s.DataName}
	for _, a := range s.Axes {
		entry.Grid = append(entry.Grid, a.String())
	}
	sum := sha(s.Config)
	changed := rec.ConfigSHA256 != sum
	rec.Config, rec.ConfigSHA256 = s.ConfigName, sum
	if !slices.ContainsFunc(rec.Grids, func(g gridEntry) bool {
		return slices.Equal(g.Grid, entry.Grid) && g.Seeds == entry.Seeds && g.Steps == entry.Steps && g.Data == entry.Data
	}) {
		rec.Grids, changed = append(rec.Grids, entry), true
	}
	if !changed {
		return nil
	}
	if err := fsutil.WriteFile(filepath.Join(s.Out, ConfigFile), s.Config); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(rec, "", "  ")
	return fsutil.WriteFile(filepath.Join(s.Out, RecordFile), append(js, '\n'))
}

func readIdentity(dir string) (identity, bool, error) {
	var id identity
	raw, err := os.ReadFile(filepath.Join(dir, IdentityFile))
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		return id, false, fmt.Errorf("%s: %w", filepath.Join(dir, IdentityFile), err)
	}
	return id, true, nil
}

// ReadResult reads a finished run's result.json; ok is false when the run
// has not finished.
func ReadResult(dir string) (r Result, ok bool, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, ResultFile))
	if errors.Is(err, os.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, false, fmt.Errorf("%s: %w", filepath.Join(dir, ResultFile), err)
	}
	return r, true, nil
}

// one trains run i of n unless it finished before.
func (s *Sweep) one(i, n int, r Planned, dataSum string) (Result, error) {
	dir := filepath.Join(s.Out, RunsDir, r.Name)
	note := fmt.Sprintf("sweep: run %d/%d %s", i+1, n, r.Name)
	res, done, err := ReadResult(dir)
	if err != nil {
		return Result{}, err
	}
	grid := map[string]json.RawMessage{}
	for _, st := range r.Point {
		grid[st.Key] = st.Value.JSON
	}
	if done {
		fmt.Fprintf(s.progress(), "%s: finished before, skipped\n", note)
		// Its spec is this run's (run.json): the grid's keys name its
		// settings, whichever grid trained it.
		res.Grid, res.Seed, res.Reused = grid, r.Seed, true
		return res, nil
	}
	startStep := 0
	if step, ok, err := train.CheckpointStep(dir); err == nil && ok {
		note += fmt.Sprintf(" (resuming at step %d/%d)", step, r.Spec.Train.Steps)
		startStep = step
	}
	fmt.Fprintln(s.progress(), note)
	id := identity{SpecSHA256: sha(r.JSON), DataSHA256: dataSum, Data: s.DataName}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, err
	}
	idJS, _ := json.MarshalIndent(id, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, IdentityFile), append(idJS, '\n')); err != nil {
		return Result{}, err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, SpecFile), r.JSON); err != nil {
		return Result{}, err
	}
	res = Result{Name: r.Name, Grid: grid, Seed: r.Seed, Status: StatusOK, SpecSHA256: id.SpecSHA256, DataSHA256: dataSum}
	h := r.Spec.Train
	tokensPerStep := int64(h.BatchSize) * int64(h.SeqLen) * int64(max(1, h.GradAccum))
	start := time.Now()
	o, err := (&train.Job{Spec: r.Spec, Text: s.Text, OutDir: dir, Resume: true, Progress: s.Progress, Context: s.Context, ProgressEvery: s.ProgressEvery,
		Meta: map[string]string{"sweep": s.Out, "run": r.Name, "config": s.ConfigName, "data": s.DataName}}).Run()
	switch {
	case errors.Is(err, train.ErrDiverged):
		// A result like any other (a learning rate too high): recorded,
		// so that a rerun does not train it again.
		ms, _ := readMetrics(filepath.Join(dir, train.MetricsFile))
		res.Status, res.Error = StatusDiverged, err.Error()
		res.ValLoss, res.ValBitsPerByte, res.TrainLoss = Float(math.NaN()), Float(math.NaN()), Float(math.NaN())
		if len(ms) > 0 {
			res.Steps, res.TrainLoss = ms[len(ms)-1].Step+1, Float(ms[len(ms)-1].Loss)
		}
		res.Seconds = priorSeconds(ms, startStep) + time.Since(start).Seconds()
		if m, err := decoder.New(r.Spec.Model, r.Seed); err == nil {
			res.Params, res.NonEmbeddingParams = m.NumParams(), m.NonEmbeddingParams()
		}
		fmt.Fprintf(s.progress(), "%s: %v\n", note, err)
	case err != nil:
		return Result{}, err
	default:
		res.Params, res.NonEmbeddingParams = o.Model.NumParams(), o.Model.NonEmbeddingParams()
		res.Steps = o.Steps
		res.TrainLoss = Float(math.NaN())
		if len(o.Metrics) > 0 {
			res.TrainLoss = Float(o.Metrics[len(o.Metrics)-1].Loss)
		}
		res.ValLoss, res.ValBitsPerByte = Float(o.Val.Loss), Float(o.Val.BitsPerByte)
		res.Seconds = priorSeconds(o.Metrics, o.StartStep) + o.Elapsed.Seconds()
		if !finite(res.ValLoss) {
			res.Status, res.Error = StatusDiverged, fmt.Sprintf("the validation loss is %v", o.Val.Loss)
			fmt.Fprintf(s.progress(), "%s: %s\n", note, res.Error)
		}
	}
	res.Tokens = int64(res.Steps) * tokensPerStep
	js, _ := json.MarshalIndent(res, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, ResultFile), append(js, '\n')); err != nil {
		return Result{}, err
	}
	return res, nil
}

// priorSeconds is the training time of the sessions before step from
// (a resumed run's earlier sessions): the elapsed time restarts at each
// session in metrics.jsonl.
func priorSeconds(ms []train.Metric, from int) float64 {
	total, last := 0.0, 0.0
	for _, m := range ms {
		if m.Step >= from {
			break
		}
		if m.ElapsedS < last {
			total += last
		}
		last = m.ElapsedS
	}
	return total + last
}

// readMetrics reads a run's metrics.jsonl.
func readMetrics(path string) ([]train.Metric, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []train.Metric
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m train.Metric
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}
