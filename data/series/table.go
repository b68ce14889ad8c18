package series

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Table is a CSV of numeric columns with an optional time column, for
// tasks where dates are optional (anomaly detection, imputation).
type Table struct {
	Name    string
	Columns []string    // numeric columns in file order
	Values  [][]float64 // [row][column]
	// TimeColumn is the name of the time column ("" when there is none)
	// and Times its values as written.
	TimeColumn string
	Times      []string
}

// timeNames are the header names taken as the time column.
var timeNames = []string{"date", "timestamp", "time", "datetime"}

// ReadTableFile reads a table from a CSV file.
func ReadTableFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTable(f, filepath.Base(path))
}

// ReadTable reads a CSV with a header row: a column named date,
// timestamp, time or datetime (any case) is the time column, kept as
// text; every other field must be a finite number. Bad values are errors
// naming the line and column (up to 10 of them).
func ReadTable(r io.Reader, name string) (*Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header row", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	t := &Table{Name: name}
	timeCol := -1
	var cols []int
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		isTime := false
		for _, n := range timeNames {
			isTime = isTime || strings.EqualFold(h, n)
		}
		if isTime && timeCol < 0 {
			timeCol, t.TimeColumn = i, h
			continue
		}
		t.Columns = append(t.Columns, h)
		cols = append(cols, i)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: line 1: no numeric columns", name)
	}
	var errs []string
	bad := func(format string, a ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Sprintf(format, a...))
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad("line %d: %v", pe.Line, pe.Err)
				continue
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(rec) != len(head) {
			bad("line %d: %d fields, the header has %d", line, len(rec), len(head))
			continue
		}
		row := make([]float64, len(cols))
		for j, c := range cols {
			s := strings.TrimSpace(rec[c])
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				bad("line %d, column %q: %q is not a finite number", line, t.Columns[j], s)
			}
			row[j] = v
		}
		t.Values = append(t.Values, row)
		if timeCol >= 0 {
			t.Times = append(t.Times, strings.TrimSpace(rec[timeCol]))
		}
	}
	if len(errs) > 0 {
		more := ""
		if len(errs) == maxErrors {
			more = " (first 10 shown)"
		}
		return nil, fmt.Errorf("%s: bad rows%s:\n  %s", name, more, strings.Join(errs, "\n  "))
	}
	if len(t.Values) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header", name)
	}
	return t, nil
}

// Column returns the index of the named column, or an error listing them.
func (t *Table) Column(name string) (int, error) {
	for i, c := range t.Columns {
		if c == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: no column %q (columns: %s)", t.Name, name, strings.Join(t.Columns, ", "))
}
