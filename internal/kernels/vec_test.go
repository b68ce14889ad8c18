package kernels

import (
	"math"
	"testing"
)

// TestVecPrimitives compares the vector paths with the plain-Go ones on
// lengths around the vector width.
func TestVecPrimitives(t *testing.T) {
	saved := useAVX512
	defer setAVX512(saved)
	for _, n := range []int{1, 5, 16, 17, 33, 256, 1000} {
		x, y, w, b := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)*0.7)) * 3
			y[i] = float32(math.Cos(float64(i)*1.1)) + 0.5
			w[i] = float32(i%5) * 0.3
			b[i] = float32(i%3) - 1
		}
		type out struct {
			bins        [3][]float32
			axpy        []float32
			s, ss       float32
			fwd, fwdNoB []float32
			s1, s2      float32
			dw, db, dx  []float32
		}
		run := func() out {
			var o out
			for op := range 3 {
				o.bins[op] = make([]float32, n)
				Bin(op, o.bins[op], x, y)
			}
			o.axpy = append([]float32(nil), y...)
			Axpy(o.axpy, x, -0.25)
			o.s, o.ss = SumSqDev(x, 0.1)
			o.fwd, o.fwdNoB = make([]float32, n), make([]float32, n)
			NormForward(o.fwd, x, w, b, 0.1, 1.7)
			NormForward(o.fwdNoB, x, w, nil, 0.1, 1.7)
			o.dw, o.db, o.dx = make([]float32, n), make([]float32, n), make([]float32, n)
			o.s1, o.s2 = NormBackward1(x, y, w, o.dw, o.db, 0.1, 1.7)
			NormBackward2(o.dx, x, y, w, 0.1, 1.7, 0.3, -0.2)
			return o
		}
		setAVX512(false)
		want := run()
		setAVX512(saved)
		got := run()
		close := func(what string, g, w []float32, tol float64) {
			for i := range w {
				if math.Abs(float64(g[i]-w[i])) > tol*(1+math.Abs(float64(w[i]))) {
					t.Fatalf("n=%d %s[%d] = %v, want %v", n, what, i, g[i], w[i])
				}
			}
		}
		for op := range 3 {
			close("bin", got.bins[op], want.bins[op], 0)
		}
		close("axpy", got.axpy, want.axpy, 1e-7)
		close("sums", []float32{got.s, got.ss, got.s1, got.s2}, []float32{want.s, want.ss, want.s1, want.s2}, 1e-5)
		close("fwd", got.fwd, want.fwd, 1e-6)
		close("fwdNoB", got.fwdNoB, want.fwdNoB, 1e-6)
		close("dw", got.dw, want.dw, 1e-6)
		close("db", got.db, want.db, 1e-6)
		close("dx", got.dx, want.dx, 1e-6)
	}
}

func TestAdamPaths(t *testing.T) {
	saved := useAVX512
	defer setAVX512(saved)
	for _, n := range []int{3, 16, 37} {
		run := func(vec bool) []float32 {
			setAVX512(vec)
			w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range w {
				w[i], g[i] = float32(i)*0.1-1, float32(math.Sin(float64(i)))
			}
			for _, p := range []AdamParams{
				{B1: 0.9, C1: 0.1, B2: 0.999, C2: 0.001, BC2: 0.03, Eps: 1e-8, Step: 0.01, Decay: 0.999},
				{B1: 0.9, C1: 0.1, B2: 0.95, C2: 0.05, BC2: 0.3, Eps: 1e-8, Step: 0.02, Decay: 1, WD: 0.1},
			} {
				Adam(w, g, m, v, &p)
			}
			return append(append(w, m...), v...)
		}
		want, got := run(false), run(saved)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("n=%d element %d: %v, want %v", n, i, got[i], want[i])
			}
		}
	}
}

// A tensor large enough to be split across threads gets the serial update
// bit for bit.
func TestAdamThreads(t *testing.T) {
	n := 2*adamChunk + 123
	run := func(threads int) []float32 {
		prev := SetThreads(threads)
		defer SetThreads(prev)
		w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range w {
			w[i], g[i] = float32(i%97)*0.1-1, float32(math.Sin(float64(i)))
		}
		p := AdamParams{B1: 0.9, C1: 0.1, B2: 0.999, C2: 0.001, BC2: 0.03, Eps: 1e-8, Step: 0.01, Decay: 0.999}
		Adam(w, g, m, v, &p)
		Adam(w, g, m, v, &p)
		return append(append(w, m...), v...)
	}
	want, got := run(1), run(2)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("element %d: %v with 2 threads, %v with 1", i, got[i], want[i])
		}
	}
}
