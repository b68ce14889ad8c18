package kernels

import "unsafe"

// gemmUnroll is how many k steps one iteration of the micro-kernel's main
// loop does.
const gemmUnroll = 4

// microGo is the plain-Go register-blocked micro-kernel: it computes the
// gemmMR×gemmNR tile
//
//	acc[i*gemmNR+j] = Σ_p a[p*gemmMR+i] · b[p*gemmNR+j],  p = 0, 1, …, kc-1
//
// from a packed micro-panel of A (kc columns of gemmMR values) and one of B
// (kc rows of gemmNR values). Each element is one sequential sum over p in
// increasing order, starting from +0, so the result depends only on the
// panel contents, never on where the tile lies in C. Each product is
// written T(a*b), which forbids the compiler to fuse it with the addition
// (see gemmGo).
//
// on must be true. It exists only to split the loop body into small basic
// blocks: the Go compiler schedules a block's loop-carried additions after
// all of its products, so with one block per k step the eight accumulators
// plus eight live products overflow the fifteen usable XMM registers and
// spill. Two rows per block keeps everything in registers (about 2× faster).
// The branch is perfectly predicted. go:noinline keeps on opaque to the
// compiler.
//
// The loop reads the panels through unsafe pointers to avoid per-step bounds
// checks (which cost about a third of the speed); the slice expressions at
// the top check that both panels hold kc steps, so every access is in range.
//
//go:noinline
func microGo[T Float](kc int, on bool, a, b []T, acc *[gemmMR * gemmNR]T) {
	var c00, c01, c10, c11, c20, c21, c30, c31 T
	a = a[:kc*gemmMR]
	b = b[:kc*gemmNR]
	if kc > 0 {
		pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
		sz := unsafe.Sizeof(c00)
		// offA and offB are byte offsets of step p in the panels.
		var offA, offB uintptr
		p := 0
		for ; p+gemmUnroll <= kc; p += gemmUnroll {
			ap := (*[gemmUnroll * gemmMR]T)(unsafe.Add(pa, offA))
			bp := (*[gemmUnroll * gemmNR]T)(unsafe.Add(pb, offB))
			if on {
				a0 := ap[0]
				a1 := ap[1]
				b0 := bp[0]
				b1 := bp[1]
				c00 += T(a0 * b0)
				c01 += T(a0 * b1)
				c10 += T(a1 * b0)
				c11 += T(a1 * b1)
			}
			if on {
				a2 := ap[2]
				a3 := ap[3]
				b0 := bp[0]
				b1 := bp[1]
				c20 += T(a2 * b0)
				c21 += T(a2 * b1)
				c30 += T(a3 * b0)
				c31 += T(a3 * b1)
			}
			if on {
				a0 := ap[4]
				a1 := ap[5]
				b0 := bp[2]
				b1 := bp[3]
				c00 += T(a0 * b0)
				c01 += T(a0 * b1)
				c10 += T(a1 * b0)
				c11 += T(a1 * b1)
			}
			if on {
				a2 := ap[6]
				a3 := ap[7]
				b0 := bp[2]
				b1 := bp[3]
				c20 += T(a2 * b0)
				c21 += T(a2 * b1)
				c30 += T(a3 * b0)
				c31 += T(a3 * b1)
			}
			if on {
				a0 := ap[8]
				a1 := ap[9]
				b0 := bp[4]
				b1 := bp[5]
				c00 += T(a0 * b0)
				c01 += T(a0 * b1)
				c10 += T(a1 * b0)
				c11 += T(a1 * b1)
			}
			if on {
				a2 := ap[10]
				a3 := ap[11]
				b0 := bp[4]
				b1 := bp[5]
				c20 += T(a2 * b0)
				c21 += T(a2 * b1)
				c30 += T(a3 * b0)
				c31 += T(a3 * b1)
			}
			if on {
				a0 := ap[12]
				a1 := ap[13]
				b0 := bp[6]
				b1 := bp[7]
				c00 += T(a0 * b0)
				c01 += T(a0 * b1)
				c10 += T(a1 * b0)
				c11 += T(a1 * b1)
			}
			if on {
				a2 := ap[14]
				a3 := ap[15]
				b0 := bp[6]
				b1 := bp[7]
				c20 += T(a2 * b0)
				c21 += T(a2 * b1)
				c30 += T(a3 * b0)
				c31 += T(a3 * b1)
			}
			offA += gemmUnroll * gemmMR * sz
			offB += gemmUnroll * gemmNR * sz
		}
		for ; p < kc; p++ {
			ap := (*[gemmMR]T)(unsafe.Add(pa, offA))
			bp := (*[gemmNR]T)(unsafe.Add(pb, offB))
			if on {
				a0 := ap[0]
				a1 := ap[1]
				b0 := bp[0]
				b1 := bp[1]
				c00 += T(a0 * b0)
				c01 += T(a0 * b1)
				c10 += T(a1 * b0)
				c11 += T(a1 * b1)
			}
			if on {
				a2 := ap[2]
				a3 := ap[3]
				b0 := bp[0]
				b1 := bp[1]
				c20 += T(a2 * b0)
				c21 += T(a2 * b1)
				c30 += T(a3 * b0)
				c31 += T(a3 * b1)
			}
			offA += gemmMR * sz
			offB += gemmNR * sz
		}
	}
	acc[0], acc[1] = c00, c01
	acc[2], acc[3] = c10, c11
	acc[4], acc[5] = c20, c21
	acc[6], acc[7] = c30, c31
}
