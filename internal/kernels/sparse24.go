package kernels

import "fmt"

// Packed24 is a weight matrix W [N, K] (PyTorch's [out, in] layout) in the
// 2:4 semi-structured sparse layout of NVIDIA's sparse tensor cores
// (Mishra et al., "Accelerating Sparse Deep Neural Networks", arXiv
// 2104.08378): in every group of 4 consecutive weights along a row, at most
// 2 are non-zero. Only those 2 values are stored, with a 2-bit index each
// into the group, so the matrix takes half the values plus 1/16 of the
// float32 bytes in metadata, and a product does half the multiplications.
type Packed24 struct {
	N, K int
	// Vals holds 2 values per group of 4: row n's group g at
	// Vals[(n·K/4+g)·2 :][:2].
	Vals []float32
	// Meta holds the 2-bit indices, 4 per byte: group index j = n·K/4+g
	// has its first value's position at bits 4·(j%2) … and its second at
	// bits 4·(j%2)+2 of Meta[j/2].
	Meta []uint8
}

// Bytes returns the storage the packed matrix takes.
func (p *Packed24) Bytes() int64 { return int64(4*len(p.Vals) + len(p.Meta)) }

// Pack24 packs w [n, k] (row stride ldw) into the 2:4 layout. It returns an
// error when k is not a multiple of 4 or a group has more than 2 non-zeros.
// A group with fewer than 2 non-zeros stores explicit zeros.
func Pack24(w []float32, n, k, ldw int) (*Packed24, error) {
	if k%4 != 0 || k <= 0 || n <= 0 {
		return nil, fmt.Errorf("2:4 layout: a %d×%d matrix: want a positive size and a row length divisible by 4", n, k)
	}
	if ldw < k || len(w) < (n-1)*ldw+k {
		return nil, fmt.Errorf("2:4 layout: %d values for a %d×%d matrix with row stride %d", len(w), n, k, ldw)
	}
	groups := n * k / 4
	p := &Packed24{N: n, K: k, Vals: make([]float32, 2*groups), Meta: make([]uint8, (groups+1)/2)}
	for r := range n {
		row := w[r*ldw : r*ldw+k]
		for g := range k / 4 {
			j := r*k/4 + g
			var pos [2]uint8
			c := 0
			for i := range 4 {
				if row[4*g+i] != 0 {
					if c == 2 {
						return nil, fmt.Errorf("2:4 layout: row %d, columns %d–%d hold more than 2 non-zeros", r, 4*g, 4*g+3)
					}
					pos[c] = uint8(i)
					c++
				}
			}
			// Fill missing slots with unused positions (their values stay
			// zero), keeping the two positions distinct and ascending.
			switch c {
			case 0:
				pos = [2]uint8{0, 1}
			case 1:
				if pos[0] == 3 {
					pos = [2]uint8{2, 3}
				} else {
					pos[1] = pos[0] + 1
				}
			}
			p.Vals[2*j] = row[4*g+int(pos[0])]
			p.Vals[2*j+1] = row[4*g+int(pos[1])]
			p.Meta[j/2] |= (pos[0] | pos[1]<<2) << (4 * (j % 2))
		}
	}
	return p, nil
}

// Dense returns the matrix as dense [N, K] values.
func (p *Packed24) Dense() []float32 {
	out := make([]float32, p.N*p.K)
	for j := range p.N * p.K / 4 {
		b := p.Meta[j/2] >> (4 * (j % 2))
		base := j * 4 // row n, group g: (n·K/4+g)·4 = n·K + 4g
		out[base+int(b&3)] = p.Vals[2*j]
		out[base+int(b>>2&3)] = p.Vals[2*j+1]
	}
	return out
}

// MatMul24 computes c [m, N] = a [m, K] · Wᵀ for a 2:4 packed W, with row
// strides lda and ldc, on up to threads goroutines (over rows of W). Each
// output is the sum over W's row of its stored products in column order,
// which is the dense product's sum in column order with the zero terms left
// out: the result equals a sequential dense dot product exactly (for finite
// inputs), whatever m and threads are.
func MatMul24(threads, m int, a []float32, lda int, p *Packed24, c []float32, ldc int) {
	if m == 0 {
		return
	}
	const block = 16 // rows of W per task
	tasks := (p.N + block - 1) / block
	run(tasks, threads-1, func(t int) {
		lo, hi := t*block, min((t+1)*block, p.N)
		for n := lo; n < hi; n++ {
			if m >= 4 {
				rows4(m, a, lda, p, n, c, ldc)
			}
		}
		if m >= 4 {
			return
		}
		// Few rows (decoding): 4 rows of W at a time against each row of
		// a, four independent sums for the CPU to overlap.
		for i := range m {
			x := a[i*lda : i*lda+p.K]
			n := lo
			for ; n+4 <= hi; n += 4 {
				c[i*ldc+n], c[i*ldc+n+1], c[i*ldc+n+2], c[i*ldc+n+3] = dot24x4(x, p, n)
			}
			for ; n < hi; n++ {
				c[i*ldc+n] = dot24(x, p, n)
			}
		}
	})
}

// dot24x4 is rows n … n+3 of W · x, each summed in dot24's order.
func dot24x4(x []float32, p *Packed24, n int) (s0, s1, s2, s3 float32) {
	g4 := p.K / 4
	j0, j1, j2, j3 := n*g4, (n+1)*g4, (n+2)*g4, (n+3)*g4
	v0 := p.Vals[2*j0 : 2*(j0+g4)]
	v1 := p.Vals[2*j1 : 2*(j1+g4)]
	v2 := p.Vals[2*j2 : 2*(j2+g4)]
	v3 := p.Vals[2*j3 : 2*(j3+g4)]
	meta := p.Meta
	for g := range g4 {
		xs := x[4*g : 4*g+4 : 4*g+4]
		a, b, c, d := j0+g, j1+g, j2+g, j3+g
		m0 := meta[a/2] >> (4 * (a % 2))
		m1 := meta[b/2] >> (4 * (b % 2))
		m2 := meta[c/2] >> (4 * (c % 2))
		m3 := meta[d/2] >> (4 * (d % 2))
		s0 += v0[2*g] * xs[m0&3]
		s0 += v0[2*g+1] * xs[m0>>2&3]
		s1 += v1[2*g] * xs[m1&3]
		s1 += v1[2*g+1] * xs[m1>>2&3]
		s2 += v2[2*g] * xs[m2&3]
		s2 += v2[2*g+1] * xs[m2>>2&3]
		s3 += v3[2*g] * xs[m3&3]
		s3 += v3[2*g+1] * xs[m3>>2&3]
	}
	return
}

// dot24 is row n of W · x: the single-row path (decoding one token).
func dot24(x []float32, p *Packed24, n int) float32 {
	g4 := p.K / 4
	j0 := n * g4
	vals := p.Vals[2*j0 : 2*(j0+g4)]
	var s float32
	for g := range g4 {
		j := j0 + g
		b := p.Meta[j/2] >> (4 * (j % 2))
		xs := x[4*g : 4*g+4]
		s += vals[2*g] * xs[b&3]
		s += vals[2*g+1] * xs[b>>2&3]
	}
	return s
}

// rows4 computes column n of c for every row of a, 4 rows at a time
// sharing the decoded indices (the batched path). Each output's sum is in
// the same order as dot24's.
func rows4(m int, a []float32, lda int, p *Packed24, n int, c []float32, ldc int) {
	g4 := p.K / 4
	j0 := n * g4
	vals := p.Vals[2*j0 : 2*(j0+g4)]
	i := 0
	for ; i+4 <= m; i += 4 {
		x0 := a[i*lda : i*lda+p.K]
		x1 := a[(i+1)*lda : (i+1)*lda+p.K]
		x2 := a[(i+2)*lda : (i+2)*lda+p.K]
		x3 := a[(i+3)*lda : (i+3)*lda+p.K]
		var s0, s1, s2, s3 float32
		for g := range g4 {
			j := j0 + g
			b := p.Meta[j/2] >> (4 * (j % 2))
			k0, k1 := 4*g+int(b&3), 4*g+int(b>>2&3)
			v0, v1 := vals[2*g], vals[2*g+1]
			s0 += v0 * x0[k0]
			s0 += v1 * x0[k1]
			s1 += v0 * x1[k0]
			s1 += v1 * x1[k1]
			s2 += v0 * x2[k0]
			s2 += v1 * x2[k1]
			s3 += v0 * x3[k0]
			s3 += v1 * x3[k1]
		}
		c[i*ldc+n], c[(i+1)*ldc+n], c[(i+2)*ldc+n], c[(i+3)*ldc+n] = s0, s1, s2, s3
	}
	for ; i < m; i++ {
		c[i*ldc+n] = dot24(a[i*lda:i*lda+p.K], p, n)
	}
}
