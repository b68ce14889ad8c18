package tensor

import "testing"

// TestCopyFromIntoStridedView: CopyFrom into a view that is not contiguous
// (rows contiguous, as a KV cache's slot for new positions; or fully
// transposed) writes every element of the view and nothing else.
func TestCopyFromIntoStridedView(t *testing.T) {
	r := NewRNG(1)
	for _, dt := range []DType{Float32, Float64} {
		for _, c := range []struct {
			name string
			view func(*Tensor) *Tensor
		}{
			{"rows", func(x *Tensor) *Tensor { return x.Slice(2, 1, 3) }},
			{"transposed", func(x *Tensor) *Tensor { return x.Slice(2, 1, 3).Permute(0, 1, 3, 2) }},
		} {
			dst := Zeros(2, 3, 5, 4).To(dt)
			v := c.view(dst)
			src := Uniform(r, -1, 1, v.Shape()...).To(dt)
			v.CopyFrom(src.Permute(1, 0, 2, 3).Contiguous().Permute(1, 0, 2, 3)) // a strided source
			for a := range 2 {
				for b := range 3 {
					for p := range 5 {
						for q := range 4 {
							want := 0.0
							if p == 1 || p == 2 {
								want = src.At(viewIndex(c.name, a, b, p-1, q)...)
							}
							if got := dst.At(a, b, p, q); got != want {
								t.Fatalf("%v %s: [%d %d %d %d] is %v, want %v", dt, c.name, a, b, p, q, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func viewIndex(name string, a, b, p, q int) []int {
	if name == "transposed" {
		return []int{a, b, q, p}
	}
	return []int{a, b, p, q}
}
