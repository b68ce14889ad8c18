package chem

import (
	"math/bits"
	"sort"
)

// ring is a simple cycle: atoms in ring order, and its bonds.
type ring struct {
	atoms []int
	bonds []int
}

// markRingMembership sets InRing on atoms and bonds: a bond is in a ring iff
// it is not a bridge, and an atom iff it has a ring bond.
func markRingMembership(m *Molecule) {
	bridge := bridges(m)
	for i := range m.Atoms {
		m.Atoms[i].InRing = false
	}
	for i := range m.Bonds {
		in := !bridge[i]
		m.Bonds[i].InRing = in
		if in {
			m.Atoms[m.Bonds[i].Begin].InRing = true
			m.Atoms[m.Bonds[i].End].InRing = true
		}
	}
}

// bridges finds the bridges of the molecular graph (iterative Tarjan
// low-link, so long chains do not recurse deeply).
func bridges(m *Molecule) []bool {
	n := len(m.Atoms)
	isBridge := make([]bool, len(m.Bonds))
	disc := make([]int, n)
	low := make([]int, n)
	for i := range disc {
		disc[i] = -1
	}
	type frame struct{ atom, viaBond, next int }
	t := 0
	for root := 0; root < n; root++ {
		if disc[root] >= 0 {
			continue
		}
		stack := []frame{{root, -1, 0}}
		disc[root], low[root] = t, t
		t++
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next < len(m.adj[f.atom]) {
				b := m.adj[f.atom][f.next]
				f.next++
				if b == f.viaBond {
					continue
				}
				j := m.Bonds[b].Other(f.atom)
				if disc[j] < 0 {
					disc[j], low[j] = t, t
					t++
					stack = append(stack, frame{j, b, 0})
				} else if disc[j] < low[f.atom] {
					low[f.atom] = disc[j]
				}
				continue
			}
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				p := &stack[len(stack)-1]
				if low[f.atom] < low[p.atom] {
					low[p.atom] = low[f.atom]
				}
				if low[f.atom] > disc[p.atom] {
					isBridge[f.viaBond] = true
				}
			}
		}
	}
	return isBridge
}

// bitset over the ring bonds of one ring system.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) xor(o bitset) {
	for i := range b {
		b[i] ^= o[i]
	}
}
func (b bitset) clone() bitset { return append(bitset(nil), b...) }
func (b bitset) isZero() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}
func (b bitset) lowest() int {
	for i, w := range b {
		if w != 0 {
			return i*64 + bits.TrailingZeros64(w)
		}
	}
	return -1
}

// gf2Basis is a set of independent cycles over GF(2), kept in echelon form
// keyed by each vector's lowest set bit.
type gf2Basis struct {
	pivot map[int]bitset
}

// reduce returns v reduced against the basis (a copy).
func (g *gf2Basis) reduce(v bitset) bitset {
	v = v.clone()
	for {
		p := v.lowest()
		if p < 0 {
			return v
		}
		r, ok := g.pivot[p]
		if !ok {
			return v
		}
		v.xor(r)
	}
}

// add inserts v if independent; it reports whether it was.
func (g *gf2Basis) add(v bitset) bool {
	r := g.reduce(v)
	if r.isZero() {
		return false
	}
	g.pivot[r.lowest()] = r
	return true
}

// maxCandidateWork bounds the candidate-cycle search on a ring system
// (atoms × bonds); beyond it the rings are a fundamental cycle basis, which
// only absurd inputs reach.
const maxCandidateWork = 2_000_000

// findRings returns the rings used for aromaticity: per ring system, the
// smallest set of smallest rings, symmetrised like RDKit's symmetrizeSSSR by
// adding every other ring of the same size that is not a sum of smaller rings
// (the "relevant cycles" among Horton's candidate cycles).
func findRings(m *Molecule) []ring {
	// Ring systems: connected components of the ring-bond subgraph.
	comp := make([]int, len(m.Atoms))
	for i := range comp {
		comp[i] = -1
	}
	var systems [][]int
	for s := range m.Atoms {
		if comp[s] >= 0 || !m.Atoms[s].InRing {
			continue
		}
		id := len(systems)
		atoms := []int{s}
		comp[s] = id
		for k := 0; k < len(atoms); k++ {
			a := atoms[k]
			for _, b := range m.adj[a] {
				if !m.Bonds[b].InRing {
					continue
				}
				j := m.Bonds[b].Other(a)
				if comp[j] < 0 {
					comp[j] = id
					atoms = append(atoms, j)
				}
			}
		}
		systems = append(systems, atoms)
	}
	var out []ring
	for _, atoms := range systems {
		out = append(out, systemRings(m, atoms)...)
	}
	return out
}

type cycle struct {
	atoms []int
	bonds []int
	set   bitset
	key   string
}

func systemRings(m *Molecule, atoms []int) []ring {
	// Local bond numbering.
	local := map[int]int{}
	var bonds []int
	for _, a := range atoms {
		for _, b := range m.adj[a] {
			if _, ok := local[b]; !ok && m.Bonds[b].InRing {
				local[b] = len(bonds)
				bonds = append(bonds, b)
			}
		}
	}
	nb := len(bonds)
	rank := nb - len(atoms) + 1
	if rank <= 0 {
		return nil
	}
	mk := func(ats, bs []int) cycle {
		c := cycle{atoms: ats, bonds: bs, set: newBitset(nb)}
		for _, b := range bs {
			c.set.set(local[b])
		}
		k := make([]byte, len(c.set)*8)
		for i, w := range c.set {
			for j := 0; j < 8; j++ {
				k[i*8+j] = byte(w >> (8 * j))
			}
		}
		c.key = string(k)
		return c
	}
	var cands []cycle
	if len(atoms)*nb > maxCandidateWork {
		cands = fundamentalCycles(m, atoms, mk)
	} else {
		cands = hortonCandidates(m, atoms, mk)
	}
	sort.SliceStable(cands, func(i, j int) bool { return len(cands[i].bonds) < len(cands[j].bonds) })

	basis := &gf2Basis{pivot: map[int]bitset{}}
	var out []ring
	found := 0
	for i := 0; i < len(cands) && found < rank; {
		j := i
		for j < len(cands) && len(cands[j].bonds) == len(cands[i].bonds) {
			j++
		}
		// Cycles of this size independent of all smaller ones are kept.
		var keep []cycle
		for _, c := range cands[i:j] {
			if !basis.reduce(c.set).isZero() {
				keep = append(keep, c)
			}
		}
		for _, c := range keep {
			if basis.add(c.set) {
				found++
			}
			out = append(out, ring{atoms: c.atoms, bonds: c.bonds})
		}
		i = j
	}
	return out
}

// hortonCandidates builds, for every atom v and ring bond (x, y), the cycle
// made of the shortest paths v→x and v→y and the bond, when the two paths
// meet only at v. Duplicates are dropped.
func hortonCandidates(m *Molecule, atoms []int, mk func([]int, []int) cycle) []cycle {
	inSys := map[int]bool{}
	for _, a := range atoms {
		inSys[a] = true
	}
	seen := map[string]bool{}
	var out []cycle
	dist := map[int]int{}
	parent := map[int]int{} // atom -> bond to parent
	for _, v := range atoms {
		clear(dist)
		clear(parent)
		dist[v] = 0
		parent[v] = -1
		queue := []int{v}
		for k := 0; k < len(queue); k++ {
			a := queue[k]
			for _, b := range m.adj[a] {
				if !m.Bonds[b].InRing {
					continue
				}
				j := m.Bonds[b].Other(a)
				if _, ok := dist[j]; !ok {
					dist[j] = dist[a] + 1
					parent[j] = b
					queue = append(queue, j)
				}
			}
		}
		pathTo := func(x int) (ats, bs []int) {
			for x != v {
				ats = append(ats, x)
				b := parent[x]
				bs = append(bs, b)
				x = m.Bonds[b].Other(x)
			}
			return append(ats, v), bs
		}
		for _, x := range atoms {
			for _, b := range m.adj[x] {
				if !m.Bonds[b].InRing {
					continue
				}
				y := m.Bonds[b].Other(x)
				if x > y || parent[x] == b || parent[y] == b {
					continue
				}
				ax, bx := pathTo(x)
				ay, by := pathTo(y)
				// The paths must share only v.
				shared := false
				onX := map[int]bool{}
				for _, a := range ax[:len(ax)-1] {
					onX[a] = true
				}
				for _, a := range ay[:len(ay)-1] {
					if onX[a] {
						shared = true
						break
					}
				}
				if shared {
					continue
				}
				// Ring order: v ... x, then y ... back towards v.
				ats := make([]int, 0, len(ax)+len(ay)-1)
				for k := len(ax) - 1; k >= 0; k-- {
					ats = append(ats, ax[k])
				}
				ats = append(ats, ay[:len(ay)-1]...)
				bs := append(append(append([]int(nil), bx...), b), by...)
				c := mk(ats, bs)
				if !seen[c.key] {
					seen[c.key] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// fundamentalCycles is the cycle basis of one BFS spanning tree.
func fundamentalCycles(m *Molecule, atoms []int, mk func([]int, []int) cycle) []cycle {
	v := atoms[0]
	depth := map[int]int{v: 0}
	parent := map[int]int{v: -1}
	queue := []int{v}
	for k := 0; k < len(queue); k++ {
		a := queue[k]
		for _, b := range m.adj[a] {
			if !m.Bonds[b].InRing {
				continue
			}
			j := m.Bonds[b].Other(a)
			if _, ok := depth[j]; !ok {
				depth[j] = depth[a] + 1
				parent[j] = b
				queue = append(queue, j)
			}
		}
	}
	var out []cycle
	for _, x := range atoms {
		for _, b := range m.adj[x] {
			y := m.Bonds[b].Other(x)
			if !m.Bonds[b].InRing || x > y || parent[x] == b || parent[y] == b {
				continue
			}
			// Walk both ends up to their common ancestor.
			var left, right []int
			var bs []int
			p, q := x, y
			for p != q {
				if depth[p] >= depth[q] {
					left = append(left, p)
					bs = append(bs, parent[p])
					p = m.Bonds[parent[p]].Other(p)
				} else {
					right = append(right, q)
					bs = append(bs, parent[q])
					q = m.Bonds[parent[q]].Other(q)
				}
			}
			ats := append(left, p)
			for k := len(right) - 1; k >= 0; k-- {
				ats = append(ats, right[k])
			}
			out = append(out, mk(ats, append(bs, b)))
		}
	}
	return out
}
