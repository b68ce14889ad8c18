package chem

// Conjugation and hybridisation, as RDKit's setConjugation and
// setHybridization (ConjugHybrid.cpp).

func (s *sanitizer) isAtomConjugCand(i int) bool {
	a := &s.m.Atoms[i]
	nouter := outerElectrons(a.AtomicNum)
	return (a.AtomicNum <= 10 || (nouter != 5 && nouter != 6) ||
		(nouter == 6 && s.m.TotalDegree(i) < 2)) && s.countAtomElec(i) > 0
}

func (s *sanitizer) setConjugation() {
	m := s.m
	for b := range m.Bonds {
		m.Bonds[b].Conjugated = s.bondArom[b]
	}
	for i := range m.Atoms {
		if !s.isAtomConjugCand(i) {
			continue
		}
		if sbo := m.TotalDegree(i); sbo < 2 || sbo > 3 {
			continue
		}
		for _, b1 := range m.adj[i] {
			if m.Bonds[b1].Order.valence() < 1.5 {
				continue
			}
			for _, b2 := range m.adj[i] {
				if b1 == b2 {
					continue
				}
				j := m.Bonds[b2].Other(i)
				if m.TotalDegree(j) > 3 {
					continue
				}
				if s.isAtomConjugCand(j) {
					m.Bonds[b1].Conjugated = true
					m.Bonds[b2].Conjugated = true
				}
			}
		}
	}
}

func (s *sanitizer) numBondsPlusLonePairs(i int) int {
	a := &s.m.Atoms[i]
	deg := s.m.TotalDegree(i)
	if a.AtomicNum <= 1 {
		return deg
	}
	nouter := outerElectrons(a.AtomicNum)
	tv := s.explVal[i] + a.ImplicitH
	free := nouter - (tv + a.Charge)
	if tv+nouter-a.Charge < 8 {
		return deg + (free-a.Radicals)/2 + a.Radicals
	}
	return deg + free/2
}

func (s *sanitizer) setHybridization() {
	m := s.m
	for i := range m.Atoms {
		a := &m.Atoms[i]
		if a.AtomicNum == 0 {
			a.Hybrid = HybridUnspecified
			continue
		}
		td := m.TotalDegree(i)
		switch chiralClass(a.Chirality) {
		case "TH":
			if td == 4 {
				a.Hybrid = HybridSP3
				continue
			}
		case "SP":
			if td >= 2 && td <= 4 {
				a.Hybrid = HybridSP2D
				continue
			}
		case "TB":
			if td >= 2 && td <= 5 {
				a.Hybrid = HybridSP3D
				continue
			}
		case "OH":
			if td >= 2 && td <= 6 {
				a.Hybrid = HybridSP3D2
				continue
			}
		}
		norbs := td
		if a.AtomicNum < 89 {
			norbs = s.numBondsPlusLonePairs(i)
		}
		switch norbs {
		case 0, 1:
			a.Hybrid = HybridS
		case 2:
			a.Hybrid = HybridSP
		case 3:
			a.Hybrid = HybridSP2
		case 4:
			conj := false
			for _, b := range m.adj[i] {
				if m.Bonds[b].Conjugated {
					conj = true
				}
			}
			if td > 3 || !conj {
				a.Hybrid = HybridSP3
			} else {
				a.Hybrid = HybridSP2
			}
		case 5:
			a.Hybrid = HybridSP3D
		case 6:
			a.Hybrid = HybridSP3D2
		default:
			a.Hybrid = HybridUnspecified
		}
	}
}

// chiralClass maps a chirality tag to its class: "@" and "@@" are
// tetrahedral ("TH").
func chiralClass(tag string) string {
	switch {
	case tag == "":
		return ""
	case tag == "@" || tag == "@@":
		return "TH"
	case len(tag) >= 3:
		return tag[1:3]
	}
	return ""
}
