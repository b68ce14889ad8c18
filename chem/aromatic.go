package chem

import "sort"

// Aromaticity perception with RDKit's default model (Aromaticity.cpp,
// aromaticityHelper with fused systems): each ring atom is given an electron
// donor type from its Kekulé environment; rings whose atoms all qualify are
// candidates; in each fused system (candidate rings of ≤ 24 atoms sharing
// exactly one bond) every connected set of up to 6 rings is tested with
// Hückel's 4n+2 rule, counting the atoms that lie in one or two of the rings.
// Atoms of an aromatic set are aromatic; of its bonds, those in only one of
// its rings are.

type donorType uint8

const (
	donorVacant donorType = iota
	donorOne
	donorTwo
	donorOneOrTwo
	donorAny
	donorNone
)

const (
	maxFusedAromaticRingSize = 24
	maxFusedRings            = 6
	// maxRingSubsets bounds the number of ring sets tested per fused system,
	// so that pathological inputs (huge polycyclic sheets) stay fast.
	maxRingSubsets = 200_000
)

// countAtomElec is MolOps::countAtomElec: electrons atom i can give to a
// π system, or -1.
func (s *sanitizer) countAtomElec(i int) int {
	a := &s.m.Atoms[i]
	dv := defaultValence(a.AtomicNum)
	if dv <= 1 {
		return -1
	}
	degree := len(s.m.adj[i]) + a.ExplicitH + a.ImplicitH
	if degree > 3 {
		return -1
	}
	nlp := outerElectrons(a.AtomicNum) - dv
	nlp -= a.Charge
	if nlp < 0 {
		nlp = 0
	}
	res := (dv - degree) + nlp - a.Radicals
	if res > 1 {
		if s.explVal[i]-len(s.m.adj[i]) > 1 {
			res = 1
		}
	}
	return res
}

// incidentNonCyclicMultipleBond returns the atom at the other end of the
// first non-ring double or triple bond of atom i, or -1.
func (s *sanitizer) incidentNonCyclicMultipleBond(i int) int {
	for _, b := range s.m.adj[i] {
		if !s.m.Bonds[b].InRing && s.m.Bonds[b].Order.valence() >= 2 {
			return s.m.Bonds[b].Other(i)
		}
	}
	return -1
}

func (s *sanitizer) incidentCyclicMultipleBond(i int) bool {
	for _, b := range s.m.adj[i] {
		if s.m.Bonds[b].InRing && s.m.Bonds[b].Order.valence() >= 2 {
			return true
		}
	}
	return false
}

func (s *sanitizer) incidentMultipleBond(i int) bool {
	deg := len(s.m.adj[i]) + s.m.Atoms[i].ExplicitH
	return s.explVal[i] != deg
}

// donorType is getAtomDonorTypeArom with exocyclic bonds stealing electrons.
func (s *sanitizer) donorType(i int) donorType {
	a := &s.m.Atoms[i]
	if a.AtomicNum == 0 {
		if s.incidentCyclicMultipleBond(i) {
			return donorOne
		}
		return donorAny
	}
	nelec := s.countAtomElec(i)
	switch {
	case nelec < 0:
		return donorNone
	case nelec == 0:
		if s.incidentNonCyclicMultipleBond(i) >= 0 {
			return donorVacant
		}
		if s.incidentCyclicMultipleBond(i) {
			return donorOne
		}
		return donorNone
	case nelec == 1:
		if who := s.incidentNonCyclicMultipleBond(i); who >= 0 {
			if moreElectronegative(s.m.Atoms[who].AtomicNum, a.AtomicNum) {
				return donorVacant
			}
			return donorOne
		}
		if s.incidentMultipleBond(i) {
			return donorOne
		}
		if a.Charge == 1 {
			return donorVacant
		}
		return donorNone
	}
	if who := s.incidentNonCyclicMultipleBond(i); who >= 0 &&
		moreElectronegative(s.m.Atoms[who].AtomicNum, a.AtomicNum) {
		nelec--
	}
	if nelec%2 == 1 {
		return donorOne
	}
	return donorTwo
}

// isAtomCandForArom is RDKit's isAtomCandForArom with the default model's
// options.
func (s *sanitizer) isAtomCandForArom(i int, d donorType) bool {
	a := &s.m.Atoms[i]
	if a.AtomicNum > 18 && a.AtomicNum != 34 && a.AtomicNum != 52 {
		return false
	}
	if d == donorNone {
		return false
	}
	if dv := defaultValence(a.AtomicNum); dv > 0 {
		iso := a.AtomicNum - a.Charge
		if iso < 0 || iso >= len(elements) {
			return false
		}
		if s.explVal[i]+a.ImplicitH > defaultValence(iso) {
			return false
		}
	}
	if a.Radicals != 0 && (a.AtomicNum != 6 || a.Charge != 0) {
		return false
	}
	if s.explVal[i]-len(s.m.adj[i]) > 1 {
		nMult := 0
		for _, b := range s.m.adj[i] {
			switch s.m.Bonds[b].Order {
			case Double, Triple:
				nMult++
			}
		}
		if nMult > 1 {
			return false
		}
	}
	return true
}

func electronRange(d donorType) (lo, hi int) {
	switch d {
	case donorAny, donorOneOrTwo:
		return 1, 2
	case donorOne:
		return 1, 1
	case donorTwo:
		return 2, 2
	}
	return 0, 0
}

// huckel is applyHuckel: the atoms' electron counts admit 4n+2 (or 2 in a
// ring of fewer than 6 electrons at most).
func huckel(atoms []int, edon []donorType) bool {
	lo, hi, nAny := 0, 0, 0
	for _, a := range atoms {
		if edon[a] == donorAny {
			nAny++
			if nAny > 1 {
				return false
			}
		}
		l, h := electronRange(edon[a])
		lo += l
		hi += h
	}
	if hi >= 6 {
		for e := lo; e <= hi; e++ {
			if (e-2)%4 == 0 {
				return true
			}
		}
		return false
	}
	return hi == 2
}

// setAromaticity perceives aromaticity on the kekulised molecule.
func (s *sanitizer) setAromaticity() {
	m := s.m
	n := len(m.Atoms)
	edon := make([]donorType, n)
	seen := make([]bool, n)
	cand := make([]bool, n)
	var cRings []ring
	for _, r := range m.rings {
		all, allDummy := true, true
		for _, a := range r.atoms {
			if m.Atoms[a].AtomicNum != 0 {
				allDummy = false
			}
			if !seen[a] {
				seen[a] = true
				edon[a] = s.donorType(a)
				cand[a] = s.isAtomCandForArom(a, edon[a])
			}
			if !cand[a] {
				all = false
			}
		}
		if all && !allDummy {
			cRings = append(cRings, r)
		}
	}
	if len(cRings) == 0 {
		return
	}
	// Neighbouring candidate rings (of ≤ 24 bonds) share exactly one bond.
	byBond := map[int][]int{}
	for i, r := range cRings {
		if len(r.bonds) > maxFusedAromaticRingSize {
			continue
		}
		for _, b := range r.bonds {
			byBond[b] = append(byBond[b], i)
		}
	}
	neigh := make([][]int, len(cRings))
	for i, r := range cRings {
		if len(r.bonds) > maxFusedAromaticRingSize {
			continue
		}
		shared := map[int]int{}
		for _, b := range r.bonds {
			for _, j := range byBond[b] {
				if j > i {
					shared[j]++
				}
			}
		}
		var js []int
		for j, c := range shared {
			if c == 1 {
				js = append(js, j)
			}
		}
		sort.Ints(js)
		for _, j := range js {
			neigh[i] = append(neigh[i], j)
			neigh[j] = append(neigh[j], i)
		}
	}
	done := make([]bool, len(cRings))
	count := make([]int, n) // scratch for huckelFused, left zeroed
	for start := range cRings {
		if done[start] {
			continue
		}
		// The fused system of start.
		sys := []int{start}
		done[start] = true
		for k := 0; k < len(sys); k++ {
			for _, j := range neigh[sys[k]] {
				if !done[j] {
					done[j] = true
					sys = append(sys, j)
				}
			}
		}
		s.huckelFused(cRings, sys, neigh, edon, count)
	}
}

// huckelFused is applyHuckelToFused over one fused system.
func (s *sanitizer) huckelFused(rs []ring, sys []int, neigh [][]int, edon []donorType, count []int) {
	m := s.m
	inSys := map[int]bool{}
	for _, r := range sys {
		inSys[r] = true
	}
	sysBonds := map[int]bool{}
	for _, r := range sys {
		for _, b := range rs[r].bonds {
			sysBonds[b] = true
		}
	}
	doneBonds := map[int]bool{}
	budget := maxRingSubsets

	test := func(set []int) {
		for _, r := range set {
			for _, a := range rs[r].atoms {
				count[a]++
			}
		}
		var atoms []int
		for _, r := range set {
			for _, a := range rs[r].atoms {
				if (count[a] == 1 || count[a] == 2) && count[a] > 0 {
					atoms = append(atoms, a)
					count[a] = -count[a] // mark as collected
				}
			}
		}
		for _, r := range set {
			for _, a := range rs[r].atoms {
				count[a] = 0
			}
		}
		if !huckel(atoms, edon) {
			return
		}
		bc := map[int]int{}
		for _, r := range set {
			for _, a := range rs[r].atoms {
				m.Atoms[a].Aromatic = true
			}
			for _, b := range rs[r].bonds {
				bc[b]++
			}
		}
		for b, c := range bc {
			if c != 1 {
				continue
			}
			s.bondArom[b] = true
			if o := m.Bonds[b].Order; o == Single || o == Double {
				m.Bonds[b].Order = Aromatic
			}
			doneBonds[b] = true
		}
	}

	// Connected ring sets, grown one ring at a time, level by level.
	level := [][]int{}
	seenSet := map[string]bool{}
	for _, r := range sys {
		level = append(level, []int{r})
	}
	for size := 1; size <= maxFusedRings && size <= len(sys); size++ {
		if size == 3 && len(sys) > 300 {
			break
		}
		if len(doneBonds) >= len(sysBonds) {
			break
		}
		for _, set := range level {
			test(set)
		}
		if size == maxFusedRings || size == len(sys) {
			break
		}
		var next [][]int
		for _, set := range level {
			in := map[int]bool{}
			for _, r := range set {
				in[r] = true
			}
			for _, r := range set {
				for _, j := range neigh[r] {
					if in[j] || !inSys[j] {
						continue
					}
					ns := insertSorted(set, j)
					k := setKey(ns)
					if seenSet[k] {
						continue
					}
					seenSet[k] = true
					next = append(next, ns)
					budget--
					if budget <= 0 {
						for _, set := range next {
							test(set)
						}
						return
					}
				}
			}
		}
		level = next
	}
}

func insertSorted(set []int, x int) []int {
	out := make([]int, 0, len(set)+1)
	placed := false
	for _, v := range set {
		if !placed && x < v {
			out = append(out, x)
			placed = true
		}
		out = append(out, v)
	}
	if !placed {
		out = append(out, x)
	}
	return out
}

func setKey(set []int) string {
	b := make([]byte, 0, len(set)*3)
	for _, v := range set {
		b = append(b, byte(v), byte(v>>8), byte(v>>16))
	}
	return string(b)
}
