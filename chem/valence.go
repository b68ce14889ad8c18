package chem

import (
	"fmt"
	"math"
)

// This file is RDKit's valence model (RDKit 2022.09, Atom.cpp and MolOps.cpp),
// rewritten in Go: explicit and implicit valence, the clean-up of
// nitro-type groups, radical assignment and the final hydrogen adjustment.
//
// RDKit computes valences with aromatic bonds counting 1.5 before it
// kekulises, and keeps those values (it does not recompute them after
// kekulisation except on pyrrole-type N and P). sanitizer.explVal caches them
// in the same way so that the aromaticity, conjugation and hybridisation
// rules see what RDKit's see.

// atomError is a sanitisation failure at one atom.
type atomError struct {
	atom int
	msg  string
}

func (e *atomError) Error() string { return fmt.Sprintf("atom %d: %s", e.atom, e.msg) }

// sanitizer holds the per-atom and per-bond state RDKit keeps while it
// sanitises a molecule.
type sanitizer struct {
	m          *Molecule
	noImplicit []bool
	explVal    []int
	bondArom   []bool // RDKit's bond aromatic flag, separate from the order
}

func newSanitizer(m *Molecule) *sanitizer {
	s := &sanitizer{
		m:          m,
		noImplicit: make([]bool, len(m.Atoms)),
		explVal:    make([]int, len(m.Atoms)),
		bondArom:   make([]bool, len(m.Bonds)),
	}
	for i, a := range m.Atoms {
		s.noImplicit[i] = a.Bracket
	}
	for i, b := range m.Bonds {
		s.bondArom[i] = b.Order == Aromatic
	}
	return s
}

// isAromaticAtom is RDKit's isAromaticAtom: the atom's flag, or any aromatic
// bond on it.
func (s *sanitizer) isAromaticAtom(i int, ignoreFlag bool) bool {
	if !ignoreFlag && s.m.Atoms[i].Aromatic {
		return true
	}
	for _, b := range s.m.adj[i] {
		if s.bondArom[b] || s.m.Bonds[b].Order == Aromatic {
			return true
		}
	}
	return false
}

// chargeCorrection is the formal charge as RDKit adds it to allowed valences:
// negated for elements left of carbon, and carbon is taken as
// electronegative (a positive charge lowers its valence too).
func chargeCorrection(z, charge int) int {
	if z >= 0 && z < len(elements) && elements[z].early {
		charge = -charge
	}
	if z == 6 && charge > 0 {
		charge = -charge
	}
	return charge
}

func (s *sanitizer) bondValenceSum(i int) float64 {
	acc := 0.0
	for _, b := range s.m.adj[i] {
		acc += s.m.Bonds[b].Order.valence()
	}
	return acc
}

// calcExplicitValence is Atom::calcExplicitValence.
func (s *sanitizer) calcExplicitValence(i int, strict, ignoreAromFlag bool) (int, error) {
	a := &s.m.Atoms[i]
	accum := s.bondValenceSum(i) + float64(a.ExplicitH)
	dv := defaultValence(a.AtomicNum)
	chr := chargeCorrection(a.AtomicNum, a.Charge)
	if dv >= 0 && accum > float64(dv+chr) && s.isAromaticAtom(i, ignoreAromFlag) {
		// An aromatic atom above its default valence takes the largest
		// allowed valence not above the sum, if within 1.5 of it
		// (c1cccn1C: 4 → 3).
		pval := dv + chr
		for _, v := range elements[a.AtomicNum].valences {
			if v == -1 {
				break
			}
			if float64(v+chr) > accum {
				break
			}
			pval = v + chr
		}
		if accum-float64(pval) <= 1.5 {
			accum = float64(pval)
		}
	}
	accum += 0.1 // x.5 rounds up
	res := int(math.Round(accum))
	if strict {
		eff := res - a.Charge
		if outerElectrons(a.AtomicNum) < 4 {
			eff = res + a.Charge
		}
		vl := elements[a.AtomicNum].valences
		if maxV := vl[len(vl)-1]; maxV > 0 && eff > maxV {
			return res, &atomError{i, fmt.Sprintf("explicit valence %d of %s is greater than permitted", eff, a.Element)}
		}
	}
	return res, nil
}

// calcImplicitValence is Atom::calcImplicitValence, using the cached
// explicit valence.
func (s *sanitizer) calcImplicitValence(i int, strict bool) (int, error) {
	if s.noImplicit[i] {
		return 0, nil
	}
	a := &s.m.Atoms[i]
	if a.AtomicNum == 0 {
		return 0, nil
	}
	ev := s.explVal[i]
	if ev == 0 && a.AtomicNum == 1 && a.Radicals == 0 {
		switch a.Charge {
		case 1, -1:
			return 0, nil
		case 0:
			return 1, nil
		}
		if strict {
			return 0, &atomError{i, "unreasonable formal charge on hydrogen"}
		}
		return 0, nil
	}
	dv := defaultValence(a.AtomicNum)
	if dv == -1 {
		return 0, nil
	}
	vl := elements[a.AtomicNum].valences
	e := ev + a.Radicals
	chg := chargeCorrection(a.AtomicNum, a.Charge)
	if s.isAromaticAtom(i, false) {
		if e <= dv+chg {
			return dv + chg - e, nil
		}
		satis := false
		for _, v := range vl {
			if v <= 0 {
				break
			}
			if e == v+chg {
				satis = true
				break
			}
		}
		if strict && !satis {
			return 0, &atomError{i, fmt.Sprintf("explicit valence of aromatic %s is not an accepted valence", a.Element)}
		}
		return 0, nil
	}
	for _, v := range vl {
		if v < 0 {
			break
		}
		if tot := v + chg; e <= tot {
			return tot - e, nil
		}
	}
	if strict && vl[len(vl)-1] != -1 {
		return 0, &atomError{i, fmt.Sprintf("explicit valence %d of %s is greater than permitted", e, a.Element)}
	}
	return 0, nil
}

// updatePropertyCache computes and caches explicit and implicit valence for
// every atom.
func (s *sanitizer) updatePropertyCache(strict bool) error {
	for i := range s.m.Atoms {
		if err := s.updateAtom(i, strict); err != nil {
			return err
		}
	}
	return nil
}

func (s *sanitizer) updateAtom(i int, strict bool) error {
	ev, err := s.calcExplicitValence(i, strict, false)
	if err != nil {
		return err
	}
	s.explVal[i] = ev
	h, err := s.calcImplicitValence(i, strict)
	if err != nil {
		return err
	}
	s.m.Atoms[i].ImplicitH = h
	return nil
}

// cleanUp is MolOps::cleanUp: neutral hypervalent N, P and halogens bonded to
// oxygen are put in charge-separated form (CN(=O)=O → C[N+](=O)[O-],
// Cl(=O)(=O)(=O)O → [Cl+3]([O-])([O-])([O-])O).
func (s *sanitizer) cleanUp() {
	m := s.m
	for i := range m.Atoms {
		switch m.Atoms[i].AtomicNum {
		case 7:
			s.nitrogenCleanup(i)
		case 15:
			s.phosphorusCleanup(i)
		case 17, 35, 53:
			s.halogenCleanup(i)
		}
	}
}

func (s *sanitizer) nitrogenCleanup(i int) {
	m := s.m
	if m.Atoms[i].Charge != 0 {
		return
	}
	if ev, _ := s.calcExplicitValence(i, false, true); ev != 5 {
		return
	}
	for _, bi := range m.adj[i] {
		b := &m.Bonds[bi]
		j := b.Other(i)
		o := &m.Atoms[j]
		if o.AtomicNum == 8 && o.Charge == 0 && b.Order == Double {
			b.Order = Single
			m.Atoms[i].Charge = 1
			o.Charge = -1
			return
		}
		if o.AtomicNum == 7 && o.Charge == 0 && b.Order == Triple {
			b.Order = Double
			m.Atoms[i].Charge = 1
			o.Charge = -1
			return
		}
	}
}

func (s *sanitizer) phosphorusCleanup(i int) {
	m := s.m
	if m.Atoms[i].Charge != 0 {
		return
	}
	if ev, _ := s.calcExplicitValence(i, false, false); ev != 5 || len(m.adj[i]) != 3 {
		return
	}
	dblO := -1
	hasDoubleToCN := false
	for _, bi := range m.adj[i] {
		b := &m.Bonds[bi]
		o := &m.Atoms[b.Other(i)]
		if o.AtomicNum == 8 && o.Charge == 0 && b.Order == Double {
			dblO = bi
		} else if (o.AtomicNum == 6 || o.AtomicNum == 7) && len(m.adj[b.Other(i)]) >= 2 && b.Order == Double {
			hasDoubleToCN = true
		}
	}
	if hasDoubleToCN && dblO >= 0 {
		m.Atoms[m.Bonds[dblO].Other(i)].Charge = -1
		m.Bonds[dblO].Order = Single
		m.Atoms[i].Charge = 1
	}
}

func (s *sanitizer) halogenCleanup(i int) {
	m := s.m
	ev, _ := s.calcExplicitValence(i, false, false)
	if m.Atoms[i].Charge != 0 || (ev != 7 && ev != 5 && ev != 3) {
		return
	}
	for _, bi := range m.adj[i] {
		if m.Atoms[m.Bonds[bi].Other(i)].AtomicNum != 8 {
			return
		}
	}
	charge := 0
	for _, bi := range m.adj[i] {
		b := &m.Bonds[bi]
		if b.Order == Double {
			b.Order = Single
			charge++
			m.Atoms[b.Other(i)].Charge = -1
		}
	}
	m.Atoms[i].Charge = charge
}

// assignRadicals is MolOps::assignRadicals: bracket atoms below their
// valence get unpaired electrons ([CH3] has one).
func (s *sanitizer) assignRadicals() {
	m := s.m
	for i := range m.Atoms {
		a := &m.Atoms[i]
		if !s.noImplicit[i] || a.Radicals != 0 || a.AtomicNum == 0 {
			continue
		}
		vl := elements[a.AtomicNum].valences
		chg := a.Charge
		nOuter := outerElectrons(a.AtomicNum)
		if len(vl) == 1 && vl[0] == -1 {
			n := nOuter - chg
			if n < 0 {
				n = 0
			}
			a.Radicals = n % 2
			continue
		}
		tv := int(s.bondValenceSum(i) + float64(a.ExplicitH) + 0.1)
		base := 8
		if a.AtomicNum <= 2 {
			base = 2
		}
		nr := base - nOuter - tv + chg
		if nr < 0 {
			nr = 0
			if len(vl) > 1 {
				for _, v := range vl {
					if v-tv+chg >= 0 {
						nr = v - tv + chg
						break
					}
				}
			}
		}
		if nr2 := nOuter - tv - chg; nr2 >= 0 && nr2 < nr {
			nr = nr2
		}
		a.Radicals = nr
	}
}

// adjustHs is MolOps::adjustHs: hydrogens an atom loses as implicit when it
// becomes aromatic (the N of a Kekulé pyrrole) are kept as explicit.
func (s *sanitizer) adjustHs() {
	for i := range s.m.Atoms {
		a := &s.m.Atoms[i]
		orig := a.ImplicitH
		if s.noImplicit[i] {
			orig = 0
		}
		s.explVal[i], _ = s.calcExplicitValence(i, false, false)
		nv, _ := s.calcImplicitValence(i, false)
		if nv < orig {
			a.ExplicitH += orig - nv
		}
		if !s.noImplicit[i] {
			a.ImplicitH = nv
		}
	}
}
