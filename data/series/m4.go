package series

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/loomml/loom/data/external"
	"github.com/loomml/loom/internal/fsutil"
)

// M4Series is one series of the M4 competition: its training values and
// the values to forecast.
type M4Series struct {
	ID    string
	Train []float64
	Test  []float64
}

// M4Origin says where the M4 files come from.
const M4Origin = "the M4 competition (Makridakis, Spiliotis and Assimakopoulos 2020): Dataset/Train/Hourly-train.csv and Dataset/Test/Hourly-test.csv of the organisers' repository Mcompetitions/M4-methods (Hourly-train.csv may be gzipped)"

// M4Horizon is the forecast horizon of M4 Hourly, and M4Period its
// seasonal period.
const (
	M4Horizon = 48
	M4Period  = 24
)

// ReadM4Hourly reads M4 Hourly's training and test files from the
// external data set "m4" (Hourly-train.csv or Hourly-train.csv.gz, and
// Hourly-test.csv).
func ReadM4Hourly() ([]M4Series, error) {
	trainName := "Hourly-train.csv.gz"
	dir, err := external.Find(external.Set{Name: "m4", Files: []string{trainName, "Hourly-test.csv"}, Origin: M4Origin})
	if err != nil {
		trainName = "Hourly-train.csv"
		var err2 error
		if dir, err2 = external.Find(external.Set{Name: "m4", Files: []string{trainName, "Hourly-test.csv"}, Origin: M4Origin}); err2 != nil {
			return nil, err
		}
	}
	return ReadM4Files(filepath.Join(dir, trainName), filepath.Join(dir, "Hourly-test.csv"))
}

// ReadM4Files reads an M4 training file and its test file (gzipped when a
// name ends in .gz): rows of an id and the values, the rest of the row
// empty; the two files must list the same ids in the same order.
func ReadM4Files(trainPath, testPath string) ([]M4Series, error) {
	train, err := readM4File(trainPath)
	if err != nil {
		return nil, err
	}
	test, err := readM4File(testPath)
	if err != nil {
		return nil, err
	}
	if len(train) != len(test) {
		return nil, fmt.Errorf("%s has %d series, %s %d", trainPath, len(train), testPath, len(test))
	}
	out := make([]M4Series, len(train))
	for i := range train {
		if train[i].id != test[i].id {
			return nil, fmt.Errorf("%s: series %d is %q, %s has %q there", testPath, i+1, test[i].id, trainPath, train[i].id)
		}
		out[i] = M4Series{ID: train[i].id, Train: train[i].v, Test: test[i].v}
	}
	return out, nil
}

type m4Row struct {
	id string
	v  []float64
}

func readM4File(path string) ([]m4Row, error) {
	r, err := fsutil.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readM4(r, filepath.Base(path))
}

// readM4 parses an M4 CSV stream (a header row, then an id and values per
// row); name labels errors, which give the line and column.
func readM4(r io.Reader, name string) ([]m4Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	if _, err := cr.Read(); err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	var rows []m4Row
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		row := m4Row{id: strings.TrimSpace(rec[0])}
		for j, s := range rec[1:] {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if len(row.v) != j {
				return nil, fmt.Errorf("%s: line %d, column %d: a value after an empty field", name, line, j+2)
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: line %d, column %d: %q is not a finite number", name, line, j+2, s)
			}
			row.v = append(row.v, v)
		}
		if row.id == "" || len(row.v) == 0 {
			return nil, fmt.Errorf("%s: line %d: want an id and at least one value", name, line)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no series", name)
	}
	return rows, nil
}
