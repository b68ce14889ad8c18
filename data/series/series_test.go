package series

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestReadCSVErrorsNameLineAndColumn(t *testing.T) {
	for _, c := range []struct {
		name, csv, want string
	}{
		{"non-numeric", "date,a,b\n2020-01-01 00:00:00,1,2\n2020-01-01 01:00:00,x,2\n", `line 3, column "a": "x" is not a finite number`},
		{"missing", "date,a,b\n2020-01-01 00:00:00,1,\n", `line 2, column "b": missing value`},
		{"fields", "date,a,b\n2020-01-01 00:00:00,1\n", "line 2: 2 fields, the header has 3"},
		{"date", "date,a\nyesterday,1\n", `line 2, column "date": "yesterday" is not a date`},
		{"no date column", "time,a\n1,2\n", `no "date" column`},
		{"empty", "", "empty file"},
		{"header only", "date,a\n", "no data rows"},
		{"order", "date,a\n2020-01-02,1\n2020-01-01,2\n", "line 3: date 2020-01-01 00:00:00 does not follow"},
		{"nan", "date,a\n2020-01-01,NaN\n", `"NaN" is not a finite number`},
	} {
		_, err := ReadCSV(strings.NewReader(c.csv), "f.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "f.csv") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Every bad row is listed, not just the first.
	_, err := ReadCSV(strings.NewReader("date,a\n2020-01-01,1\n2020-01-02,?\n2020-01-03,2\n2020-01-04,!\n"), "f.csv")
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("two bad rows: %v", err)
	}
}

// ETTh1 under the ETT protocol has Time-Series-Library's window counts.
func TestETTh1Split(t *testing.T) {
	f := ReadETTh1()
	if len(f.Values) != 17420 || len(f.Columns) != 7 || f.Columns[6] != "OT" || f.Step() != time.Hour {
		t.Fatalf("ETTh1: %d rows, columns %v, step %v", len(f.Values), f.Columns, f.Step())
	}
	d, err := Prepare(f, Spec{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Split != "ett" || d.Borders != [3][2]int{{0, 8640}, {8544, 11520}, {11424, 14400}} {
		t.Fatalf("split %q borders %v", d.Spec.Split, d.Borders)
	}
	if d.Len(Train) != 8449 || d.Len(Val) != 2785 || d.Len(Test) != 2785 {
		t.Fatalf("windows %d/%d/%d, want 8449/2785/2785", d.Len(Train), d.Len(Val), d.Len(Test))
	}
	// The scaler is fitted on the training rows: there they have mean 0, std 1.
	for j := range d.N {
		var s, sq float64
		for r := range 8640 {
			v := float64(d.values[r*d.N+j])
			s += v
			sq += v * v
		}
		if mu, sd := s/8640, math.Sqrt(sq/8640-(s/8640)*(s/8640)); math.Abs(mu) > 1e-4 || math.Abs(sd-1) > 1e-4 {
			t.Errorf("column %s: training mean %g, std %g", d.Inputs[j], mu, sd)
		}
	}
	x, m, y := d.Batch(Test, []int{0, 2784})
	if x.Dim(1) != 96 || x.Dim(2) != 7 || m.Dim(2) != 4 || y.Dim(1) != 96 {
		t.Fatalf("shapes %v %v %v", x.Shape(), m.Shape(), y.Shape())
	}
	// The last test window ends at row 14400; its first input row is 14400 − 192.
	want := float32((f.Values[14400-192][6] - d.Mean[6]) / d.Std[6])
	if got := x.At(1, 0, 6); math.Abs(got-float64(want)) > 1e-6 {
		t.Fatalf("last test window starts with %v, want %v", got, want)
	}
}

func TestTimeFeatures(t *testing.T) {
	d := time.Date(2016, 7, 1, 0, 0, 0, 0, time.UTC) // a Friday, day 183
	got := TimeFeatures(d, time.Hour)
	want := []float64{-0.5, 4.0/6 - 0.5, -0.5, 182.0/365 - 0.5}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("timeF %v, want %v", got, want)
		}
	}
	if n := len(TimeFeatures(d, 15*time.Minute)); n != 5 {
		t.Fatalf("15-minute data: %d features, want 5", n)
	}
	if n := len(TimeFeatures(d, 24*time.Hour)); n != 3 {
		t.Fatalf("daily data: %d features, want 3", n)
	}
}

func TestFeatureModes(t *testing.T) {
	f := ReadETTh1()
	for _, c := range []struct {
		features string
		n        int
		out      []int
	}{{"M", 7, []int{0, 1, 2, 3, 4, 5, 6}}, {"S", 1, []int{0}}, {"MS", 7, []int{6}}} {
		d, err := Prepare(f, Spec{Features: c.features, Target: "HUFL"})
		if err != nil {
			t.Fatal(err)
		}
		if d.N != c.n || len(d.Outputs) != len(c.out) || d.Outputs[0] != c.out[0] {
			t.Fatalf("%s: N %d outputs %v", c.features, d.N, d.Outputs)
		}
		if c.features != "M" && d.Inputs[d.N-1] != "HUFL" {
			t.Fatalf("%s: target not last: %v", c.features, d.Inputs)
		}
	}
	if _, err := Prepare(f, Spec{Features: "MS", Target: "nope"}); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Fatalf("unknown target: %v", err)
	}
}

func TestTooFewRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("date,a\n")
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 150 {
		b.WriteString(start.Add(time.Duration(i)*time.Hour).Format(time.DateTime) + ",1\n")
	}
	f, err := ReadCSV(strings.NewReader(b.String()), "small.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(f, Spec{}); err == nil || !strings.Contains(err.Error(), "fewer than one window") {
		t.Fatalf("150 rows: %v", err)
	}
	if _, err := Prepare(f, Spec{Split: "ett"}); err == nil || !strings.Contains(err.Error(), "20 months") {
		t.Fatalf("ett on 150 rows: %v", err)
	}
	if d, err := Prepare(f, Spec{Lookback: 8, Horizon: 4}); err != nil || d.Len(Test) != 30+8-12+1 {
		t.Fatalf("short windows: %v", err)
	}
}
