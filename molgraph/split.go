package molgraph

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/loomml/loom/tensor"
)

// Split is a partition of a dataset's rows.
type Split struct {
	Kind              string // "random" or "scaffold"
	Train, Val, Test  []int
	Scaffolds         int // distinct scaffolds (scaffold splits)
	TestScaffoldsSeen int // test scaffolds also in train (0 for scaffold splits)
}

// Split kinds.
const (
	SplitRandom   = "random"
	SplitScaffold = "scaffold"
)

// RandomSplit shuffles rows 0..n−1 with seed and cuts them at the
// fractions train, val (the rest is the test set).
func RandomSplit(n int, train, val float64, seed uint64) Split {
	perm := tensor.NewRNG(seed).Perm(n)
	a, b := int(train*float64(n)), int((train+val)*float64(n))
	return Split{Kind: SplitRandom, Train: perm[:a], Val: perm[a:b], Test: perm[b:]}
}

// ScaffoldSplit groups the rows by scaffold key and fills train, then
// validation, then test with whole groups, largest first, as DeepChem's
// ScaffoldSplitter does: a group goes to train unless that would pass the
// train fraction, else to validation unless that would pass train + val,
// else to test. Ties in size go by the larger first row first (DeepChem's
// sort key (len, first index), reversed). Deterministic: no seed.
func ScaffoldSplit(keys []string, train, val float64) Split {
	groups := map[string][]int{}
	var order []string
	for i, k := range keys {
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	slices.SortStableFunc(order, func(a, b string) int {
		ga, gb := groups[a], groups[b]
		return cmp.Or(cmp.Compare(len(gb), len(ga)), cmp.Compare(gb[0], ga[0]))
	})
	n := float64(len(keys))
	s := Split{Kind: SplitScaffold, Scaffolds: len(groups)}
	for _, k := range order {
		g := groups[k]
		switch {
		case float64(len(s.Train)+len(g)) <= train*n:
			s.Train = append(s.Train, g...)
		case float64(len(s.Train)+len(s.Val)+len(g)) <= (train+val)*n:
			s.Val = append(s.Val, g...)
		default:
			s.Test = append(s.Test, g...)
		}
	}
	return s
}

// MakeSplit splits d by kind (SplitRandom with seed, or SplitScaffold)
// at 80/10/10 and counts the test rows whose scaffold is also in train.
func MakeSplit(d *Dataset, kind string, seed uint64) (Split, error) {
	keys := make([]string, d.Len())
	for i, m := range d.Mols {
		keys[i] = ScaffoldKey(m)
	}
	var s Split
	switch kind {
	case SplitRandom:
		s = RandomSplit(d.Len(), 0.8, 0.1, seed)
	case SplitScaffold:
		s = ScaffoldSplit(keys, 0.8, 0.1)
	default:
		return Split{}, fmt.Errorf("split %q: want %q or %q", kind, SplitRandom, SplitScaffold)
	}
	if len(s.Train) == 0 || len(s.Val) == 0 || len(s.Test) == 0 {
		return Split{}, fmt.Errorf("%s: %d molecules split %s into %d/%d/%d: every part needs one", d.Name, d.Len(), kind, len(s.Train), len(s.Val), len(s.Test))
	}
	inTrain := map[string]bool{}
	for _, i := range s.Train {
		inTrain[keys[i]] = true
	}
	all := map[string]bool{}
	for _, k := range keys {
		all[k] = true
	}
	s.Scaffolds = len(all)
	for _, i := range s.Test {
		if inTrain[keys[i]] {
			s.TestScaffoldsSeen++
		}
	}
	return s, nil
}
