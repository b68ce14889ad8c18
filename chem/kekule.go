package chem

// Kekulisation, as RDKit's Kekulize (Kekulize.cpp): every aromatic atom that
// needs a double bond (by RDKit's candidate rule) gets exactly one, along an
// aromatic ring bond to another such atom. RDKit searches greedily with
// backtracking; here the double bonds are a perfect matching found with
// Edmonds' blossom algorithm. Which matching is found does not change what
// the later steps see: all of them only ask whether an atom has a ring double
// bond.

// kekulize replaces aromatic bonds by single and double bonds and clears the
// aromatic flags, as RDKit's Kekulize(mol, markAtomsBonds=true).
func (s *sanitizer) kekulize() error {
	m := s.m
	any := false
	for i := range m.Atoms {
		if s.isAromaticAtom(i, false) {
			any = true
			break
		}
	}
	if !any {
		return nil
	}
	// Atoms in ring systems that contain an aromatic atom.
	inSys := s.aromaticRingSystemAtoms()

	cand := make([]bool, len(m.Atoms))
	optional := make([]bool, len(m.Atoms)) // wildcard atoms may take a double bond
	ringCount, ringNotCand := s.ringCandidacy()
	var makeSingle []int
	for i := range m.Atoms {
		if !inSys[i] || (m.Atoms[i].AtomicNum != 0 && !s.isAromaticAtom(i, false)) {
			continue
		}
		a := &m.Atoms[i]
		sbo := 0
		nonAromNbr := 0
		for _, b := range m.adj[i] {
			o := m.Bonds[b].Order
			j := m.Bonds[b].Other(i)
			if m.Atoms[j].AtomicNum != 0 && !m.Atoms[j].Aromatic && inSys[j] {
				nonAromNbr++
			}
			if s.bondArom[b] && (o == Single || o == Double || o == Aromatic) {
				sbo++
				makeSingle = append(makeSingle, b)
			} else {
				sbo += int(roundHalfAway(o.valence()))
			}
		}
		if a.AtomicNum == 0 && nonAromNbr < ringCount[i] && ringNotCand[i] < ringCount[i] {
			optional[i] = true
			continue
		}
		sbo += a.ExplicitH + a.ImplicitH
		chrg := chargeCorrection(a.AtomicNum, a.Charge)
		dv := defaultValence(a.AtomicNum) + chrg
		tbo := s.explVal[i] + a.ImplicitH
		totalDegree := len(m.adj[i]) + a.ImplicitH
		vl := elements[a.AtomicNum].valences
		for vi := 1; tbo > dv && vi < len(vl) && vl[vi] > 0; vi++ {
			dv = vl[vi] + chrg
		}
		if tbo == 5 && sbo == 4 && dv == 3 && totalDegree == 3 && a.Radicals == 0 && chrg == 0 &&
			a.ExplicitH+a.ImplicitH == 0 {
			switch a.AtomicNum {
			case 7, 15, 33:
				dv = 5
			}
		}
		if totalDegree+a.Radicals >= dv {
			continue
		}
		if dv == sbo+1+a.Radicals {
			cand[i] = true
		} else if a.Radicals == 0 && s.noImplicit[i] && dv == sbo+2 {
			cand[i] = true
		}
	}
	for _, b := range makeSingle {
		m.Bonds[b].Order = Single
	}

	// Edges: ring bonds between candidates, aromatic unless a wildcard is
	// involved. Every candidate must get a double bond; wildcards may.
	n := len(m.Atoms)
	g := make([][]int, n)
	for b := range m.Bonds {
		bd := &m.Bonds[b]
		i, j := bd.Begin, bd.End
		if !bd.InRing || !(cand[i] || optional[i]) || !(cand[j] || optional[j]) {
			continue
		}
		if s.bondArom[b] || optional[i] || optional[j] {
			g[i] = append(g[i], j)
			g[j] = append(g[j], i)
		}
	}
	match := matchCovering(g, cand, optional)
	for i := range m.Atoms {
		if cand[i] && match[i] < 0 {
			return &atomError{i, "cannot kekulize the aromatic system containing this atom"}
		}
	}
	for i, j := range match {
		if j > i && j < n {
			m.Bonds[m.BondBetween(i, j)].Order = Double
		}
	}

	// Clear the aromatic flags; pyrrole-type [nH] and [pH] lose their
	// explicit H to the valence model again.
	for b := range m.Bonds {
		s.bondArom[b] = false
	}
	totalBefore := make([]int, n)
	for i := range m.Atoms {
		totalBefore[i] = s.explVal[i] + s.m.Atoms[i].ImplicitH
	}
	for i := range m.Atoms {
		a := &m.Atoms[i]
		if !a.Aromatic {
			continue
		}
		if !a.InRing {
			return &atomError{i, "non-ring atom marked aromatic"}
		}
		a.Aromatic = false
		if (a.AtomicNum == 7 || a.AtomicNum == 15) && a.Charge == 0 && a.ExplicitH == 1 {
			s.noImplicit[i] = false
			a.ExplicitH = 0
			if err := s.updateAtom(i, false); err != nil {
				return err
			}
			if s.explVal[i]+a.ImplicitH != totalBefore[i] {
				return &atomError{i, "kekulization changed the valence of this atom"}
			}
		}
	}
	return nil
}

func roundHalfAway(x float64) float64 {
	if x < 0 {
		return -roundHalfAway(-x)
	}
	return float64(int(x + 0.5))
}

// aromaticRingSystemAtoms marks the atoms of RDKit "fused systems" (rings
// sharing a bond) that contain at least one aromatic atom.
func (s *sanitizer) aromaticRingSystemAtoms() []bool {
	m := s.m
	rs := m.rings
	// Union-find over rings sharing a bond.
	parent := make([]int, len(rs))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	byBond := map[int]int{}
	for r, rg := range rs {
		for _, b := range rg.bonds {
			if o, ok := byBond[b]; ok {
				parent[find(r)] = find(o)
			} else {
				byBond[b] = r
			}
		}
	}
	arom := map[int]bool{}
	for r, rg := range rs {
		for _, a := range rg.atoms {
			if m.Atoms[a].AtomicNum == 0 || s.isAromaticAtom(a, false) {
				arom[find(r)] = true
			}
		}
	}
	out := make([]bool, len(m.Atoms))
	for r, rg := range rs {
		if arom[find(r)] {
			for _, a := range rg.atoms {
				out[a] = true
			}
		}
	}
	return out
}

// ringCandidacy returns, per atom, the number of rings containing it and
// how many of those rings RDKit's kekuliser treats as not candidates (no
// aromatic atom in only that ring).
func (s *sanitizer) ringCandidacy() (count, notCand []int) {
	m := s.m
	count = make([]int, len(m.Atoms))
	notCand = make([]int, len(m.Atoms))
	for _, r := range m.rings {
		for _, a := range r.atoms {
			count[a]++
		}
	}
	for _, r := range m.rings {
		nc := true
		for _, a := range r.atoms {
			if s.isAromaticAtom(a, false) && count[a] == 1 {
				nc = false
				break
			}
		}
		if nc {
			for _, a := range r.atoms {
				notCand[a]++
			}
		}
	}
	return count, notCand
}

// matchCovering finds a matching of g that covers every required vertex and
// any of the optional ones: a perfect matching of g extended by one gadget
// vertex per optional vertex (joined to all optional vertices, and to each
// other so unused ones pair up), plus one more when the number of required
// vertices is odd. Gadget partners are reported as indices ≥ len(g).
func matchCovering(g [][]int, required, optional []bool) []int {
	n := len(g)
	var opt []int
	nreq := 0
	for v := 0; v < n; v++ {
		if optional[v] {
			opt = append(opt, v)
		}
		if required[v] {
			nreq++
		}
	}
	if len(opt) == 0 {
		return maxMatching(g, required)
	}
	ng := len(opt)
	if nreq%2 == 1 {
		ng++
	}
	big := make([][]int, n+ng)
	use := make([]bool, n+ng)
	for v := 0; v < n; v++ {
		big[v] = append([]int(nil), g[v]...)
		use[v] = required[v] || optional[v]
	}
	for k := 0; k < ng; k++ {
		x := n + k
		use[x] = true
		for _, v := range opt {
			big[x] = append(big[x], v)
			big[v] = append(big[v], x)
		}
		for l := 0; l < ng; l++ {
			if l != k {
				big[x] = append(big[x], n+l)
			}
		}
	}
	match := maxMatching(big, use)
	return match[:n]
}

// maxMatching is Edmonds' blossom algorithm on the graph g restricted to
// vertices with use[v]; it returns match[v] (-1 if unmatched).
func maxMatching(g [][]int, use []bool) []int {
	n := len(g)
	match := make([]int, n)
	p := make([]int, n)
	base := make([]int, n)
	for i := range match {
		match[i] = -1
	}
	// Greedy start.
	for v := 0; v < n; v++ {
		if !use[v] || match[v] >= 0 {
			continue
		}
		for _, u := range g[v] {
			if match[u] < 0 {
				match[v], match[u] = u, v
				break
			}
		}
	}
	used := make([]bool, n)
	blossom := make([]bool, n)
	seen := make([]int, n) // stamps, so lca needs no clearing
	stamp := 0
	lca := func(a, b int) int {
		stamp++
		for {
			a = base[a]
			seen[a] = stamp
			if match[a] < 0 {
				break
			}
			a = p[match[a]]
		}
		for {
			b = base[b]
			if seen[b] == stamp {
				return b
			}
			b = p[match[b]]
		}
	}
	markPath := func(v, b, child int) {
		for base[v] != b {
			blossom[base[v]], blossom[base[match[v]]] = true, true
			p[v] = child
			child = match[v]
			v = p[match[v]]
		}
	}
	findPath := func(root int) int {
		for i := 0; i < n; i++ {
			used[i], p[i], base[i] = false, -1, i
		}
		used[root] = true
		queue := []int{root}
		for qh := 0; qh < len(queue); qh++ {
			v := queue[qh]
			for _, to := range g[v] {
				if base[v] == base[to] || match[v] == to {
					continue
				}
				if to == root || (match[to] >= 0 && p[match[to]] >= 0) {
					cur := lca(v, to)
					for i := range blossom {
						blossom[i] = false
					}
					markPath(v, cur, to)
					markPath(to, cur, v)
					for i := 0; i < n; i++ {
						if blossom[base[i]] {
							base[i] = cur
							if !used[i] {
								used[i] = true
								queue = append(queue, i)
							}
						}
					}
				} else if p[to] < 0 {
					p[to] = v
					if match[to] < 0 {
						return to
					}
					used[match[to]] = true
					queue = append(queue, match[to])
				}
			}
		}
		return -1
	}
	for v := 0; v < n; v++ {
		if !use[v] || match[v] >= 0 || len(g[v]) == 0 {
			continue
		}
		u := findPath(v)
		for u >= 0 {
			pv := p[u]
			ppv := match[pv]
			match[u], match[pv] = pv, u
			u = ppv
		}
	}
	return match
}
