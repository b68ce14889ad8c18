// Package molecules embeds loom's molecular data (README.md gives origins,
// licences and how the files were made):
//
//   - ESOL (Delaney 2004): 1,128 molecules as SMILES with measured log
//     solubility, the MoleculeNet/DeepChem CSV, unmodified ([ESOL]);
//   - MMFF: 3,000 rattled 3-D geometries of 300 small ESOL molecules
//     labelled with RDKit's MMFF94 energies (kcal/mol) and forces
//     (kcal/mol/Å) by gen_mmff.py ([MMFF], [MMFFMolecules], [MMFFSplit]).
//     These are force-field labels, not DFT.
package molecules

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/loomml/loom/data/atoms"
)

var (
	//go:embed esol-delaney-processed.csv
	esol []byte
	//go:embed mmff.xyz.gz
	mmffXYZ []byte
	//go:embed mmff-molecules.csv
	mmffMols []byte
)

// ESOL returns the embedded esol-delaney-processed.csv: a header, then one
// molecule per row; the SMILES are in column "smiles" and the regression
// target in "measured log solubility in mols per litre".
func ESOL() []byte { return esol }

// MMFF parses the embedded mmff.xyz.gz: 3,000 frames of 300 molecules, ten
// per molecule, in molecule order. Each frame has Energy (kcal/mol),
// Forces (kcal/mol/Å), positions in Å, and Info keys mol (the row of
// MMFFMolecules), conf, rattle, sigma (Å), e_opt (kcal/mol, the energy
// of the optimised conformer it was rattled from) and split.
func MMFF() ([]atoms.Frame, error) {
	zr, err := gzip.NewReader(bytes.NewReader(mmffXYZ))
	if err != nil {
		return nil, fmt.Errorf("molecules: mmff.xyz.gz: %w", err)
	}
	defer zr.Close()
	return atoms.Read(zr, "mmff.xyz.gz")
}

// Molecule is a row of mmff-molecules.csv.
type Molecule struct {
	Index      int    // mol in the frames' Info
	ESOLRow    int    // 0-based data row of esol-delaney-processed.csv
	Compound   string // ESOL's Compound ID
	SMILES     string
	HeavyAtoms int
	Atoms      int // with hydrogens
	Frames     int
	Split      string // train, val or test
}

// MMFFMolecules parses the embedded mmff-molecules.csv.
func MMFFMolecules() ([]Molecule, error) {
	r := csv.NewReader(bytes.NewReader(mmffMols))
	r.FieldsPerRecord = 8
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("molecules: mmff-molecules.csv: %w", err)
	}
	var mols []Molecule
	for i, rec := range recs[1:] {
		var ints [5]int
		for k, col := range []int{0, 1, 4, 5, 6} {
			if ints[k], err = strconv.Atoi(rec[col]); err != nil {
				return nil, fmt.Errorf("molecules: mmff-molecules.csv:%d: field %d %q: not an integer", i+2, col+1, rec[col])
			}
		}
		mols = append(mols, Molecule{ints[0], ints[1], rec[2], rec[3], ints[2], ints[3], ints[4], rec[7]})
	}
	return mols, nil
}

// MMFFSplit returns the MMFF frames split by molecule (80/10/10 of the
// molecules, so no molecule's geometries are in two parts).
func MMFFSplit() (train, val, test []atoms.Frame, err error) {
	frames, err := MMFF()
	if err != nil {
		return nil, nil, nil, err
	}
	for _, f := range frames {
		switch s := f.Info["split"]; s {
		case "train":
			train = append(train, f)
		case "val":
			val = append(val, f)
		case "test":
			test = append(test, f)
		default:
			return nil, nil, nil, fmt.Errorf("molecules: mmff.xyz.gz:%d: split %q", f.Line+1, s)
		}
	}
	return train, val, test, nil
}
