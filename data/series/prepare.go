package series

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loomml/loom/tensor"
)

// Spec says how to cut a Frame into forecasting windows.
type Spec struct {
	// Features is "M" (every column in, every column out), "S" (the target
	// alone) or "MS" (every column in, the target out), as in
	// Time-Series-Library. Default "M".
	Features string `json:"features"`
	Target   string `json:"target"`   // target column for S and MS (default "OT")
	Lookback int    `json:"lookback"` // input length L (default 96)
	Horizon  int    `json:"horizon"`  // forecast length S (default 96)
	// Split is "ett" (12/4/4 months of 30 days; hourly or 15-minute rows)
	// or three ratios "r1,r2,r3" (train, validation, test; default
	// "0.7,0.1,0.2"). Empty: "ett" for files named ETT*, ratios otherwise.
	Split string `json:"split"`
}

// WithDefaults fills unset fields for a file named name.
func (s Spec) WithDefaults(name string) Spec {
	if s.Features == "" {
		s.Features = "M"
	}
	if s.Target == "" {
		s.Target = "OT"
	}
	if s.Lookback == 0 {
		s.Lookback = 96
	}
	if s.Horizon == 0 {
		s.Horizon = 96
	}
	if s.Split == "" {
		s.Split = "0.7,0.1,0.2"
		if strings.HasPrefix(strings.ToUpper(filepath.Base(name)), "ETT") {
			s.Split = "ett"
		}
	}
	return s
}

// Part is one of the three splits.
type Part int

// The splits.
const (
	Train Part = iota
	Val
	Test
)

func (p Part) String() string { return [...]string{"train", "validation", "test"}[p] }

// Dataset is a scaled series ready to be cut into windows.
type Dataset struct {
	Spec    Spec
	Name    string
	Inputs  []string  // columns fed to a model, in order (MS: the target last)
	Outputs []int     // indices into Inputs of the forecast columns scored
	Mean    []float64 // scaler, per input column, fitted on the training rows
	Std     []float64
	Step    time.Duration
	Dates   []time.Time
	T, N, F int       // rows, input columns, time features per row
	values  []float32 // [T, N] scaled
	marks   []float32 // [T, F]
	Borders [3][2]int // rows [start, end) of train, validation and test (each starting Lookback before its first target)
}

// Prepare selects columns, splits, fits the scaler on the training rows and
// computes the time features.
func Prepare(f *Frame, s Spec) (*Dataset, error) {
	s = s.WithDefaults(f.Name)
	if s.Lookback < 1 || s.Horizon < 1 {
		return nil, fmt.Errorf("lookback %d and horizon %d must be positive", s.Lookback, s.Horizon)
	}
	d := &Dataset{Spec: s, Name: f.Name, Dates: f.Dates, T: len(f.Values), Step: f.Step()}
	var cols []int
	switch s.Features {
	case "M":
		for i := range f.Columns {
			cols = append(cols, i)
		}
	case "S", "MS":
		t, err := f.Column(s.Target)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		if s.Features == "MS" {
			for i := range f.Columns {
				if i != t {
					cols = append(cols, i)
				}
			}
		}
		cols = append(cols, t) // the target last, as Time-Series-Library orders it
	default:
		return nil, fmt.Errorf("features %q: want M, S or MS", s.Features)
	}
	for _, c := range cols {
		d.Inputs = append(d.Inputs, f.Columns[c])
	}
	d.N = len(cols)
	if s.Features == "M" {
		for i := range cols {
			d.Outputs = append(d.Outputs, i)
		}
	} else {
		d.Outputs = []int{d.N - 1}
	}
	if err := d.split(); err != nil {
		return nil, err
	}
	// Scaler on the training rows (population std, as sklearn's).
	tr := d.Borders[Train]
	d.Mean, d.Std = make([]float64, d.N), make([]float64, d.N)
	for j, c := range cols {
		var sum, sq float64
		for r := tr[0]; r < tr[1]; r++ {
			sum += f.Values[r][c]
		}
		n := float64(tr[1] - tr[0])
		mu := sum / n
		for r := tr[0]; r < tr[1]; r++ {
			sq += (f.Values[r][c] - mu) * (f.Values[r][c] - mu)
		}
		sd := math.Sqrt(sq / n)
		if sd == 0 {
			sd = 1 // a constant column: centre only
		}
		d.Mean[j], d.Std[j] = mu, sd
	}
	d.values = make([]float32, d.T*d.N)
	for r := range d.T {
		for j, c := range cols {
			d.values[r*d.N+j] = float32((f.Values[r][c] - d.Mean[j]) / d.Std[j])
		}
	}
	d.F = len(TimeFeatures(time.Time{}, d.Step))
	d.marks = make([]float32, d.T*d.F)
	for r, t := range f.Dates {
		for k, v := range TimeFeatures(t, d.Step) {
			d.marks[r*d.F+k] = float32(v)
		}
	}
	for p := Train; p <= Test; p++ {
		if d.Len(p) < 1 {
			b := d.Borders[p]
			return nil, fmt.Errorf("%s: the %s split has %d rows (%d–%d), fewer than one window of lookback %d + horizon %d; use a longer file or a shorter --lookback/--horizon",
				f.Name, p, b[1]-b[0], b[0]+2, b[1]+1, s.Lookback, s.Horizon)
		}
	}
	return d, nil
}

// split sets Borders from Spec.Split, as Time-Series-Library's loaders.
func (d *Dataset) split() error {
	L := d.Spec.Lookback
	if d.Spec.Split == "ett" {
		month := 30 * 24 // hourly rows per 30-day month
		switch d.Step {
		case time.Hour:
		case 15 * time.Minute:
			month *= 4
		default:
			return fmt.Errorf("%s: the ett split needs hourly or 15-minute rows, the file's rows are %v apart; use --split r1,r2,r3", d.Name, d.Step)
		}
		if d.T < 20*month {
			return fmt.Errorf("%s: the ett split needs %d rows (20 months of 30 days), the file has %d; use --split r1,r2,r3", d.Name, 20*month, d.T)
		}
		d.Borders = [3][2]int{{0, 12 * month}, {12*month - L, 16 * month}, {16*month - L, 20 * month}}
		return nil
	}
	parts := strings.Split(d.Spec.Split, ",")
	var r [3]float64
	if len(parts) != 3 {
		return fmt.Errorf("split %q: want \"ett\" or three ratios like 0.7,0.1,0.2", d.Spec.Split)
	}
	sum := 0.0
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("split %q: %q is not a positive ratio", d.Spec.Split, p)
		}
		r[i] = v
		sum += v
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("split %q: the ratios sum to %g, want 1", d.Spec.Split, sum)
	}
	nTrain := int(float64(d.T) * r[0])
	nTest := int(float64(d.T) * r[2])
	nVal := d.T - nTrain - nTest
	d.Borders = [3][2]int{{0, nTrain}, {max(0, nTrain-L), nTrain + nVal}, {max(0, d.T-nTest-L), d.T}}
	return nil
}

// Len returns the number of windows in part p.
func (d *Dataset) Len(p Part) int {
	b := d.Borders[p]
	return b[1] - b[0] - d.Spec.Lookback - d.Spec.Horizon + 1
}

// Batch returns windows idx of part p: inputs x [B, L, N], their time
// features [B, L, F] and the targets y [B, S, N] (every input column; the
// scored ones are Outputs), all scaled.
func (d *Dataset) Batch(p Part, idx []int) (x, marks, y *tensor.Tensor) {
	L, S, N, F := d.Spec.Lookback, d.Spec.Horizon, d.N, d.F
	x, marks, y = tensor.New(tensor.Float32, len(idx), L, N), tensor.New(tensor.Float32, len(idx), L, F), tensor.New(tensor.Float32, len(idx), S, N)
	xs, ms, ys := x.F32(), marks.F32(), y.F32()
	for b, i := range idx {
		start := d.Borders[p][0] + i
		copy(xs[b*L*N:(b+1)*L*N], d.values[start*N:(start+L)*N])
		copy(ms[b*L*F:(b+1)*L*F], d.marks[start*F:(start+L)*F])
		copy(ys[b*S*N:(b+1)*S*N], d.values[(start+L)*N:(start+L+S)*N])
	}
	return x, marks, y
}

// Window returns the last Lookback rows of the whole series (for a
// forecast past its end): x [1, L, N], marks [1, L, F].
func (d *Dataset) Window() (x, marks *tensor.Tensor) {
	L := d.Spec.Lookback
	if d.T < L {
		return nil, nil
	}
	x = tensor.FromFloat32(append([]float32(nil), d.values[(d.T-L)*d.N:]...), 1, L, d.N)
	marks = tensor.FromFloat32(append([]float32(nil), d.marks[(d.T-L)*d.F:]...), 1, L, d.F)
	return x, marks
}

// Unscale maps a scaled value of input column j back to the file's units.
func (d *Dataset) Unscale(j int, v float64) float64 { return v*d.Std[j] + d.Mean[j] }

// TimeFeatures returns Time-Series-Library's "timeF" calendar features of
// t for rows step apart, each in [−0.5, 0.5]: minute of hour (sub-hourly
// data only), hour of day (sub-daily), day of week, day of month, day of
// year.
func TimeFeatures(t time.Time, step time.Duration) []float64 {
	var out []float64
	if step > 0 && step < time.Hour {
		out = append(out, float64(t.Minute())/59-0.5)
	}
	if step > 0 && step < 24*time.Hour {
		out = append(out, float64(t.Hour())/23-0.5)
	}
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0, as pandas' dayofweek
	return append(out, float64(wd)/6-0.5, float64(t.Day()-1)/30-0.5, float64(t.YearDay()-1)/365-0.5)
}
