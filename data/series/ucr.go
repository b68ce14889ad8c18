package series

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/loomml/loom/data/external"
)

// UCRSets names the classification sets `loom repro ts-classify` uses: two
// univariate UCR sets and two multivariate UEA sets, one of variable
// length. They are not shipped with loom (package external finds them).
var UCRSets = []string{"GunPoint", "ItalyPowerDemand", "BasicMotions", "JapaneseVowels"}

// UCROrigin says where the sets' files come from.
const UCROrigin = "the UCR and UEA time-series classification archives (Dau et al. 2019, arXiv 1810.07758; Bagnall et al. 2018, arXiv 1811.00075) as .ts files, e.g. sktime's datasets/data/<Name>/<Name>_{TRAIN,TEST}.ts"

// ReadUCRSet reads a set's NAME_TRAIN.ts and NAME_TEST.ts from the
// external data set "ucr" (see package external).
func ReadUCRSet(name string) (train, test *TSFile, err error) {
	if !slices.Contains(UCRSets, name) {
		return nil, nil, fmt.Errorf("series: no set %q; have %v", name, UCRSets)
	}
	dir, err := external.Find(external.Set{Name: "ucr", Files: []string{name + "_TRAIN.ts", name + "_TEST.ts"}, Origin: UCROrigin})
	if err != nil {
		return nil, nil, err
	}
	if train, err = ReadTSFile(filepath.Join(dir, name+"_TRAIN.ts")); err != nil {
		return nil, nil, err
	}
	if test, err = ReadTSFile(filepath.Join(dir, name+"_TEST.ts")); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
