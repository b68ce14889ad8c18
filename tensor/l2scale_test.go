package tensor

import (
	"math"
	"testing"
)

// TestL2ScaleFloat32 compares the float32 vector path of L2Scale and
// L2ScaleGrad with the float64 path, at widths around the vector width,
// and checks that appending zero columns leaves the float32 results on
// the old columns bit for bit (what TokenFormer's growth relies on).
func TestL2ScaleFloat32(t *testing.T) {
	const c, eps = 3.5, 1e-6
	for _, d := range []int{1, 7, 16, 17, 64, 100, 1000} {
		rng := NewRNG(uint64(d))
		x64, g64 := RandN(rng, 5, d), RandN(rng, 5, d)
		x32, g32 := x64.To(Float32), g64.To(Float32)
		y, dy := L2Scale(x32, c, eps).F32(), L2ScaleGrad(x32, g32, c, eps).F32()
		wy, wdy := L2Scale(x32.To(Float64), c, eps).F64(), L2ScaleGrad(x32.To(Float64), g32.To(Float64), c, eps).F64()
		for i := range y {
			if math.Abs(float64(y[i])-wy[i]) > 1e-6*(1+math.Abs(wy[i])) {
				t.Fatalf("d=%d: L2Scale[%d] = %v, float64 %v", d, i, y[i], wy[i])
			}
			if math.Abs(float64(dy[i])-wdy[i]) > 2e-6*(1+math.Abs(wdy[i])) {
				t.Fatalf("d=%d: L2ScaleGrad[%d] = %v, float64 %v", d, i, dy[i], wdy[i])
			}
		}
		// Append d zero columns: the old columns must not change at all.
		wide, gwide := Zeros(5, 2*d).To(Float32), Zeros(5, 2*d).To(Float32)
		wf, gf := wide.F32(), gwide.F32()
		for r := range 5 {
			copy(wf[r*2*d:], x32.F32()[r*d:(r+1)*d])
			copy(gf[r*2*d:], g32.F32()[r*d:(r+1)*d])
		}
		yw, dyw := L2Scale(wide, c, eps).F32(), L2ScaleGrad(wide, gwide, c, eps).F32()
		for r := range 5 {
			for j := range d {
				if yw[r*2*d+j] != y[r*d+j] || dyw[r*2*d+j] != dy[r*d+j] {
					t.Fatalf("d=%d row %d col %d: with zeros appended %v, %v; without %v, %v", d, r, j, yw[r*2*d+j], dyw[r*2*d+j], y[r*d+j], dy[r*d+j])
				}
			}
		}
	}
}
