package kernels

import (
	"encoding/binary"
	"math"
	"sync"
)

// k-quant matrix products for m > 3 rows of activations (prefill): C = A·Wᵀ
// with W in Q4_K, Q5_K or Q6_K and the rows of A quantised to Q8_K
// (kquant.go), on integer products as llama.cpp's repacked CPU kernels do
// (ggml/src/ggml-cpu/repack.cpp, ggml_gemm_q4_K_8x8_q8_K and its kin): the
// weights are not widened to float32.
//
// Order of operations (gemmKGo, and the AVX-512 VNNI kernels gemmQ4KVNNI
// and gemmQ6KVNNI, which compute the same float32 values bit for bit). It
// differs from the decode kernels' (dotKGo) in how the integer sums of a
// super-block are grouped and in the float accumulators (one per element
// here, sixteen lanes there), not in the integers; for each element
// C[i, j], from A = M = +0 and for each super-block b in order, with q the
// activations' Q8_K values, d_a their scale, S32[s] and S16[g] their sums
// over the 32-value sub-block s and the 16-value group g, and the weight
// row's levels v (Q4_K 0…15, Q5_K 0…31, Q6_K 0…63), scales and mins:
//
//	Q4_K, Q5_K: I  = Σ_s sc[s]·Σ_{p in s} v[p]·q[p]          (exact int32)
//	            Mn = Σ_s m[s]·S32[s]                          (exact int32)
//	            A  = fma(float32(d·d_a), float32(I), A)
//	            M  = fma(float32(dmin·d_a), float32(Mn), M)
//	            result A − M
//	Q6_K:       I  = Σ_g sc[g]·(Σ_{p in g} v[p]·q[p] − 32·S16[g])
//	            A  = fma(float32(d·d_a), float32(I), A)
//	            result A
//
// d·d_a and dmin·d_a rounded to float32, float32(I) and float32(Mn) to
// nearest even (as VCVTDQ2PS does); then beta·C[i, j] is added with one
// fma as dotK does. |I|, |Mn| < 2³¹ always (Q6_K: |I| ≤ 256·63·127·128
// < 2²⁹). So the result is within γ(k/256+3)·(Σ_p |d_a·q_p|·(|d·sc·v_p| +
// |dmin·m|) + |beta·C[i, j]|) of the exact product of the Q8_K activations
// with the exact weights, u = 2⁻²⁴ and γ(n) = n·u/(1−n·u).
//
// The VNNI kernels work on a tile of kTile = 16 weight rows, one row per
// 32-bit lane, repacked per call (repackKTile) so that each 4-value step
// of a super-block is one 64-byte register of the 16 rows' four levels.
// A tile's super-block holds the 64 steps (4096 bytes), then vectors of
// the 16 rows' values: Q4_K and Q5_K the 8 sub-blocks' scales (int32),
// then the mins of sub-blocks 2t and 2t+1 as int16 pairs (t < 4, for
// VPDPWSSD), then d and dmin (float32); Q6_K the 16 groups' scales
// (int32), then d. Activations go in blocks of kActRows = 8 rows
// (packActsK): per super-block the 8 rows' 256 q one after another (each
// 4-value step broadcast by VPDPBUSD), the rows' d_a, then per row its 8
// S32[s] as int16 (Q4_K, Q5_K) or its 16 −32·S16[g] as int32 (Q6_K). A
// kernel call multiplies one activation block with one tile over a chunk
// of k: 8·16 results.

const (
	kTile    = 16 // weight rows per repacked tile (the kernels' lanes)
	kActRows = 8  // activation rows per kernel call
	// kPanelBytes bounds the repacked tiles a worker holds at once (they
	// are read once per block of activation rows, from L2).
	kPanelBytes = 384 << 10
	// kChunk is the number of super-blocks of k per kernel call (an
	// activation block's chunk: 8·kChunk·~290 bytes, in L1).
	kChunk = 8
)

// kTileBlockBytes is the size of one super-block of a repacked tile.
func kTileBlockBytes(f Format) int {
	if f == Q6_K {
		return 4096 + 16*64 + 64
	}
	return 4096 + 8*64 + 4*64 + 2*64
}

// kActBlockBytes is the size of one super-block of a block of activation
// rows.
func kActBlockBytes(f Format) int {
	if f == Q6_K {
		return 256*kActRows + 4*kActRows + kActRows*64
	}
	return 256*kActRows + 4*kActRows + kActRows*16
}

// packActsK quantises the m rows of a (row stride lda, k values each) to
// Q8_K (quantQ8KAVX512) and lays them out in blocks of kActRows rows (the
// missing rows of a last block are zeros) in buf, which it returns grown
// as needed.
func packActsK(f Format, threads, m, k int, a []float32, lda int, buf []byte) []byte {
	nb := k / qkK
	ab := kActBlockBytes(f)
	mb := ceilDiv(m, kActRows)
	if cap(buf) < mb*nb*ab {
		buf = make([]byte, mb*nb*ab)
	}
	buf = buf[:mb*nb*ab]
	if m%kActRows != 0 {
		clear(buf[(mb-1)*nb*ab:])
	}
	items := min(threads, ceilDiv(m, 16))
	if int64(m)*int64(k) < 1<<16 {
		items = 1
	}
	parallelItems(items, items, func(t int) {
		sad := make([]uint64, 32*nb)
		const sOff = 260 * kActRows // the sums, after the q and d
		for i := t * m / items; i < (t+1)*m/items; i++ {
			ib, r := i/kActRows, i%kActRows
			o := buf[ib*nb*ab:]
			quantQ8KAVX512(&o[256*r], &o[256*kActRows+4*r], ab, &a[i*lda], nb, &sad[0])
			for b := range nb {
				sb := sad[32*b : 32*b+32]
				ob := o[b*ab:]
				if f == Q6_K {
					for g := range 16 {
						s := -32 * int32(int64(sb[2*g]+sb[2*g+1])-2048)
						binary.LittleEndian.PutUint32(ob[sOff+64*r+4*g:], uint32(s))
					}
					continue
				}
				for s := range 8 {
					v := int16(int64(sb[4*s]+sb[4*s+1]+sb[4*s+2]+sb[4*s+3]) - 4096)
					binary.LittleEndian.PutUint16(ob[sOff+16*r+2*s:], uint16(v))
				}
			}
		}
	})
	return buf
}

// repackKTile lays out the first rows (≤ kTile) rows of W (rb bytes each,
// nb super-blocks) as one tile in dst (nb·kTileBlockBytes(f) bytes); the
// lanes of missing rows are zeros. Full tiles go through the AVX-512
// repackers when the kernels run.
func repackKTile(f Format, dst []byte, w []byte, rb, rows, nb int) {
	tb := kTileBlockBytes(f)
	bb := kBlockBytes(f)
	dst = dst[:nb*tb]
	if rows < kTile {
		clear(dst)
	}
	if rows == kTile && useVNNI { // with AVX-512, 16 rows at a time
		kind := 0
		if f == Q5_K {
			kind = 1
		} else if f == Q6_K {
			kind = 2
		}
		var rec [kTile * 16]byte
		var dh [2 * kTile]uint16
		for b := range nb {
			for g := range 4 {
				repackChunkAVX512(kind, &dst[b*tb+1024*g], &w[b*bb], rb, g)
			}
			for r := range kTile {
				blk := w[r*rb+b*bb : r*rb+(b+1)*bb]
				if f == Q6_K {
					copy(rec[16*r:16*r+16], blk[192:208])
					dh[r] = binary.LittleEndian.Uint16(blk[208:])
					continue
				}
				sc, mn := scalesMinsK4(blk[4:16])
				binary.LittleEndian.PutUint64(rec[16*r:], sc)
				binary.LittleEndian.PutUint64(rec[16*r+8:], mn)
				dh[r] = binary.LittleEndian.Uint16(blk)
				dh[kTile+r] = binary.LittleEndian.Uint16(blk[2:])
			}
			if f == Q6_K {
				repackScalesAVX512(1, &dst[b*tb+4096], &rec[0], &dh[0], 1)
			} else {
				repackScalesAVX512(0, &dst[b*tb+4096], &rec[0], &dh[0], 2)
			}
		}
		return
	}
	for r := range rows {
		row := w[r*rb:]
		for b := range nb {
			blk := row[b*bb : (b+1)*bb]
			o := dst[b*tb : (b+1)*tb]
			repackKLevels(f, (*[4096]byte)(o), blk, r)
			if f == Q6_K {
				for g := range 16 {
					sc := int32(int8(blk[192+g]))
					binary.LittleEndian.PutUint32(o[4096+64*g+4*r:], uint32(sc))
				}
				d := Float32FromF16(binary.LittleEndian.Uint16(blk[208:]))
				binary.LittleEndian.PutUint32(o[4096+1024+4*r:], math.Float32bits(d))
				continue
			}
			for s := range 8 {
				sc, mn := ScaleMinK4(s, blk[4:16])
				binary.LittleEndian.PutUint32(o[4096+64*s+4*r:], uint32(sc))
				binary.LittleEndian.PutUint16(o[4096+512+64*(s/2)+4*r+2*(s%2):], uint16(mn))
			}
			d := Float32FromF16(binary.LittleEndian.Uint16(blk))
			dmin := Float32FromF16(binary.LittleEndian.Uint16(blk[2:]))
			binary.LittleEndian.PutUint32(o[4096+768+4*r:], math.Float32bits(d))
			binary.LittleEndian.PutUint32(o[4096+832+4*r:], math.Float32bits(dmin))
		}
	}
}

// scalesMinsK4 unpacks Q4_K's (and Q5_K's) 12 bytes of 6-bit scales and
// mins, sc[j] in byte j of sc and m[j] in byte j of mn (get_scale_min_k4
// on 32-bit words, as ggml's x86 kernels do).
func scalesMinsK4(q []byte) (sc, mn uint64) {
	const m6, m4, m2 = 0x3f3f3f3f, 0x0f0f0f0f, 0x03030303
	a := binary.LittleEndian.Uint32(q)
	b := binary.LittleEndian.Uint32(q[4:])
	c := binary.LittleEndian.Uint32(q[8:])
	sc = uint64(a&m6) | uint64(c&m4|(a>>6&m2)<<4)<<32
	mn = uint64(b&m6) | uint64(c>>4&m4|(b>>6&m2)<<4)<<32
	return sc, mn
}

// repackKLevels writes the levels of one super-block blk of f (kLevels'
// values) into lane r of the 64 steps of o: values 4p…4p+3 at
// o[64p+4r:], unpacked four at a time from the packed bytes.
func repackKLevels(f Format, o *[4096]byte, blk []byte, r int) {
	const lo4, b0, b01 = 0x0f0f0f0f, 0x01010101, 0x03030303
	put := func(p int, v uint32) { binary.LittleEndian.PutUint32(o[64*p+4*r:], v) }
	switch f {
	case Q4_K: // chunk g, step t: low nibbles of q[32g+4t:], then 8 steps on the high ones
		q := blk[16:144]
		for g := range 4 {
			for t := range 8 {
				u := binary.LittleEndian.Uint32(q[32*g+4*t:])
				put(16*g+t, u&lo4)
				put(16*g+8+t, u>>4&lo4)
			}
		}
	case Q5_K:
		qh, q := blk[16:48], blk[48:176]
		for t := range 8 {
			h := binary.LittleEndian.Uint32(qh[4*t:])
			for g := range 4 {
				u := binary.LittleEndian.Uint32(q[32*g+4*t:])
				put(16*g+t, u&lo4|(h>>(2*g)&b0)<<4)
				put(16*g+8+t, u>>4&lo4|(h>>(2*g+1)&b0)<<4)
			}
		}
	case Q6_K:
		for n := range 2 {
			ql, qh := blk[64*n:64*n+64], blk[128+32*n:128+32*n+32]
			for t := range 8 {
				l0 := binary.LittleEndian.Uint32(ql[4*t:])
				l1 := binary.LittleEndian.Uint32(ql[32+4*t:])
				h := binary.LittleEndian.Uint32(qh[4*t:])
				put(32*n+t, l0&lo4|(h&b01)<<4)
				put(32*n+8+t, l1&lo4|(h>>2&b01)<<4)
				put(32*n+16+t, l0>>4&lo4|(h>>4&b01)<<4)
				put(32*n+24+t, l1>>4&lo4|(h>>6&b01)<<4)
			}
		}
	}
}

var kPanelScratch, kActScratch sync.Pool // *[]byte

// gemmK is GemmLowT's m > 3 path for the k-quants on CPUs with AVX-512
// VNNI (order of operations: top of file); without VNNI it runs gemmKGo.
// (GemmLowT calls it only with VNNI: elsewhere widening tiles of W for the
// float32 GEMM is faster than gemmKGo, roughly 2× in pure Go and far more
// with AVX-512F.) The work is split into panels of whole tiles of W (and,
// when there are few panels, ranges of activation blocks); each element
// of C is computed by the same instructions whatever the split.
func gemmK(f Format, threads, m, n, k int, a []float32, lda int, w []byte, rb int, beta float32, c []float32, ldc int) {
	if !useVNNI {
		gemmKGo(f, threads, m, n, k, a, lda, w, rb, beta, c, ldc)
		return
	}
	nb := k / qkK
	ap, _ := kActScratch.Get().(*[]byte)
	if ap == nil {
		ap = new([]byte)
	}
	defer kActScratch.Put(ap)
	*ap = packActsK(f, threads, m, k, a, lda, *ap)
	acts := *ap
	ab := nb * kActBlockBytes(f)
	mb := ceilDiv(m, kActRows)
	tb := nb * kTileBlockBytes(f)
	// Tiles per panel: at most kPanelBytes of them, and at least 8 panels
	// per thread where n allows (the workers take panels in turn, so a
	// thread slowed down by other work takes fewer). Each tile is repacked
	// once whatever the panels.
	nt := ceilDiv(n, kTile)
	tpp := max(1, min(kPanelBytes/tb, ceilDiv(nt, 8*threads)))
	panels := ceilDiv(nt, tpp)
	mparts := 1
	if threads > 1 && panels < 2*threads {
		mparts = min(mb, ceilDiv(2*threads, panels))
	}
	items := panels * mparts
	mins, addc := 1, 0 // kStoreAVX512's flags
	if f == Q6_K {
		mins = 0
	}
	if beta != 0 {
		addc = 1
	}
	parallelItems(min(threads, items), items, func(it int) {
		pnl, mp := it/mparts, it%mparts
		t0, t1 := pnl*tpp, min(nt, (pnl+1)*tpp)
		p, _ := kPanelScratch.Get().(*[]byte)
		if p == nil || cap(*p) < tpp*tb {
			s := make([]byte, tpp*tb)
			p = &s
		}
		buf := (*p)[:(t1-t0)*tb]
		for t := t0; t < t1; t++ {
			repackKTile(f, buf[(t-t0)*tb:], w[t*kTile*rb:], rb, min(kTile, n-t*kTile), nb)
		}
		accs := make([]float32, (t1-t0)*2*kActRows*kTile)
		const accN = 2 * kActRows * kTile // a tile's accumulators: A, then M
		for ib := mp * mb / mparts; ib < (mp+1)*mb/mparts; ib++ {
			// k in chunks of kChunk super-blocks: the block's chunk of
			// activations stays in L1 for all the panel's tiles.
			for b0 := 0; b0 < nb; b0 += kChunk {
				nc := min(kChunk, nb-b0)
				init := 0
				if b0 == 0 {
					init = 1
				}
				aib := &acts[ib*ab+b0*kActBlockBytes(f)]
				for t := t0; t < t1; t++ {
					acc := &accs[(t-t0)*accN]
					wp := &buf[(t-t0)*tb+b0*kTileBlockBytes(f)]
					if f == Q6_K {
						gemmQ6KVNNI(acc, aib, wp, nc, init)
					} else {
						gemmQ4KVNNI(acc, aib, wp, nc, init)
					}
				}
			}
			rows := min(kActRows, m-ib*kActRows)
			for t := t0; t < t1; t++ {
				cols := min(kTile, n-t*kTile)
				kStoreAVX512(&c[ib*kActRows*ldc+t*kTile], ldc, &accs[(t-t0)*accN], rows, 1<<cols-1, mins, addc, beta)
			}
		}
		kPanelScratch.Put(p)
	})
}

// gemmKGo is gemmK in plain Go, the same float32 values as the VNNI
// kernels (the integer sums are exact either way). Threads take chunks of
// 16 rows of W, unpacked once; the integer products go three activation
// rows at a time through one 64-bit multiply (swarDot).
func gemmKGo(f Format, threads, m, n, k int, a []float32, lda int, w []byte, rb int, beta float32, c []float32, ldc int) {
	nb := k / qkK
	bb := kBlockBytes(f)
	acts := make([]q8KAct, m)
	for i := range acts {
		acts[i] = quantQ8KAct(a[i*lda : i*lda+k])
	}
	// q3: the q of rows 3t, 3t+1, 3t+2 packed for swarDot, k per t.
	q3 := make([]int64, ceilDiv(m, 3)*k)
	for i0 := 0; i0 < m; i0 += 3 {
		q := q3[i0/3*k : (i0/3+1)*k]
		for r := min(3, m-i0) - 1; r >= 0; r-- {
			for p, x := range acts[i0+r].q[:len(q)] {
				q[p] = q[p]<<21 + int64(x)
			}
		}
	}
	const chunk = 16
	ns := 8 // scales per super-block
	if f == Q6_K {
		ns = 16
	}
	items := ceilDiv(n, chunk)
	parallelItems(min(threads, items), items, func(t int) {
		j0, j1 := t*chunk, min(n, (t+1)*chunk)
		nj := j1 - j0
		lv := make([]int64, nj*k)      // levels
		sc := make([]int32, nj*nb*ns)  // scales
		mn := make([]int32, nj*nb*8)   // mins
		ds := make([]float32, 2*nj*nb) // d, dmin
		acc := make([]float32, 2*m*nj) // A, M of (i, j0+jj) at 2(i·nj+jj)
		var v [qkK]uint8
		for jj := range nj {
			for b := range nb {
				blk := w[(j0+jj)*rb+b*bb : (j0+jj)*rb+(b+1)*bb]
				kLevels(f, blk, &v)
				for p, x := range v {
					lv[jj*k+b*qkK+p] = int64(x)
				}
				o := jj*nb + b
				if f == Q6_K {
					for g := range 16 {
						sc[o*16+g] = int32(int8(blk[192+g]))
					}
					ds[2*o] = Float32FromF16(binary.LittleEndian.Uint16(blk[208:]))
					continue
				}
				for s := range 8 {
					s1, m1 := ScaleMinK4(s, blk[4:16])
					sc[o*8+s], mn[o*8+s] = int32(s1), int32(m1)
				}
				ds[2*o] = Float32FromF16(binary.LittleEndian.Uint16(blk))
				ds[2*o+1] = Float32FromF16(binary.LittleEndian.Uint16(blk[2:]))
			}
		}
		for i0 := 0; i0 < m; i0 += 3 {
			nr := min(3, m-i0)
			qr := q3[i0/3*k : (i0/3+1)*k]
			for jj := range nj {
				for b := range nb {
					o := jj*nb + b
					vb := lv[jj*k+b*qkK : jj*k+(b+1)*qkK]
					qb := qr[b*qkK : (b+1)*qkK]
					var isum, msum [3]int32
					if f == Q6_K {
						for g := range 16 {
							l := swarDot16((*[16]int64)(vb[16*g:]), (*[16]int64)(qb[16*g:]))
							for r := range nr {
								isum[r] += sc[o*16+g] * (l[r] - 32*acts[i0+r].s16[16*b+g])
							}
						}
					} else {
						for s := range 8 {
							l := swarDot32((*[32]int64)(vb[32*s:]), (*[32]int64)(qb[32*s:]))
							for r := range nr {
								isum[r] += sc[o*8+s] * l[r]
								msum[r] += mn[o*8+s] * acts[i0+r].s32[8*b+s]
							}
						}
					}
					for r := range nr {
						da := acts[i0+r].d[b]
						x := 2 * ((i0+r)*nj + jj)
						acc[x] = fma32(float32(ds[2*o]*da), float32(isum[r]), acc[x])
						if f != Q6_K {
							acc[x+1] = fma32(float32(ds[2*o+1]*da), float32(msum[r]), acc[x+1])
						}
					}
				}
			}
		}
		for i := range m {
			for jj := range nj {
				x := 2 * (i*nj + jj)
				r := acc[x]
				if f != Q6_K {
					r -= acc[x+1]
				}
				if beta != 0 {
					r = fma32(beta, c[i*ldc+j0+jj], r)
				}
				c[i*ldc+j0+jj] = r
			}
		}
	})
}

// swarDot32 returns Σ_p v[p]·q_r[p] for the three rows r packed in q
// (q[p] = q_0 + q_1·2²¹ + q_2·2⁴², as int64): one exact int64 sum, each
// row's part in 21 bits. Valid while every |Σ_p v[p]·q_r[p]| < 2²⁰ (32
// levels ≤ 31, |q| ≤ 127).
func swarDot32(v, q *[32]int64) [3]int32 {
	var s0, s1, s2, s3 int64
	for p := 0; p < 32; p += 4 {
		s0 += v[p] * q[p]
		s1 += v[p+1] * q[p+1]
		s2 += v[p+2] * q[p+2]
		s3 += v[p+3] * q[p+3]
	}
	return swarSplit((s0 + s1) + (s2 + s3))
}

// swarDot16 is swarDot32 on 16 values (levels ≤ 63).
func swarDot16(v, q *[16]int64) [3]int32 {
	var s0, s1, s2, s3 int64
	for p := 0; p < 16; p += 4 {
		s0 += v[p] * q[p]
		s1 += v[p+1] * q[p+1]
		s2 += v[p+2] * q[p+2]
		s3 += v[p+3] * q[p+3]
	}
	return swarSplit((s0 + s1) + (s2 + s3))
}

// swarSplit splits s = l0 + l1·2²¹ + l2·2⁴² (|l_r| < 2²⁰) into its parts.
func swarSplit(s int64) [3]int32 {
	l0 := s << 43 >> 43
	s = (s - l0) >> 21
	l1 := s << 43 >> 43
	l2 := (s - l1) >> 21
	return [3]int32{int32(l0), int32(l1), int32(l2)}
}
