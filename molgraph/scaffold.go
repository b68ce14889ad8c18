package molgraph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loomml/loom/chem"
)

// Scaffold returns the atoms of m's Bemis–Murcko scaffold (Bemis & Murcko,
// J. Med. Chem. 1996) as RDKit's MurckoScaffold.GetScaffoldForMol finds
// them: every atom that is neither in a ring nor on a path between rings
// is pruned (repeatedly removing non-ring atoms with at most one
// remaining neighbour), then the atoms double-bonded to a kept atom are
// put back (the O of a ring ketone, the =N of an oxime). An acyclic
// molecule has an empty scaffold.
func Scaffold(m *chem.Molecule) []int {
	n := len(m.Atoms)
	kept := make([]bool, n)
	deg := make([]int, n)
	for i := range n {
		kept[i] = true
		deg[i] = m.Degree(i)
	}
	var queue []int
	for i := range n {
		if !m.Atoms[i].InRing && deg[i] <= 1 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		if !kept[i] {
			continue
		}
		kept[i] = false
		for _, j := range m.Neighbors(i) {
			if kept[j] {
				deg[j]--
				if !m.Atoms[j].InRing && deg[j] <= 1 {
					queue = append(queue, j)
				}
			}
		}
	}
	var out []int
	for i := range n {
		if kept[i] {
			out = append(out, i)
			continue
		}
		for _, b := range m.AtomBonds(i) {
			bd := m.Bonds[b]
			if bd.Order == chem.Double && kept[bd.Other(i)] {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// ScaffoldKey returns a key that two molecules share when their
// scaffolds are the same labelled graph (elements, aromaticity, charges,
// hydrogens, bond orders): colour refinement (1-dimensional Weisfeiler–Lehman) run
// to a stable partition, then the sorted multiset of final colours. ""
// for an empty scaffold. Graphs colour refinement cannot tell apart share
// a key; among ring scaffolds this is rare (TestScaffoldKeyMatchesRDKit
// compares the grouping with RDKit's canonical scaffold SMILES on ESOL).
func ScaffoldKey(m *chem.Molecule) string {
	atoms := Scaffold(m)
	if len(atoms) == 0 {
		return ""
	}
	local := map[int]int{}
	for k, i := range atoms {
		local[i] = k
	}
	type edge struct{ to, order int }
	adj := make([][]edge, len(atoms))
	for _, b := range m.Bonds {
		i, ok1 := local[b.Begin]
		j, ok2 := local[b.End]
		if ok1 && ok2 {
			adj[i] = append(adj[i], edge{j, int(b.Order)})
			adj[j] = append(adj[j], edge{i, int(b.Order)})
		}
	}
	// An atom's hydrogens in the scaffold: its own, plus one per bond
	// order to each pruned neighbour (RDKit fills those valences with
	// hydrogens), so that [nH] and n-CH3 both read as the scaffold's [nH]
	// and the 7H and 9H tautomers of a purine stay apart.
	colour := make([]string, len(atoms))
	for k, i := range atoms {
		a := m.Atoms[i]
		h := m.TotalH(i)
		for _, b := range m.AtomBonds(i) {
			if _, ok := local[m.Bonds[b].Other(i)]; !ok && m.Atoms[m.Bonds[b].Other(i)].AtomicNum != 1 {
				h += int(m.Bonds[b].Order)
			}
		}
		colour[k] = fmt.Sprintf("%s%d%v%+dH%d", a.Element, a.Isotope, a.Aromatic, a.Charge, h)
	}
	classes := func(c []string) int {
		s := slices.Clone(c)
		slices.Sort(s)
		return len(slices.Compact(s))
	}
	// Each round's sorted signatures join the key: a round's short colour
	// names stand for the previous round's signatures, which the key
	// already holds, so equal keys mean equal refinements.
	var key strings.Builder
	key.WriteString(strings.Join(sorted(colour), ","))
	for prev := classes(colour); ; {
		sig := make([]string, len(atoms))
		for k := range atoms {
			nb := make([]string, len(adj[k]))
			for x, e := range adj[k] {
				nb[x] = fmt.Sprintf("%d:%s", e.order, colour[e.to])
			}
			slices.Sort(nb)
			sig[k] = colour[k] + "(" + strings.Join(nb, ",") + ")"
		}
		names := slices.Compact(sorted(sig))
		key.WriteString("|" + strings.Join(sorted(sig), ";"))
		for k := range sig { // short canonical names: the sorted order
			idx, _ := slices.BinarySearch(names, sig[k])
			colour[k] = fmt.Sprint(idx)
		}
		if len(names) == prev {
			break
		}
		prev = len(names)
	}
	return key.String()
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
