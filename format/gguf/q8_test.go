package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

// q8BlockBytes builds the 34 bytes of a Q8_0 block from its float16 scale bits
// and its quants (the rest of the 32 are 0).
func q8BlockBytes(d uint16, qs ...int8) []byte {
	b := binary.LittleEndian.AppendUint16(nil, d)
	for i := range 32 {
		var q int8
		if i < len(qs) {
			q = qs[i]
		}
		b = append(b, byte(q))
	}
	return b
}

// TestQ8_0Exact checks QuantizeQ8_0 against blocks computed by hand from the
// reference algorithm.
func TestQ8_0Exact(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []float32 // the first values of the block; the rest are 0
		want []byte
	}{
		{
			// amax = 0: d = 0, id = 0, every quant 0, scale +0.
			name: "zeros",
			x:    nil,
			want: make([]byte, 34),
		},
		{
			// amax = 127 (at -amax): d = 1 (f16 0x3c00), id = 1, so
			// q = roundf(x): halves round away from zero.
			name: "d=1",
			x:    []float32{-127, 2.5, -2.5, 0.5, -0.5, 1.49, 126.5, 3.5},
			want: q8BlockBytes(0x3c00, -127, 3, -3, 1, -1, 1, 127, 4),
		},
		{
			// amax = 254 at -amax: d = 2 (f16 0x4000), id = 0.5.
			name: "d=2",
			x:    []float32{5, -254, -5, 1, 3, -1, 253, 0.75},
			want: q8BlockBytes(0x4000, 3, -127, -3, 1, 2, -1, 127, 0),
		},
		{
			// amax = 1: d = float32(1/127) = 0.007874016, which rounds
			// to the f16 2^-7 * (1 + 8/1024) = 0x2008; id is 127 to
			// within an ulp, so q = round(127x) away from halves.
			name: "d=1/127",
			x:    []float32{1, 0.25, -0.75, -1, 0.1},
			want: q8BlockBytes(0x2008, 127, 32, -95, -127, 13),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := make([]float32, 32)
			copy(src, tc.x)
			got := make([]byte, 34)
			QuantizeQ8_0(got, src)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("QuantizeQ8_0 =\n% x\nwant\n% x", got, tc.want)
			}
			// Dequantizing multiplies each quant by the f16 scale.
			back := make([]float32, 32)
			DequantizeQ8_0(back, got)
			d := tensor.Float32FromF16(binary.LittleEndian.Uint16(tc.want))
			for j := range back {
				if want := float32(int8(tc.want[2+j])) * d; back[j] != want {
					t.Errorf("DequantizeQ8_0[%d] = %v, want %v", j, back[j], want)
				}
			}
		})
	}
	// Several blocks at once give the blocks one by one.
	src := make([]float32, 64)
	copy(src[32:], []float32{-127, 2.5})
	got := make([]byte, 68)
	QuantizeQ8_0(got, src)
	want := append(make([]byte, 34), q8BlockBytes(0x3c00, -127, 3)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("two blocks:\n% x\nwant\n% x", got, want)
	}
	QuantizeQ8_0(nil, nil) // no blocks, nothing to do
}

// q8Bound returns the largest error dequantizing x can have in a block
// whose float32 scale is d (amax/127) and whose stored scale is dh =
// f16(d), when x was quantized to q:
//
//	|x - q*dh| <= |x - q*d| + |q|*|d - dh| + (rounding of q*dh)
//	           <= d*(1/2 + 2^-15) + |q|*|d - dh| + 2^-17*dh
//
// The first term is the rounding to an integer, plus the float32 roundings
// of id = 1/d and x*id (each at most 2^-24 relative, on values up to 127);
// the second is the error of storing d as a float16 (at most 2^-11 d when d
// is a normal float16), magnified by |q| <= 127; the last is the float32
// rounding of the product (at most 127*dh*2^-24).
func q8Bound(d, dh float64, q int) float64 {
	return d*(0.5+1.0/(1<<15)) + math.Abs(float64(q))*math.Abs(d-dh) + dh/(1<<17)
}

func TestQ8_0ErrorBound(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 0))
	const blocks = 2000
	src := make([]float32, 32*blocks)
	for b := range blocks {
		// Scales from tiny (float16 subnormal or zero d) to large.
		scale := math.Pow(10, float64(r.IntN(14)-9))
		for j := range 32 {
			v := r.NormFloat64() * scale
			switch r.IntN(10) {
			case 0:
				v = math.Round(v) // integers and exact halves
			case 1:
				v = 0
			}
			src[32*b+j] = float32(v)
		}
	}
	q := make([]byte, 34*blocks)
	QuantizeQ8_0(q, src)
	back := make([]float32, len(src))
	DequantizeQ8_0(back, q)
	var worst float64 // largest error in units of d, for blocks with normal f16 scales
	for b := range blocks {
		var amax float32
		for _, v := range src[32*b : 32*b+32] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := float64(amax / 127)
		dh := float64(tensor.Float32FromF16(binary.LittleEndian.Uint16(q[34*b:])))
		if want := tensor.F16FromFloat32(amax / 127); binary.LittleEndian.Uint16(q[34*b:]) != want {
			t.Fatalf("block %d: scale bits %#x, want f16(amax/127) = %#x", b, binary.LittleEndian.Uint16(q[34*b:]), want)
		}
		for j := range 32 {
			i := 32*b + j
			qi := int(int8(q[34*b+2+j]))
			if qi < -127 {
				t.Fatalf("block %d: quant %d is -128", b, qi)
			}
			err := math.Abs(float64(src[i]) - float64(back[i]))
			if bound := q8Bound(d, dh, qi); err > bound {
				t.Fatalf("block %d element %d: x = %g, x̂ = %g, error %g > bound %g (d = %g, f16(d) = %g, q = %d)",
					b, j, src[i], back[i], err, bound, d, dh, qi)
			}
			if dh >= 1.0/(1<<14) { // a normal float16: |d - dh| <= 2^-11 d
				if err > d*(0.5+127.0/(1<<11)+1.0/(1<<14)) {
					t.Fatalf("block %d element %d: error %g is more than 0.562 d (d = %g)", b, j, err, d)
				}
				worst = max(worst, err/d)
			}
		}
	}
	// The bound is nearly attained: rounding alone costs up to d/2.
	if worst < 0.45 {
		t.Errorf("largest error is only %.3f d; the test values do not exercise rounding", worst)
	}
}

func TestQ8_0Special(t *testing.T) {
	// Infinities make d infinite and id 0, so finite values quantize to 0;
	// ±Inf * 0 is NaN, which quantizes to 0 here (undefined in C).
	src := make([]float32, 32)
	src[0] = float32(math.Inf(1))
	src[1] = 5
	q := make([]byte, 34)
	QuantizeQ8_0(q, src)
	if got := binary.LittleEndian.Uint16(q); got != 0x7c00 {
		t.Errorf("scale with an infinity = %#x, want +Inf (0x7c00)", got)
	}
	for j, b := range q[2:] {
		if b != 0 {
			t.Errorf("quant %d = %d, want 0", j, int8(b))
		}
	}
	// A block of float32 subnormals: 1/d overflows to +Inf, so every
	// nonzero x*id is infinite and quantizes to 0 (as ggml on x86-64),
	// and d rounds to a float16 zero.
	src = make([]float32, 32)
	src[0], src[1], src[2] = 1e-39, -1e-39, 5e-40
	QuantizeQ8_0(q, src)
	if !bytes.Equal(q, make([]byte, 34)) {
		t.Errorf("subnormal block = % x, want zeros", q)
	}
	// A block whose d overflows float16 gets an infinite scale, as in ggml.
	src = make([]float32, 32)
	src[0] = 1e7
	src[1] = -3e6
	QuantizeQ8_0(q, src)
	if got := binary.LittleEndian.Uint16(q); got != 0x7c00 || int8(q[2]) != 127 || int8(q[3]) != -38 {
		t.Errorf("overflowing block: scale %#x, quants %d %d", got, int8(q[2]), int8(q[3]))
	}
	// A NaN becomes amax if it comes last (as C's MAX does), making d NaN.
	src = make([]float32, 32)
	src[0] = 1
	src[31] = float32(math.NaN())
	QuantizeQ8_0(q, src)
	if got := binary.LittleEndian.Uint16(q); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("scale with a trailing NaN = %#x, want a NaN", got)
	}
	for j, b := range q[2:] {
		if b != 0 {
			t.Errorf("quant %d = %d with NaN scale, want 0", j, int8(b))
		}
	}
	// ... and is replaced by the next value otherwise.
	src[31] = 0
	src[0] = float32(math.NaN())
	src[1] = 127
	QuantizeQ8_0(q, src)
	if got := binary.LittleEndian.Uint16(q); got != 0x3c00 || q[2] != 0 || q[3] != 127 {
		t.Errorf("leading NaN: scale %#x, quants %d %d; want 0x3c00, 0, 127", got, int8(q[2]), int8(q[3]))
	}
}

func TestQ8_0Panics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"quantize partial block", func() { QuantizeQ8_0(make([]byte, 34), make([]float32, 31)) }},
		{"quantize short dst", func() { QuantizeQ8_0(make([]byte, 33), make([]float32, 32)) }},
		{"dequantize partial block", func() { DequantizeQ8_0(make([]float32, 33), make([]byte, 34)) }},
		{"dequantize short src", func() { DequantizeQ8_0(make([]float32, 32), make([]byte, 35)) }},
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.Contains(s, "Q8_0") {
					t.Errorf("%s: recovered %v, want a panic naming Q8_0", tc.name, r)
				}
			}()
			tc.f()
		}()
	}
}
