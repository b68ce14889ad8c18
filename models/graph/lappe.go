package graph

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Laplacian positional encodings (Dwivedi & Bresson, section 3.2, and
// data/molecules.py's laplacian_positional_encoding in the reference
// code): each node's entries in the k eigenvectors of the graph's
// symmetric normalised Laplacian with the smallest non-trivial
// eigenvalues. An eigenvector's sign is arbitrary, so training flips each
// one's sign at random per batch (Net.Nodes); a repeated eigenvalue's
// eigenvectors are any basis of its eigenspace, so only their span is
// determined (symmetric molecules: a benzene ring's 6-cycle has two
// eigenvalues of multiplicity 2).

// NormalizedLaplacian returns L = I − D^−½·A·D^−½ of a graph of n nodes
// with the given edges, A its adjacency matrix symmetrised (a_ij = 1 when
// there is an edge i → j or j → i) and D its degrees clipped to at least
// 1 (an isolated node's row is that of I), as the reference computes it.
func NormalizedLaplacian(n int, src, dst []int) *mat.SymDense {
	a := make([]float64, n*n)
	for e := range src {
		i, j := src[e], dst[e]
		if i != j {
			a[i*n+j], a[j*n+i] = 1, 1
		}
	}
	inv := make([]float64, n) // D^−½
	for i := range n {
		var d float64
		for j := range n {
			d += a[i*n+j]
		}
		inv[i] = 1 / math.Sqrt(max(d, 1))
	}
	l := make([]float64, n*n)
	for i := range n {
		for j := range n {
			l[i*n+j] = -inv[i] * a[i*n+j] * inv[j]
		}
		l[i*n+i]++
	}
	return mat.NewSymDense(n, l)
}

// LaplacianEigen returns the eigenvalues of NormalizedLaplacian(n, src,
// dst) in ascending order and its eigenvectors as the columns of an n×n
// matrix (gonum's symmetric eigensolver), each with the sign that makes
// its entry of largest magnitude (the first of equal ones) positive.
func LaplacianEigen(n int, src, dst []int) ([]float64, *mat.Dense) {
	if n == 0 {
		return nil, nil
	}
	var eig mat.EigenSym
	if !eig.Factorize(NormalizedLaplacian(n, src, dst), true) {
		panic(fmt.Sprintf("graph: the eigensolver failed on a Laplacian of %d nodes", n))
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	for c := range n {
		best, at := 0.0, 0
		for i := range n {
			if v := math.Abs(vecs.At(i, c)); v > best+1e-12 {
				best, at = v, i
			}
		}
		if vecs.At(at, c) < 0 {
			for i := range n {
				vecs.Set(i, c, -vecs.At(i, c))
			}
		}
	}
	return vals, &vecs
}

// LapPE returns the Laplacian positional encoding of a graph of n nodes:
// row i holds node i's entries in the eigenvectors 2 … k+1 of
// LaplacianEigen (the first, of eigenvalue 0, is skipped, as the
// reference skips it). A graph of n ≤ k nodes has only n − 1 such
// eigenvectors; its remaining columns are 0.
func LapPE(n int, src, dst []int, k int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, k)
	}
	_, vecs := LaplacianEigen(n, src, dst)
	for c := 0; c < k && c+1 < n; c++ {
		for i := range n {
			out[i][c] = vecs.At(i, c+1)
		}
	}
	return out
}
