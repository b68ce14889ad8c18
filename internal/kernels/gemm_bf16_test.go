package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// bf16Specials are values whose rounding has edge cases: ties, carries
// into the exponent, overflow to infinity, subnormals, NaNs.
var bf16Specials = []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1 + 1.0/256, 1 + 3.0/256, 1 + 1.0/128 - 1.0/65536,
	math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001),
	math.Float32frombits(0xff800001), math.Float32frombits(0x00000001), math.Float32frombits(0x807fffff),
	math.Float32frombits(0x00800000), math.Float32frombits(0x3f80_8000), math.Float32frombits(0x3f81_8000)}

func TestBF16Bits(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808001, 0x3f81},
		{0x7f7fffff, 0x7f80}, {0x00000001, 0x0000}, {0x807fffff, 0x8000}, {0x7fc00001, 0x7fc0},
		{0x7f800001, 0x7fc0}, {0xff800000, 0xff80},
	} {
		if got := bf16Bits(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("bf16Bits(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

// TestBF16ConvertAsm checks the AVX512-BF16 conversions bit for bit
// against the plain-Go rounding, on random and special values.
func TestBF16ConvertAsm(t *testing.T) {
	if bf16Kernel == nil {
		t.Skip("no AVX512-BF16")
	}
	r := rand.New(rand.NewPCG(1, 2))
	n := 16*37 + 5
	x0, x1 := make([]float32, 2*n), make([]float32, n)
	for i := range x0 {
		x0[i] = math.Float32frombits(r.Uint32())
		if i%3 == 0 {
			x0[i] = bf16Specials[r.IntN(len(bf16Specials))]
		}
	}
	for i := range x1 {
		x1[i] = float32(r.NormFloat64())
	}
	for _, alpha := range []float32{1, 0.3} {
		got, want := make([]uint32, n), make([]uint32, n)
		wordsRow(got, x0, alpha)
		for q := range want {
			want[q] = uint32(bf16Bits(alpha*x0[2*q])) | uint32(bf16Bits(alpha*x0[2*q+1]))<<16
		}
		for q := range want {
			if got[q] != want[q] {
				t.Fatalf("alpha %v: words: word %d of %v, %v = %#08x, want %#08x", alpha, q, x0[2*q], x0[2*q+1], got[q], want[q])
			}
		}
		pairsRow(got, x0[:n], x1, alpha)
		for i := range want {
			want[i] = uint32(bf16Bits(alpha*x0[i])) | uint32(bf16Bits(alpha*x1[i]))<<16
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("alpha %v: pairs: word %d of %v, %v = %#08x, want %#08x", alpha, i, x0[i], x1[i], got[i], want[i])
			}
		}
	}
}

// bf16Bound is the error bound of gemm_bf16.go's doc comment for one
// element: ((1+u)²−1 + γ(k+1)(1+u)²)·Σ|a·b| + |beta·c|·2⁻²³.
func bf16Bound(k int, absSum, betaC float64) float64 {
	u := math.Ldexp(1, -8)
	g := func(n int) float64 { nu := float64(n) * math.Ldexp(1, -24); return nu / (1 - nu) }
	return ((1+u)*(1+u)-1+g(k+1)*(1+u)*(1+u))*absSum + math.Abs(betaC)*math.Ldexp(1, -23)
}

// TestGemmBF16 checks GemmBF16, native and emulated, on every transpose
// and edge shape: within the bound of the float32 product; within float32
// summation error of the exact product of the rounded operands (so the
// operands really are rounded, and nothing else is); bit-identical at
// every thread count.
func TestGemmBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	modes := []bool{false}
	if bf16Kernel != nil {
		modes = append(modes, true)
	}
	shapes := [][3]int{{1, 1, 1}, {5, 7, 3}, {6, 64, 2}, {13, 130, 65}, {37, 100, 257}, {64, 192, 96}, {100, 70, 2050}, {131, 257, 64}}
	for _, native := range modes {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				ta, tb := tr[0], tr[1]
				name := fmt.Sprintf("native=%v/%dx%dx%d/ta=%v,tb=%v", native, m, n, k, ta, tb)
				lda, ldb := k+3, n+1
				if ta {
					lda = m + 2
				}
				if tb {
					ldb = k + 5
				}
				a := randSlice[float32](r, (max(m, k))*lda)
				b := randSlice[float32](r, (max(n, k))*ldb)
				alpha, beta := float32(0.75), float32(0.5)
				c0 := randSlice[float32](r, m*n)
				at := func(i, p int) float32 {
					if ta {
						return a[p*lda+i]
					}
					return a[i*lda+p]
				}
				bt := func(p, j int) float32 {
					if tb {
						return b[j*ldb+p]
					}
					return b[p*ldb+j]
				}
				var first []float32
				for _, th := range []int{1, 2, 3} {
					c := append([]float32(nil), c0...)
					gemmBF16(native, th, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n)
					if first == nil {
						first = c
						continue
					}
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
							t.Fatalf("%s: threads %d: element %d = %v, threads 1 gave %v", name, th, i, c[i], first[i])
						}
					}
				}
				for i := range m {
					for j := range n {
						var exact, rounded, abs float64
						for p := range k {
							x, y := float64(alpha*at(i, p)), float64(bt(p, j))
							exact += x * y
							abs += math.Abs(x * y)
							rounded += float64(BF16Round(alpha*at(i, p))) * float64(BF16Round(bt(p, j)))
						}
						bc := float64(beta * c0[i*n+j])
						got := float64(first[i*n+j])
						if e, bound := math.Abs(got-(exact+bc)), bf16Bound(k, abs, bc); e > bound {
							t.Fatalf("%s: C[%d,%d] = %v, float32 product %v: error %.3g > bound %.3g", name, i, j, got, exact+bc, e, bound)
						}
						// Only float32 summation error from the rounded operands' product.
						tight := 1.01*float64(k+2)*math.Ldexp(1, -24)*(abs+math.Abs(bc)) + 1e-30
						if e := math.Abs(got - (rounded + bc)); e > tight {
							t.Fatalf("%s: C[%d,%d] = %v, exact product of rounded operands %v: error %.3g > %.3g", name, i, j, got, rounded+bc, e, tight)
						}
					}
				}
			}
		}
	}
}
