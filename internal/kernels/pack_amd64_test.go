//go:build amd64 && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackBPanelsAVX512 checks the AVX-512 B packing (row copies and 16×16
// transposes, with the tails) against the plain-Go packing, bit for bit.
func TestPackBPanelsAVX512(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, transB := range []bool{false, true} {
		for _, kc := range []int{1, 15, 16, 17, 48, 100} {
			for _, nc := range []int{64, 100, 128, 200} {
				ldb := 300
				b := randSlice[float32](r, 320*ldb)
				got, want := make([]float32, ceilDiv(nc, 64)*64*kc), make([]float32, ceilDiv(nc, 64)*64*kc)
				packBPanels(transB, b, ldb, 3, kc, 5, nc, 64, got)
				setAVX512(false)
				packBPanels(transB, b, ldb, 3, kc, 5, nc, 64, want)
				setAVX512(true)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("transB %v kc %d nc %d: [%d] = %v, want %v", transB, kc, nc, i, got[i], want[i])
					}
				}
			}
		}
	}
}
