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
	// Local numbering of the system's atoms and ring bonds.
	local := make(map[int]int, len(atoms))
	for k, a := range atoms {
		local[a] = k
	}
	bondID := map[int]int{}
	var bonds []int
	type edge struct{ to, bond int } // local atom, local bond
	adj := make([][]edge, len(atoms))
	for k, a := range atoms {
		for _, b := range m.adj[a] {
			if !m.Bonds[b].InRing {
				continue
			}
			id, ok := bondID[b]
			if !ok {
				id = len(bonds)
				bondID[b] = id
				bonds = append(bonds, b)
			}
			adj[k] = append(adj[k], edge{local[m.Bonds[b].Other(a)], id})
		}
	}
	nv, nb := len(atoms), len(bonds)
	rank := nb - nv + 1
	if rank <= 0 {
		return nil
	}
	mk := func(ats, bs []int) cycle {
		c := cycle{atoms: ats, bonds: bs, set: newBitset(nb)}
		for _, b := range bs {
			c.set.set(bondID[b])
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
	if nv*nb > maxCandidateWork {
		return relevantRings(fundamentalCycles(m, atoms, mk), rank)
	}

	// Horton's candidates: for every atom v and ring bond (x, y), the shortest
	// paths v→x and v→y closed by the bond, when the paths meet only at v.
	// Their lengths are known from one BFS per atom, so the cycles are built
	// one length at a time, shortest first, until the rings span the cycle
	// space.
	dist := make([]int32, nv*nv)
	par := make([]int32, nv*nv) // local bond to the BFS parent, -1 at the root
	queue := make([]int, 0, nv)
	for v := 0; v < nv; v++ {
		d, p := dist[v*nv:(v+1)*nv], par[v*nv:(v+1)*nv]
		for k := range d {
			d[k], p[k] = -1, -1
		}
		d[v] = 0
		queue = append(queue[:0], v)
		for q := 0; q < len(queue); q++ {
			a := queue[q]
			for _, e := range adj[a] {
				if d[e.to] < 0 {
					d[e.to] = d[a] + 1
					p[e.to] = int32(e.bond)
					queue = append(queue, e.to)
				}
			}
		}
	}
	ends := make([][2]int, nb) // local atoms of each local bond
	for k := range adj {
		for _, e := range adj[k] {
			ends[e.bond] = [2]int{k, e.to}
		}
	}
	other := func(bond, a int) int {
		if ends[bond][0] == a {
			return ends[bond][1]
		}
		return ends[bond][0]
	}
	mark := make([]int, nv)
	stamp := 0
	path := func(v, x int) (ats, bs []int) {
		p := par[v*nv : (v+1)*nv]
		for x != v {
			ats = append(ats, x)
			b := int(p[x])
			bs = append(bs, b)
			x = other(b, x)
		}
		return append(ats, v), bs
	}
	// Bucket the (atom, bond) pairs by cycle length (counting sort).
	maxLen := 2*nv + 1
	counts := make([]int, maxLen+2)
	for v := 0; v < nv; v++ {
		d, p := dist[v*nv:(v+1)*nv], par[v*nv:(v+1)*nv]
		for b := 0; b < nb; b++ {
			x, y := ends[b][0], ends[b][1]
			if int(p[x]) != b && int(p[y]) != b {
				counts[int(d[x]+d[y])+1+1]++
			}
		}
	}
	for l := 1; l < len(counts); l++ {
		counts[l] += counts[l-1]
	}
	pairs := make([][2]int32, counts[len(counts)-1])
	fill := append([]int(nil), counts...)
	for v := 0; v < nv; v++ {
		d, p := dist[v*nv:(v+1)*nv], par[v*nv:(v+1)*nv]
		for b := 0; b < nb; b++ {
			x, y := ends[b][0], ends[b][1]
			if int(p[x]) != b && int(p[y]) != b {
				l := int(d[x]+d[y]) + 1
				pairs[fill[l]] = [2]int32{int32(v), int32(b)}
				fill[l]++
			}
		}
	}

	basis := &gf2Basis{pivot: map[int]bitset{}}
	var out []ring
	found := 0
	seen := map[uint64]bool{}
	zobrist := make([]uint64, nb)
	for i := range zobrist {
		zobrist[i] = splitmix64(uint64(i) + 1)
	}
	for length := 3; found < rank && length <= maxLen; length++ {
		var group []cycle
		for _, pr := range pairs[counts[length]:counts[length+1]] {
			v, b := int(pr[0]), int(pr[1])
			x, y := ends[b][0], ends[b][1]
			// Walk both paths without allocating: check they share only v
			// and hash the bond set (Zobrist), so that the many copies of
			// one cycle (one per atom on it) are built once.
			p := par[v*nv : (v+1)*nv]
			stamp++
			h := zobrist[b]
			for a := x; a != v; {
				mark[a] = stamp
				h ^= zobrist[p[a]]
				a = other(int(p[a]), a)
			}
			shared := false
			for a := y; a != v; {
				if mark[a] == stamp {
					shared = true
					break
				}
				h ^= zobrist[p[a]]
				a = other(int(p[a]), a)
			}
			if shared || seen[h] {
				continue
			}
			seen[h] = true
			ax, bx := path(v, x)
			ay, by := path(v, y)
			// Ring order: v … x, then y … back towards v.
			ats := make([]int, 0, length)
			for k := len(ax) - 1; k >= 0; k-- {
				ats = append(ats, atoms[ax[k]])
			}
			for _, a := range ay[:len(ay)-1] {
				ats = append(ats, atoms[a])
			}
			bs := make([]int, 0, length)
			for _, lb := range bx {
				bs = append(bs, bonds[lb])
			}
			bs = append(bs, bonds[b])
			for _, lb := range by {
				bs = append(bs, bonds[lb])
			}
			group = append(group, mk(ats, bs))
		}
		found += addRelevant(basis, group, &out)
	}
	return out
}

// splitmix64 is a fixed pseudo-random 64-bit value for x (Zobrist keys; a
// collision between two different rings, which would drop one, has
// probability about n²/2⁶⁴).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// addRelevant keeps the cycles of one length that are independent of all
// shorter ones, adds them to the basis, and returns how many raised its rank.
func addRelevant(basis *gf2Basis, group []cycle, out *[]ring) int {
	var keep []cycle
	for _, c := range group {
		if !basis.reduce(c.set).isZero() {
			keep = append(keep, c)
		}
	}
	n := 0
	for _, c := range keep {
		if basis.add(c.set) {
			n++
		}
		*out = append(*out, ring{atoms: c.atoms, bonds: c.bonds})
	}
	return n
}

// relevantRings applies addRelevant to candidate cycles of any lengths.
func relevantRings(cands []cycle, rank int) []ring {
	sort.SliceStable(cands, func(i, j int) bool { return len(cands[i].bonds) < len(cands[j].bonds) })
	basis := &gf2Basis{pivot: map[int]bitset{}}
	var out []ring
	found := 0
	for i := 0; i < len(cands) && found < rank; {
		j := i
		for j < len(cands) && len(cands[j].bonds) == len(cands[i].bonds) {
			j++
		}
		found += addRelevant(basis, cands[i:j], &out)
		i = j
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
