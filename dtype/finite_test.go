package dtype

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func u16Bytes(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func f64Bytes(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

// q8Block is one Q8_0 block with scale bits d and quants 1..32.
func q8Block(d uint16) []byte {
	b := make([]byte, 34)
	binary.LittleEndian.PutUint16(b, d)
	for i := range 32 {
		b[2+i] = byte(i + 1)
	}
	return b
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestFindNonFinite(t *testing.T) {
	nan32, inf32 := float32(math.NaN()), float32(math.Inf(1))
	long := make([]float32, 103) // past the 32-byte unrolled loop, with a tail
	long[101] = -inf32
	long[102] = nan32
	for _, tc := range []struct {
		name  string
		d     DType
		b     []byte
		count int
		first int
		value string
		scale bool
	}{
		{"f32 finite extremes", Float32, f32Bytes(math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1)), 1), 0, -1, "", false},
		{"f32 NaN", Float32, f32Bytes(1, 2, nan32, 4), 1, 2, "NaN", false},
		{"f32 +Inf first", Float32, f32Bytes(inf32, 2, nan32), 2, 0, "+Inf", false},
		{"f32 -Inf in the tail", Float32, f32Bytes(long...), 2, 101, "-Inf", false},
		{"f64 NaN", Float64, f64Bytes(1, math.Inf(-1), math.NaN()), 2, 1, "-Inf", false},
		{"f64 finite", Float64, f64Bytes(math.MaxFloat64, 0), 0, -1, "", false},
		{"f16 finite extremes", Float16, u16Bytes(0x7bff, 0xfbff, 0x0001, 0x8000, 0x3c00), 0, -1, "", false},
		{"f16 +Inf", Float16, u16Bytes(0x3c00, 0x7c00), 1, 1, "+Inf", false},
		{"f16 NaN and -Inf", Float16, u16Bytes(0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x7e00, 0xfc00), 2, 5, "NaN", false},
		{"bf16 finite extremes", BFloat16, u16Bytes(0x7f7f, 0xff7f, 0x0001, 0x3f80), 0, -1, "", false},
		{"bf16 NaN", BFloat16, u16Bytes(0x3f80, 0x7fc0, 0xff80), 2, 1, "NaN", false},
		{"q8_0 finite", Q8_0, concat(q8Block(0x3c00), q8Block(0x7bff)), 0, -1, "", true},
		{"q8_0 NaN scale", Q8_0, concat(q8Block(0x3c00), q8Block(0x3c00), q8Block(0x7e00)), 1, 64, "NaN", true},
		{"q8_0 -Inf scale", Q8_0, concat(q8Block(0xfc00), q8Block(0x3c00)), 1, 0, "-Inf", true},
		{"i32 anything", I32, []byte{0xff, 0xff, 0x80, 0x7f}, 0, -1, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nf, ok := tc.d.FindNonFinite(tc.b)
			if !ok {
				t.Fatalf("%v not checked", tc.d)
			}
			if nf.Count != tc.count || nf.First != tc.first || nf.Scale != tc.scale && tc.count > 0 {
				t.Fatalf("got %+v, want count %d, first %d, scale %v", nf, tc.count, tc.first, tc.scale)
			}
			if tc.count > 0 && Describe(nf.Value) != tc.value {
				t.Fatalf("first value %s, want %s", Describe(nf.Value), tc.value)
			}
		})
	}
}

func TestFindNonFiniteBlockScales(t *testing.T) {
	// Every known block type: a NaN written at each scale offset of its
	// second block is found there, and a zeroed buffer is finite.
	for d, s := range scales {
		in := d.Info()
		for _, at := range s.at {
			b := make([]byte, 3*in.BlockBytes)
			if nf, ok := d.FindNonFinite(b); !ok || nf.Count != 0 {
				t.Fatalf("%v zeros: %+v, %v", d, nf, ok)
			}
			switch s.kind {
			case scaleF16:
				binary.LittleEndian.PutUint16(b[in.BlockBytes+at:], 0x7e00)
			case scaleF32:
				binary.LittleEndian.PutUint32(b[in.BlockBytes+at:], 0x7fc00000)
			case scaleE8M0:
				b[in.BlockBytes+at] = 0xff
			}
			nf, ok := d.FindNonFinite(b)
			if !ok || nf.Count != 1 || nf.First != in.Block || !math.IsNaN(nf.Value) || !nf.Scale {
				t.Fatalf("%v NaN scale at %d of block 1: %+v, %v", d, at, nf, ok)
			}
		}
	}
	if _, ok := IQ1_M.FindNonFinite(make([]byte, 56)); ok || IQ1_M.Checked() {
		t.Fatal("IQ1_M has no known scale field, yet was checked")
	}
}

// TestFindNonFiniteRandom checks the eight-bytes-at-a-time pass against
// math.IsNaN and math.IsInf on random bit patterns, where about one value
// in a few hundred is non-finite.
func TestFindNonFiniteRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + r.IntN(200)
		b := make([]byte, 4*n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		for _, tc := range []struct {
			d    DType
			size int
			val  func(i int) float64
		}{
			{Float32, 4, func(i int) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))) }},
			{BFloat16, 2, func(i int) float64 {
				return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
			}},
			{Float16, 2, func(i int) float64 {
				h := binary.LittleEndian.Uint16(b[2*i:])
				if h&0x7c00 == 0x7c00 {
					if h&0x3ff != 0 {
						return math.NaN()
					}
					return math.Inf(1)
				}
				return 0
			}},
		} {
			want, first := 0, -1
			for i := range len(b) / tc.size {
				if v := tc.val(i); math.IsNaN(v) || math.IsInf(v, 0) {
					if want == 0 {
						first = i
					}
					want++
				}
			}
			nf, _ := tc.d.FindNonFinite(b)
			if nf.Count != want || nf.First != first {
				t.Fatalf("trial %d %v: got %+v, want count %d first %d", trial, tc.d, nf, want, first)
			}
		}
	}
}

func TestFindNonFiniteF32(t *testing.T) {
	if nf := FindNonFiniteF32(nil); nf.Count != 0 || nf.First != -1 {
		t.Fatalf("empty: %+v", nf)
	}
	v := []float32{1, 2, 3, float32(math.Inf(-1))}
	if nf := FindNonFiniteF32(v); nf.Count != 1 || nf.First != 3 || Describe(nf.Value) != "-Inf" {
		t.Fatalf("got %+v", nf)
	}
}
