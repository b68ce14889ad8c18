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
	isTime := func(h string) bool {
		for _, n := range timeNames {
			if strings.EqualFold(h, n) {
				return true
			}
		}
		return false
	}
	return readNumericCSV(r, name, isTime, "", nil)
}

// readNumericCSV reads a header row and rows of finite numbers, except in
// the first column whose header isTime accepts, kept as text (required
// when need names it; each value checked by checkTime when given). Bad
// rows are collected, up to maxErrors, and reported by line and column.
func readNumericCSV(r io.Reader, name string, isTime func(string) bool, need string, checkTime func(string) error) (*Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		if need != "" {
			return nil, fmt.Errorf("%s: empty file, want a header row with a %s column", name, need)
		}
		return nil, fmt.Errorf("%s: empty file, want a header row", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	head = append([]string(nil), head...)
	t := &Table{Name: name}
	timeCol := -1
	var cols []int
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if timeCol < 0 && isTime(h) {
			timeCol, t.TimeColumn = i, h
			continue
		}
		t.Columns = append(t.Columns, h)
		cols = append(cols, i)
	}
	if timeCol < 0 && need != "" {
		return nil, fmt.Errorf("%s: line 1: no %q column in the header %v", name, need, head)
	}
	if len(cols) == 0 {
		if timeCol >= 0 {
			return nil, fmt.Errorf("%s: line 1: no numeric columns besides %q", name, head[timeCol])
		}
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
		var stamp string
		if timeCol >= 0 {
			stamp = strings.TrimSpace(rec[timeCol])
			if checkTime != nil {
				if err := checkTime(stamp); err != nil {
					bad("line %d, column %q: %v", line, head[timeCol], err)
					continue
				}
			}
		}
		row := make([]float64, len(cols))
		ok := true
		for j, c := range cols {
			s := strings.TrimSpace(rec[c])
			v, err := strconv.ParseFloat(s, 64)
			switch {
			case s == "":
				bad("line %d, column %q: missing value", line, t.Columns[j])
				ok = false
			case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
				bad("line %d, column %q: %q is not a finite number", line, t.Columns[j], s)
				ok = false
			}
			row[j] = v
		}
		if ok {
			t.Values = append(t.Values, row)
			if timeCol >= 0 {
				t.Times = append(t.Times, stamp)
			}
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
