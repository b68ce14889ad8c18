// Package series reads multivariate time series from CSV files and turns
// them into forecasting windows the way Time-Series-Library (thuml) does
// for iTransformer (arXiv 2310.06625) and its baselines: feature modes M, S
// and MS, the ETT split in 30-day months or ratio splits, a standard scaler
// fitted on the training rows only, and "timeF" calendar features.
//
// Bad input is reported, never skipped: a non-numeric or missing value, a
// row with the wrong number of fields or an unreadable date is an error
// naming the file, line and column.
//
//	f, err := series.ReadCSV(r, "ETTh1.csv")
//	d, err := series.Prepare(f, series.Spec{Features: "M", Lookback: 96, Horizon: 96, Split: "ett"})
//	x, marks, y := d.Batch(series.Train, []int{0, 1, 2}) // [3, 96, 7], [3, 96, 4], [3, 96, 7]
package series

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"
)

//go:embed ett/ETTh1.csv
var etth1 []byte

// ETTh1 returns the embedded ETTh1.csv (unmodified; see ett/README.md).
func ETTh1() []byte { return etth1 }

// Frame is a parsed CSV: a date per row and numeric columns.
type Frame struct {
	Name    string      // file name, for messages
	Dates   []time.Time // one per row
	Columns []string    // numeric column names in file order
	Values  [][]float64 // [row][column]
}

// dateLayouts are the date formats ReadCSV accepts.
var dateLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02", "2006/01/02 15:04", "2006/01/02"}

func parseDate(s string) (time.Time, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want e.g. 2016-07-01 00:00:00)", s)
}

// maxErrors is how many bad rows ReadCSV lists before giving up.
const maxErrors = 10

// ReadCSV parses a CSV with a header row, a "date" column and numeric
// columns. name labels errors. Every bad value is reported with its line
// and column (up to 10 of them).
func ReadCSV(r io.Reader, name string) (*Frame, error) {
	isDate := func(h string) bool { return strings.EqualFold(h, "date") }
	checkDate := func(s string) error { _, err := parseDate(s); return err }
	t, err := readNumericCSV(r, name, isDate, "date", checkDate)
	if err != nil {
		return nil, err
	}
	f := &Frame{Name: name, Columns: t.Columns, Values: t.Values, Dates: make([]time.Time, len(t.Times))}
	for i, s := range t.Times {
		f.Dates[i], _ = parseDate(s) // checked while reading
	}
	for i := 1; i < len(f.Dates); i++ {
		if !f.Dates[i].After(f.Dates[i-1]) {
			return nil, fmt.Errorf("%s: line %d: date %s does not follow %s (rows must be in increasing time order)", name, i+2, f.Dates[i].Format(time.DateTime), f.Dates[i-1].Format(time.DateTime))
		}
	}
	return f, nil
}

// ReadETTh1 parses the embedded ETTh1.csv.
func ReadETTh1() *Frame {
	f, err := ReadCSV(bytes.NewReader(etth1), "ETTh1.csv")
	if err != nil {
		panic(err) // the embedded file is known good
	}
	return f
}

// Column returns the index of the named column, or an error listing them.
func (f *Frame) Column(name string) (int, error) {
	for i, c := range f.Columns {
		if c == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: no column %q (columns: %s)", f.Name, name, strings.Join(f.Columns, ", "))
}

// Step returns the median spacing between consecutive dates.
func (f *Frame) Step() time.Duration {
	if len(f.Dates) < 2 {
		return 0
	}
	// The spacing of most rows; robust to a few gaps.
	counts := map[time.Duration]int{}
	best, n := time.Duration(0), 0
	for i := 1; i < len(f.Dates); i++ {
		d := f.Dates[i].Sub(f.Dates[i-1])
		counts[d]++
		if counts[d] > n {
			best, n = d, counts[d]
		}
	}
	return best
}
