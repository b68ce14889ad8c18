package molgraph

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/loomml/loom/chem"
	"github.com/loomml/loom/models/graph"
)

// Dataset is a CSV's molecules with one target each.
type Dataset struct {
	Name      string // the file's name, for messages and reports
	SmilesCol string
	TargetCol string // "" when read without targets
	Smiles    []string
	Mols      []*chem.Molecule
	Graphs    []*graph.Graph
	Targets   []float64 // nil without a target column
}

// Len returns the number of molecules.
func (d *Dataset) Len() int { return len(d.Smiles) }

// ReadCSVFile is ReadCSV on a file.
func ReadCSVFile(path, smilesCol, targetCol string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCSV(path, f, smilesCol, targetCol)
}

// ReadCSV reads a CSV with a header row: the SMILES in column smilesCol
// and, unless targetCol is "", a number in column targetCol. Every
// molecule must parse; an error names the file, the row (1-based, the
// header is row 1), the column and, for a bad SMILES, the position in it.
func ReadCSV(name string, r io.Reader, smilesCol, targetCol string) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file, want a header row naming the columns", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	col := func(want string) (int, error) {
		for i, h := range header {
			if strings.TrimSpace(h) == want {
				return i, nil
			}
		}
		return 0, fmt.Errorf("%s: no column %q; the columns are %s", name, want, quoteAll(header))
	}
	si, err := col(smilesCol)
	if err != nil {
		return nil, err
	}
	ti := -1
	if targetCol != "" {
		if ti, err = col(targetCol); err != nil {
			return nil, err
		}
	}
	d := &Dataset{Name: name, SmilesCol: smilesCol, TargetCol: targetCol}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(rec) <= max(si, ti) {
			return nil, fmt.Errorf("%s: row %d has %d fields, the header %d", name, row, len(rec), len(header))
		}
		smi := strings.TrimSpace(rec[si])
		m, err := chem.ParseSMILES(smi)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d, column %q: %w", name, row, smilesCol, err)
		}
		g, err := graph.FromMolecule(m)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d, column %q: %w", name, row, smilesCol, err)
		}
		if ti >= 0 {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[ti]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: row %d, column %q: %q is not a finite number", name, row, targetCol, rec[ti])
			}
			d.Targets = append(d.Targets, v)
		}
		d.Smiles, d.Mols, d.Graphs = append(d.Smiles, smi), append(d.Mols, m), append(d.Graphs, g)
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("%s: no rows after the header", name)
	}
	return d, nil
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(strings.TrimSpace(v))
	}
	return strings.Join(q, ", ")
}
