//go:build amd64 && !purego

#include "textflag.h"

// Low-precision weight kernels (AVX-512F/DQ/VL; see lowp.go).
//
// dotHalfAVX512 computes c[i·ldc + j] = Σ_p x[i·ldx + p]·W[j][p]
// (+ beta·c[i·ldc + j]) for m ≤ 3 rows of x and n bf16 or f16 rows of W,
// widening W to float32 in registers. Four rows of W share every load of
// x; all m rows of x share every widened chunk of W, so W is read once.
// Each (i, j) has one 16-lane accumulator, filled chunk by chunk in
// increasing p and reduced with the same tree as HSUM in hsum_amd64.h (then
// beta·c added with one fma), whatever its row's position in a group or a
// thread's chunk. A chunk is 16 elements (the k tail under a lane mask)
// added with one fma each, so every element is summed in the same order as
// dotRowsAVX512 on the widened weights. A last group of fewer than four
// rows repeats its last row and stores under a mask. (q8_0 rows go through
// dotQ8VNNI in vec_amd64.s, on quantised activations.)
//
// It prefetches into L2, while summing a group, the next group of four
// rows, which starts right after it (rows are ldw bytes apart, ldw the
// row's bytes): each step of DX over a row (a chunk) requests the next
// 4·step bytes from R12+4·DX, so over a group its 4·ldw bytes are all
// requested, one group ahead of their use. Without it the four short
// interleaved streams (a 2048-element row is 4096 bytes in bf16/f16) keep
// the hardware prefetchers from reaching the DRAM bandwidth. The addresses
// are kept in registers: the last group's (past the end of W) are never
// loaded from, and PREFETCHT1 does not fault; the last group of a thread's
// chunk prefetches the rows after the chunk.
//
// Registers: SI x, R13 ldx in bytes, AX x at the current chunk, BX R8 R9
// R10 the four rows of W, DX the byte offset in them, CX the chunk count,
// DI c at the current group, R12 the next group's rows in the loop and ldc
// in bytes for the stores, R11 rows left, Z0–Z11 the accumulators (x row
// i, W row r in Z(4i+r)), Z31 beta; K1 the k-tail mask, K2 all lanes, K3
// the rows of the group to store.

// HALF4BF16 and HALF4F16 widen 16 elements (byte offset DX, lanes in mask
// k) of the four rows into Z16–Z19.
#define HALF4BF16(k) \
	VPMOVZXWD.Z (BX)(DX*1), k, Z16; \
	VPMOVZXWD.Z (R8)(DX*1), k, Z17; \
	VPMOVZXWD.Z (R9)(DX*1), k, Z18; \
	VPMOVZXWD.Z (R10)(DX*1), k, Z19; \
	VPSLLD $16, Z16, Z16; \
	VPSLLD $16, Z17, Z17; \
	VPSLLD $16, Z18, Z18; \
	VPSLLD $16, Z19, Z19

#define HALF4F16(k) \
	VCVTPH2PS.Z (BX)(DX*1), k, Z16; \
	VCVTPH2PS.Z (R8)(DX*1), k, Z17; \
	VCVTPH2PS.Z (R9)(DX*1), k, Z18; \
	VCVTPH2PS.Z (R10)(DX*1), k, Z19

// FMA4 adds x·(Z16…Z19) into four accumulators.
#define FMA4(x, a0, a1, a2, a3) \
	VFMADD231PS Z16, x, a0; \
	VFMADD231PS Z17, x, a1; \
	VFMADD231PS Z18, x, a2; \
	VFMADD231PS Z19, x, a3

// XF1, XF2, XF3 load the chunk of 1, 2 or 3 rows of x (mask k) and add
// their products with the widened rows.
#define XF1(k) \
	VMOVUPS.Z (AX), k, Z20; \
	FMA4(Z20, Z0, Z1, Z2, Z3)

#define XF2(k) \
	XF1(k); \
	VMOVUPS.Z (AX)(R13*1), k, Z21; \
	FMA4(Z21, Z4, Z5, Z6, Z7)

#define XF3(k) \
	XF2(k); \
	VMOVUPS.Z (AX)(R13*2), k, Z22; \
	FMA4(Z22, Z8, Z9, Z10, Z11)

// HALFPF prefetches the 128 bytes of the next group (at R12) that match
// the chunk at DX: 4·32 bytes from R12+4·DX.
#define HALFPF \
	PREFETCHT1 (R12)(DX*4); \
	PREFETCHT1 64(R12)(DX*4)

// HALFLOOP runs the CX full chunks and the masked tail, prefetching the
// next group at R12, then jumps to red.
#define HALFLOOP(W4, XF, loop, tail, red) \
	TESTQ CX, CX; \
	JZ    tail; \
loop: \
	W4(K2); \
	XF(K2); \
	HALFPF; \
	ADDQ $64, AX; \
	ADDQ $32, DX; \
	DECQ CX; \
	JNZ  loop; \
tail: \
	KORTESTW K1, K1; \
	JZ    red; \
	W4(K1); \
	XF(K1); \
	HALFPF; \
	JMP red

// RED4 reduces four accumulators to their lane sums in X14 (lane r = sum
// of accumulator r), each with HSUM's tree: halves, quarters, then
// (l0+l2)+(l1+l3). Clobbers the accumulators and X12–X15.
#define RED4(za, zb, zc, zd, ya, yb, yc, yd, xa, xb, xc, xd) \
	VEXTRACTF32X8 $1, za, Y12; \
	VADDPS Y12, ya, ya; \
	VEXTRACTF32X8 $1, zb, Y13; \
	VADDPS Y13, yb, yb; \
	VEXTRACTF32X8 $1, zc, Y14; \
	VADDPS Y14, yc, yc; \
	VEXTRACTF32X8 $1, zd, Y15; \
	VADDPS Y15, yd, yd; \
	VEXTRACTF128 $1, ya, X12; \
	VADDPS X12, xa, xa; \
	VEXTRACTF128 $1, yb, X13; \
	VADDPS X13, xb, xb; \
	VEXTRACTF128 $1, yc, X14; \
	VADDPS X14, xc, xc; \
	VEXTRACTF128 $1, yd, X15; \
	VADDPS X15, xd, xd; \
	VUNPCKLPS xb, xa, X12; \
	VUNPCKHPS xb, xa, X13; \
	VADDPS X13, X12, X12; \
	VUNPCKLPS xd, xc, X13; \
	VUNPCKHPS xd, xc, X14; \
	VADDPS X14, X13, X13; \
	VMOVLHPS X13, X12, X14; \
	VMOVHLPS X12, X13, X15; \
	VADDPS X15, X14, X14

// STORE4 writes X14 (+ beta·mem when beta, at off(FP), is not ±0) to the
// rows of the group in K3.
#define STORE4(mem, betaarg, skip) \
	MOVL betaarg, CX; \
	TESTL $0x7fffffff, CX; \
	JZ    skip; \
	VMOVUPS.Z mem, K3, X13; \
	VFMADD231PS X13, X31, X14; \
skip: \
	VMOVUPS X14, K3, mem

// GROUPSETUP points BX, R8, R9, R10 at the group's rows (ldw bytes apart),
// repeating the last row when fewer than four are left, sets K3 to the rows
// to store and clears the accumulators.
#define GROUPSETUP(ldwarg, full) \
	MOVQ ldwarg, DX; \
	LEAQ (BX)(DX*1), R8; \
	LEAQ (R8)(DX*1), R9; \
	LEAQ (R9)(DX*1), R10; \
	MOVL $15, AX; \
	CMPQ R11, $4; \
	JGE  full; \
	MOVQ R11, CX; \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	CMPQ R11, $2; \
	CMOVQLT BX, R8; \
	CMPQ R11, $3; \
	CMOVQLT R8, R9; \
	MOVQ R9, R10; \
full: \
	KMOVW AX, K3; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	XORQ DX, DX

// REDSTORE reduces and stores the m (at marg) rows of the group's results.
#define REDSTORE(marg, betaarg, s0, s1, s2, next) \
	RED4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, X2, X3); \
	STORE4((DI), betaarg, s0); \
	CMPQ marg, $2; \
	JLT  next; \
	RED4(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5, X6, X7); \
	STORE4((DI)(R12*1), betaarg, s1); \
	CMPQ marg, $3; \
	JLT  next; \
	RED4(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8, X9, X10, X11); \
	STORE4((DI)(R12*2), betaarg, s2)

// func dotHalfAVX512(f16 int, c *float32, ldc int, x *float32, ldx int, m int, w *byte, ldw int, n, k int, beta float32)
// W rows of k bfloat16 (f16 == 0) or IEEE half (f16 != 0) values, ldw
// bytes apart; k ≥ 1, 1 ≤ m ≤ 3.
TEXT ·dotHalfAVX512(SB), NOSPLIT, $0-84
	MOVQ c+8(FP), DI
	MOVQ x+24(FP), SI
	MOVQ ldx+32(FP), R13
	SHLQ $2, R13
	MOVQ w+48(FP), BX
	MOVQ n+64(FP), R11
	VBROADCASTSS beta+80(FP), Z31
	MOVQ k+72(FP), CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1 // lanes of the k tail (none when k%16 == 0)
	MOVL $0xffff, AX
	KMOVW AX, K2
	TESTQ R11, R11
	JLE   hdone

hgroup:
	GROUPSETUP(ldw+56(FP), hfull)
	MOVQ ldw+56(FP), R12
	LEAQ (BX)(R12*4), R12
	MOVQ SI, AX
	MOVQ k+72(FP), CX
	SHRQ $4, CX
	CMPQ f16+0(FP), $0
	JNE  hf16
	CMPQ m+40(FP), $2
	JLT  hb1
	JEQ  hb2
	HALFLOOP(HALF4BF16, XF3, hb3loop, hb3tail, hred)

hb1:
	HALFLOOP(HALF4BF16, XF1, hb1loop, hb1tail, hred)

hb2:
	HALFLOOP(HALF4BF16, XF2, hb2loop, hb2tail, hred)

hf16:
	CMPQ m+40(FP), $2
	JLT  hh1
	JEQ  hh2
	HALFLOOP(HALF4F16, XF3, hh3loop, hh3tail, hred)

hh1:
	HALFLOOP(HALF4F16, XF1, hh1loop, hh1tail, hred)

hh2:
	HALFLOOP(HALF4F16, XF2, hh2loop, hh2tail, hred)

hred:
	MOVQ ldc+16(FP), R12
	SHLQ $2, R12
	REDSTORE(m+40(FP), beta+80(FP), hs0, hs1, hs2, hnext)

hnext:
	ADDQ $16, DI
	MOVQ ldw+56(FP), DX
	LEAQ (BX)(DX*4), BX
	SUBQ $4, R11
	JG   hgroup

hdone:
	VZEROUPPER
	RET

// TAILK1 sets K1 to the low CX lanes and jumps to done when CX is 0.
#define TAILK1(done) \
	TESTQ CX, CX; \
	JZ    done; \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// func widenBF16AVX512(dst *float32, src *byte, n int)
TEXT ·widenBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
wb32:
	CMPQ CX, $32
	JL   wb16
	VPMOVZXWD (SI), Z0
	VPMOVZXWD 32(SI), Z1
	VPSLLD $16, Z0, Z0
	VPSLLD $16, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  wb32
wb16:
	CMPQ CX, $16
	JL   wbtail
	VPMOVZXWD (SI), Z0
	VPSLLD $16, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
wbtail:
	TAILK1(wbdone)
	VPMOVZXWD.Z (SI), K1, Z0
	VPSLLD $16, Z0, Z0
	VMOVUPS Z0, K1, (DI)
wbdone:
	VZEROUPPER
	RET

// func widenF16AVX512(dst *float32, src *byte, n int)
TEXT ·widenF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
wh32:
	CMPQ CX, $32
	JL   wh16
	VCVTPH2PS (SI), Z0
	VCVTPH2PS 32(SI), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  wh32
wh16:
	CMPQ CX, $16
	JL   whtail
	VCVTPH2PS (SI), Z0
	VMOVUPS Z0, (DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
whtail:
	TAILK1(whdone)
	VCVTPH2PS.Z (SI), K1, Z0
	VMOVUPS Z0, K1, (DI)
whdone:
	VZEROUPPER
	RET

// func widenQ8AVX512(dst *float32, src *byte, nb int)
// Widens nb q8_0 blocks: dst[32b + i] = d_b·q_b[i].
TEXT ·widenQ8AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JZ    wqdone
wqloop:
	VPBROADCASTW (SI), Y2
	VPMOVSXBD 2(SI), Z0
	VPMOVSXBD 18(SI), Z1
	VCVTPH2PS Y2, Z2
	VCVTDQ2PS Z0, Z0
	VCVTDQ2PS Z1, Z1
	VMULPS Z2, Z0, Z0
	VMULPS Z2, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  wqloop
wqdone:
	VZEROUPPER
	RET

// func axpyRowsF16AVX512(y, x *float32, b *byte, ldb, rows, n int)
// axpyRowsAVX512 on rows of IEEE halves (row p at b + 2·p·ldb), widened in
// registers: y[j] = Σ_p x[p]·widen(b[p·ldb + j]), the same fmas in the same
// order, so the same result as axpyRowsAVX512 on the widened rows.
TEXT ·axpyRowsF16AVX512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ ldb+24(FP), R8
	SHLQ $1, R8
	MOVQ rows+32(FP), R9
	MOVQ n+40(FP), R10
hr64:
	CMPQ R10, $64
	JL   hr16
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ SI, AX
	MOVQ DX, BX
	MOVQ R9, CX
	TESTQ CX, CX
	JZ   hr64store
hr64loop:
	VBROADCASTSS (AX), Z4
	VCVTPH2PS (BX), Z5
	VCVTPH2PS 32(BX), Z6
	VCVTPH2PS 64(BX), Z7
	VCVTPH2PS 96(BX), Z8
	VFMADD231PS Z5, Z4, Z0
	VFMADD231PS Z6, Z4, Z1
	VFMADD231PS Z7, Z4, Z2
	VFMADD231PS Z8, Z4, Z3
	ADDQ $4, AX
	ADDQ R8, BX
	DECQ CX
	JNZ  hr64loop
hr64store:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, DI
	ADDQ $128, DX
	SUBQ $64, R10
	JMP  hr64
hr16:
	CMPQ R10, $16
	JL   hrtail
	VPXORD Z0, Z0, Z0
	MOVQ SI, AX
	MOVQ DX, BX
	MOVQ R9, CX
	TESTQ CX, CX
	JZ   hr16store
hr16loop:
	VBROADCASTSS (AX), Z4
	VCVTPH2PS (BX), Z5
	VFMADD231PS Z5, Z4, Z0
	ADDQ $4, AX
	ADDQ R8, BX
	DECQ CX
	JNZ  hr16loop
hr16store:
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $32, DX
	SUBQ $16, R10
	JMP  hr16
hrtail:
	TESTQ R10, R10
	JZ   hrdone
	MOVQ R10, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VPXORD Z0, Z0, Z0
	MOVQ SI, AX
	MOVQ DX, BX
	MOVQ R9, CX
	TESTQ CX, CX
	JZ   hrtailstore
hrtailloop:
	VBROADCASTSS (AX), Z4
	VCVTPH2PS.Z (BX), K1, Z5
	VFMADD231PS Z5, Z4, Z0
	ADDQ $4, AX
	ADDQ R8, BX
	DECQ CX
	JNZ  hrtailloop
hrtailstore:
	VMOVUPS Z0, K1, (DI)
hrdone:
	VZEROUPPER
	RET

// NARROWF16(k) converts the 16 floats at (SI) (lanes in mask k) to halves
// in Y1: VCVTPS2PH rounding to nearest even, then NaN lanes (K2) replaced
// by sign|0x7e00 as F16FromFloat32 gives them (the hardware keeps part of
// the payload). Z30 holds 0x8000 per dword, Z31 0x7e00.
#define NARROWF16(k) \
	VMOVUPS.Z (SI), k, Z0; \
	VCVTPS2PH $0, Z0, Y1; \
	VCMPPS $3, Z0, Z0, K2; \
	VPSRLD $16, Z0, Z2; \
	VPANDD Z30, Z2, Z2; \
	VPORD Z31, Z2, Z2; \
	VPMOVDW Z2, Y3; \
	VMOVDQU16 Y3, K2, Y1

// func narrowF16AVX512(dst *byte, src *float32, n int)
// dst[i] = F16FromFloat32(src[i]) for i < n.
TEXT ·narrowF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x8000, AX
	VPBROADCASTD AX, Z30
	MOVL $0x7e00, AX
	VPBROADCASTD AX, Z31
	MOVL $0xffff, AX
	KMOVW AX, K3
nh16:
	CMPQ CX, $16
	JL   nhtail
	NARROWF16(K3)
	VMOVDQU Y1, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  nh16
nhtail:
	TAILK1(nhdone)
	NARROWF16(K1)
	VMOVDQU16 Y1, K1, (DI)
nhdone:
	VZEROUPPER
	RET
