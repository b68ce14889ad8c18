// Package chem reads molecules for loom's graph and atom models: SMILES
// strings and V2000 MOL/SD files, into a Molecule of atoms and bonds with the
// properties graph models use, and turns them into atom and bond features.
//
// # SMILES
//
// ParseSMILES reads the OpenSMILES syntax RDKit reads: the organic subset
// (B C N O P S F Cl Br I, aromatic b c n o p s, and * for a wildcard), bracket
// atoms with isotope, any element symbol or #n, aromatic se as te si,
// chirality (@, @@ and @TH/@AL/@SP/@TB/@OH classes, kept as written), H count,
// charge (+, ++, +2, -, --, -2) and atom class; bonds - = # $ : and the / \
// stereo marks (kept on the bond); branches; ring closures by digit, %nn and
// %(n…), with bond orders on either side; and dot-separated components.
// Errors are *ParseError values naming the 1-based column, the offending
// character and the input; nothing panics (FuzzParse checks this).
//
// # RDKit's chemistry model
//
// A parsed molecule is sanitised as RDKit 2022.09's MolFromSmiles does (see
// Sanitize): implicit hydrogens from RDKit's valence model (default valences
// per element and formal charge, its handling of aromatic atoms before
// kekulisation, pyrrole-type [nH]), the clean-up of nitro-type groups into
// charge-separated form, ring membership (a bond is in a ring iff it is not
// a bridge), kekulisation, radicals, aromaticity perceived from the Kekulé
// structure with RDKit's default model (Hückel 4n+2 over single rings and
// fused systems of up to six rings, with RDKit's electron-donor rules and
// exocyclic double bonds to electronegative atoms taking electrons),
// conjugation and hybridisation. Molecules RDKit rejects (atoms above every
// allowed valence, aromatic systems without a Kekulé structure) are errors at
// the atom concerned.
//
// The rules are RDKit's (BSD-3-Clause) rewritten in Go; the per-element data
// in elements.go was extracted from RDKit. The tests compare the result with
// RDKit on 2,350 SMILES (ESOL, 1,000 of RDKit's bundled NCI set, and hand-made
// edge cases; testdata/gen_rdkit.py writes the fixture): atom, heavy-atom and
// bond counts, formal charges, per-atom hydrogen counts, aromatic flags, ring
// membership and hybridisation, and per-bond type, aromaticity, ring
// membership and conjugation all agree on every molecule.
//
// Not covered: writing SMILES, SMARTS, E/Z or R/S perception (chirality and
// stereo marks are kept as written, not checked), and RDKit's removal of
// hydrogen atoms (written [H] atoms stay atoms; TotalH counts them).
//
// # MOL and SD files
//
// SDFReader, ReadSDF and ParseMolBlock read V2000 records: coordinates,
// elements, charges (the atom block's codes and M  CHG), M  ISO, M  RAD,
// valence fields, bond types 1-4 and the "> <NAME>" data items; errors are
// *SDFError values naming the line and the field. Molecules are sanitised as
// from SMILES.
//
// # Features
//
// AtomFeatures and BondFeatures return categorical indices (OGB's atom
// scheme; bond type, conjugation and ring membership), and AtomFeatureVector
// and BondFeatureVector the same as concatenated one-hot []float32.
package chem
