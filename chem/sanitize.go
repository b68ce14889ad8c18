package chem

// Sanitize completes a molecule whose atoms and bonds are as written (from
// ParseSMILESRaw or a MOL block) the way RDKit's sanitizeMol does:
//
//  1. clean-up: neutral 5-valent N, P and oxo-halogens are charge-separated;
//  2. explicit and implicit valences by RDKit's valence model (an error for
//     atoms above every allowed valence);
//  3. ring membership (bridges) and the rings used for aromaticity;
//  4. kekulisation of aromatic input (an error if impossible);
//  5. radicals on bracket atoms below their valence;
//  6. aromaticity perceived from scratch with RDKit's default model;
//  7. conjugation and hybridisation;
//  8. hydrogens lost as implicit by newly aromatic atoms kept as explicit.
//
// It may be called once per molecule.
func Sanitize(m *Molecule) error {
	return sanitize(m)
}

func sanitize(m *Molecule) error {
	if len(m.adj) != len(m.Atoms) {
		m.rebuildAdjacency()
	}
	s := newSanitizer(m)
	s.cleanUp()
	if err := s.updatePropertyCache(true); err != nil {
		return err
	}
	markRingMembership(m)
	m.rings = findRings(m)
	if err := s.kekulize(); err != nil {
		return err
	}
	s.assignRadicals()
	s.setAromaticity()
	s.setConjugation()
	s.setHybridization()
	s.adjustHs()
	return nil
}
