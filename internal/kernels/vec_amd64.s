//go:build amd64 && !purego

#include "textflag.h"
#include "hsum_amd64.h"

// Vector primitives (AVX-512) for elementwise ops, reductions and norms.
// Every function handles any n (a masked final iteration).

// TAILMASK sets K1 to the low CX lanes.
#define TAILMASK \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1


// func addAVX512(dst, a, b *float32, n int, op int)
// op 0: dst = a + b; 1: dst = a − b; 2: dst = a · b
TEXT ·addAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ op+32(FP), BX
binloop:
	CMPQ CX, $16
	JL   bintail
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	CMPQ BX, $1
	JEQ  binsub
	JGT  binmul
	VADDPS Z1, Z0, Z0
	JMP  binstore
binsub:
	VSUBPS Z1, Z0, Z0
	JMP  binstore
binmul:
	VMULPS Z1, Z0, Z0
binstore:
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  binloop
bintail:
	TESTQ CX, CX
	JZ    bindone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	CMPQ BX, $1
	JEQ  tsub
	JGT  tmul
	VADDPS Z1, Z0, Z0
	JMP  tstore
tsub:
	VSUBPS Z1, Z0, Z0
	JMP  tstore
tmul:
	VMULPS Z1, Z0, Z0
tstore:
	VMOVUPS Z0, K1, (DI)
bindone:
	VZEROUPPER
	RET

// func axpyAVX512(dst, x *float32, n int, alpha float32)
// dst += alpha·x
TEXT ·axpyAVX512(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS alpha+24(FP), Z2
axloop:
	CMPQ CX, $16
	JL   axtail
	VMOVUPS (DI), Z0
	VFMADD231PS (SI), Z2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  axloop
axtail:
	TESTQ CX, CX
	JZ    axdone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VFMADD231PS Z1, Z2, Z0
	VMOVUPS Z0, K1, (DI)
axdone:
	VZEROUPPER
	RET

// func sumSqDevAVX512(x *float32, n int, mean float32) (sum, sumsq float32)
// sum = Σx, sumsq = Σ(x−mean)²
TEXT ·sumSqDevAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS mean+16(FP), Z5
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
ssloop:
	CMPQ CX, $16
	JL   sstail
	VMOVUPS (SI), Z4
	VADDPS Z4, Z2, Z2
	VSUBPS Z5, Z4, Z4
	VFMADD231PS Z4, Z4, Z3
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  ssloop
sstail:
	TESTQ CX, CX
	JZ    ssdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z4
	VADDPS Z4, Z2, Z2
	VSUBPS Z5, Z4, K1, Z4
	VFMADD231PS Z4, Z4, Z3
ssdone:
	HSUM(Z2, Y2)
	VMOVSS X0, sum+24(FP)
	HSUM(Z3, Y3)
	VMOVSS X0, sumsq+28(FP)
	VZEROUPPER
	RET

// func normFwdAVX512(dst, x, w, b *float32, n int, mean, rstd float32)
// dst = (x−mean)·rstd·w (+ b when b is not nil)
TEXT ·normFwdAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ b+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Z5
	VBROADCASTSS rstd+44(FP), Z6
nfloop:
	CMPQ CX, $16
	JL   nftail
	VMOVUPS (SI), Z0
	VSUBPS Z5, Z0, Z0
	VMULPS Z6, Z0, Z0
	VMULPS (DX), Z0, Z0
	TESTQ R8, R8
	JZ   nfnob
	VADDPS (R8), Z0, Z0
	ADDQ $64, R8
nfnob:
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  nfloop
nftail:
	TESTQ CX, CX
	JZ    nfdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VSUBPS Z5, Z0, Z0
	VMULPS Z6, Z0, Z0
	VMULPS Z1, Z0, Z0
	TESTQ R8, R8
	JZ   nftnob
	VMOVUPS.Z (R8), K1, Z1
	VADDPS Z1, Z0, Z0
nftnob:
	VMOVUPS Z0, K1, (DI)
nfdone:
	VZEROUPPER
	RET

// func normBwd1AVX512(x, gr, w, dw, db *float32, n int, mean, rstd float32) (s1, s2 float32)
// With x̂ = (x−mean)·rstd and ĝ = g·w: s1 = Σĝ, s2 = Σĝ·x̂, dw += g·x̂,
// db += g (db may be nil).
TEXT ·normBwd1AVX512(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ gr+8(FP), DX
	MOVQ w+16(FP), R9
	MOVQ dw+24(FP), DI
	MOVQ db+32(FP), R8
	MOVQ n+40(FP), CX
	VBROADCASTSS mean+48(FP), Z5
	VBROADCASTSS rstd+52(FP), Z6
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
b1loop:
	CMPQ CX, $16
	JL   b1tail
	VMOVUPS (SI), Z0        // x
	VMOVUPS (DX), Z1        // g
	VSUBPS Z5, Z0, Z0
	VMULPS Z6, Z0, Z0       // x̂
	VMOVUPS (DI), Z4
	VFMADD231PS Z1, Z0, Z4  // dw += g·x̂
	VMOVUPS Z4, (DI)
	TESTQ R8, R8
	JZ   b1nob
	VADDPS (R8), Z1, Z4
	VMOVUPS Z4, (R8)
	ADDQ $64, R8
b1nob:
	VMULPS (R9), Z1, Z1     // ĝ
	VADDPS Z1, Z2, Z2
	VFMADD231PS Z1, Z0, Z3
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R9
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  b1loop
b1tail:
	TESTQ CX, CX
	JZ    b1done
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VSUBPS Z5, Z0, K1, Z0
	VMULPS Z6, Z0, Z0
	VMOVUPS.Z (DI), K1, Z4
	VFMADD231PS Z1, Z0, Z4
	VMOVUPS Z4, K1, (DI)
	TESTQ R8, R8
	JZ   b1tnob
	VMOVUPS.Z (R8), K1, Z4
	VADDPS Z1, Z4, Z4
	VMOVUPS Z4, K1, (R8)
b1tnob:
	VMOVUPS.Z (R9), K1, Z4
	VMULPS Z4, Z1, Z1
	VADDPS Z1, Z2, Z2
	VFMADD231PS Z1, Z0, Z3
b1done:
	HSUM(Z2, Y2)
	VMOVSS X0, s1+56(FP)
	HSUM(Z3, Y3)
	VMOVSS X0, s2+60(FP)
	VZEROUPPER
	RET

// func normBwd2AVX512(dx, x, gr, w *float32, n int, mean, rstd, c1, c2 float32)
// dx = rstd·(g·w − c1 − x̂·c2)
TEXT ·normBwd2AVX512(SB), NOSPLIT, $0-56
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ w+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Z5
	VBROADCASTSS rstd+44(FP), Z6
	VBROADCASTSS c1+48(FP), Z7
	VBROADCASTSS c2+52(FP), Z8
b2loop:
	CMPQ CX, $16
	JL   b2tail
	VMOVUPS (SI), Z0
	VSUBPS Z5, Z0, Z0
	VMULPS Z6, Z0, Z0       // x̂
	VMOVUPS (DX), Z1
	VMULPS (R9), Z1, Z1     // ĝ
	VSUBPS Z7, Z1, Z1
	VFNMADD231PS Z8, Z0, Z1 // ĝ − c1 − x̂·c2
	VMULPS Z6, Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R9
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  b2loop
b2tail:
	TESTQ CX, CX
	JZ    b2done
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VSUBPS Z5, Z0, Z0
	VMULPS Z6, Z0, Z0
	VMOVUPS.Z (DX), K1, Z1
	VMOVUPS.Z (R9), K1, Z2
	VMULPS Z2, Z1, Z1
	VSUBPS Z7, Z1, Z1
	VFNMADD231PS Z8, Z0, Z1
	VMULPS Z6, Z1, Z1
	VMOVUPS Z1, K1, (DI)
b2done:
	VZEROUPPER
	RET

// func dealRow6AVX512(dst *float32, stride int, src *float32, np int)
// Copies np groups of six floats: dst[q·stride : q·stride+6] = src[6q : 6q+6].
TEXT ·dealRow6AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ stride+8(FP), BX
	SHLQ $2, BX
	MOVQ src+16(FP), SI
	MOVQ np+24(FP), CX
	MOVL $0x3f, AX
	KMOVW AX, K1
	TESTQ CX, CX
	JZ    dealdone
dealloop:
	VMOVUPS.Z (SI), K1, Y0
	VMOVUPS Y0, K1, (DI)
	ADDQ $24, SI
	ADDQ BX, DI
	DECQ CX
	JNZ  dealloop
dealdone:
	VZEROUPPER
	RET

// func dotRowsAVX512(y, x, w *float32, ldw, n, k int)
// y[j] = Σ_p x[p]·w[j·ldw + p] for j < n (matrix–vector with a row-major
// matrix), four rows at a time; every y[j] sums in the same lane order.
TEXT ·dotRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ ldw+24(FP), R8
	SHLQ $2, R8
	MOVQ n+32(FP), R9
	MOVQ k+40(FP), R10
	MOVQ R10, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1            // tail mask for k mod 16
	LEAQ (R8)(R8*2), R11    // 3·ldw
rows4:
	CMPQ R9, $4
	JL   rows1
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	MOVQ SI, AX             // x
	MOVQ DX, BX             // row 0
	MOVQ R10, CX
d4loop:
	CMPQ CX, $16
	JL   d4tail
	VMOVUPS (AX), Z4
	VFMADD231PS (BX), Z4, Z6
	VFMADD231PS (BX)(R8*1), Z4, Z7
	VFMADD231PS (BX)(R8*2), Z4, Z8
	VFMADD231PS (BX)(R11*1), Z4, Z9
	ADDQ $64, AX
	ADDQ $64, BX
	SUBQ $16, CX
	JMP  d4loop
d4tail:
	TESTQ CX, CX
	JZ   d4sum
	VMOVUPS.Z (AX), K1, Z4
	VMOVUPS.Z (BX), K1, Z5
	VFMADD231PS Z5, Z4, Z6
	VMOVUPS.Z (BX)(R8*1), K1, Z5
	VFMADD231PS Z5, Z4, Z7
	VMOVUPS.Z (BX)(R8*2), K1, Z5
	VFMADD231PS Z5, Z4, Z8
	VMOVUPS.Z (BX)(R11*1), K1, Z5
	VFMADD231PS Z5, Z4, Z9
d4sum:
	HSUM(Z6, Y6)
	VMOVSS X0, 0(DI)
	HSUM(Z7, Y7)
	VMOVSS X0, 4(DI)
	HSUM(Z8, Y8)
	VMOVSS X0, 8(DI)
	HSUM(Z9, Y9)
	VMOVSS X0, 12(DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  rows4
rows1:
	TESTQ R9, R9
	JZ   dotdone
	VPXORD Z2, Z2, Z2
	MOVQ SI, AX
	MOVQ DX, BX
	MOVQ R10, CX
d1loop:
	CMPQ CX, $16
	JL   d1tail
	VMOVUPS (AX), Z4
	VFMADD231PS (BX), Z4, Z2
	ADDQ $64, AX
	ADDQ $64, BX
	SUBQ $16, CX
	JMP  d1loop
d1tail:
	TESTQ CX, CX
	JZ   d1sum
	VMOVUPS.Z (AX), K1, Z4
	VMOVUPS.Z (BX), K1, Z5
	VFMADD231PS Z5, Z4, Z2
d1sum:
	HSUM(Z2, Y2)
	VMOVSS X0, 0(DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JMP  rows1
dotdone:
	VZEROUPPER
	RET

// func dot4x4AVX512(y *float32, ldy int, x *float32, ldx int, w *float32, ldw int, n, k int, pf int)
// y[i·ldy + j] = Σ_p x[i·ldx + p]·w[j·ldw + p] for the four rows i < 4 of x
// and j < n (n a multiple of 4): four rows of x against four rows of w at
// a time, each element summed in exactly dotRowsAVX512's lane order. Each
// step also prefetches the w data pf bytes further on (the next block,
// which streams from memory while this one is computed).
TEXT ·dot4x4AVX512(SB), NOSPLIT, $0-72
	MOVQ y+0(FP), DI
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R13
	SHLQ $2, R13
	MOVQ w+32(FP), DX
	MOVQ ldw+40(FP), R8
	SHLQ $2, R8
	MOVQ n+48(FP), R9
	MOVQ k+56(FP), R10
	MOVQ R10, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1            // tail mask for k mod 16
	LEAQ (R8)(R8*2), R11    // 3·ldw
	LEAQ (R13)(R13*2), R14  // 3·ldx
q4blk:
	CMPQ R9, $4
	JL   q4done
	MOVQ pf+64(FP), R15     // prefetch distance
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	MOVQ SI, AX             // x rows
	MOVQ DX, BX             // w rows
	MOVQ R10, CX
q4loop:
	CMPQ CX, $16
	JL   q4tail
	VMOVUPS (BX), Z22
	VMOVUPS (BX)(R8*1), Z23
	VMOVUPS (BX)(R8*2), Z24
	VMOVUPS (BX)(R11*1), Z25
	VMOVUPS (AX), Z26
	VMOVUPS (AX)(R13*1), Z27
	VMOVUPS (AX)(R13*2), Z28
	VMOVUPS (AX)(R14*1), Z29
	LEAQ (BX)(R15*1), R12
	PREFETCHT0 (R12)
	PREFETCHT0 (R12)(R8*1)
	PREFETCHT0 (R12)(R8*2)
	PREFETCHT0 (R12)(R11*1)
	VFMADD231PS Z22, Z26, Z6
	VFMADD231PS Z23, Z26, Z7
	VFMADD231PS Z24, Z26, Z8
	VFMADD231PS Z25, Z26, Z9
	VFMADD231PS Z22, Z27, Z10
	VFMADD231PS Z23, Z27, Z11
	VFMADD231PS Z24, Z27, Z12
	VFMADD231PS Z25, Z27, Z13
	VFMADD231PS Z22, Z28, Z14
	VFMADD231PS Z23, Z28, Z15
	VFMADD231PS Z24, Z28, Z16
	VFMADD231PS Z25, Z28, Z17
	VFMADD231PS Z22, Z29, Z18
	VFMADD231PS Z23, Z29, Z19
	VFMADD231PS Z24, Z29, Z20
	VFMADD231PS Z25, Z29, Z21
	ADDQ $64, AX
	ADDQ $64, BX
	SUBQ $16, CX
	JMP  q4loop
q4tail:
	TESTQ CX, CX
	JZ   q4sum
	VMOVUPS.Z (BX), K1, Z22
	VMOVUPS.Z (BX)(R8*1), K1, Z23
	VMOVUPS.Z (BX)(R8*2), K1, Z24
	VMOVUPS.Z (BX)(R11*1), K1, Z25
	VMOVUPS.Z (AX), K1, Z26
	VMOVUPS.Z (AX)(R13*1), K1, Z27
	VMOVUPS.Z (AX)(R13*2), K1, Z28
	VMOVUPS.Z (AX)(R14*1), K1, Z29
	VFMADD231PS Z22, Z26, Z6
	VFMADD231PS Z23, Z26, Z7
	VFMADD231PS Z24, Z26, Z8
	VFMADD231PS Z25, Z26, Z9
	VFMADD231PS Z22, Z27, Z10
	VFMADD231PS Z23, Z27, Z11
	VFMADD231PS Z24, Z27, Z12
	VFMADD231PS Z25, Z27, Z13
	VFMADD231PS Z22, Z28, Z14
	VFMADD231PS Z23, Z28, Z15
	VFMADD231PS Z24, Z28, Z16
	VFMADD231PS Z25, Z28, Z17
	VFMADD231PS Z22, Z29, Z18
	VFMADD231PS Z23, Z29, Z19
	VFMADD231PS Z24, Z29, Z20
	VFMADD231PS Z25, Z29, Z21
q4sum:
	MOVQ ldy+8(FP), R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), R15  // 3·ldy
	HSUM(Z6, Y6)
	VMOVSS X0, 0(DI)
	HSUM(Z7, Y7)
	VMOVSS X0, 4(DI)
	HSUM(Z8, Y8)
	VMOVSS X0, 8(DI)
	HSUM(Z9, Y9)
	VMOVSS X0, 12(DI)
	HSUM(Z10, Y10)
	VMOVSS X0, 0(DI)(R12*1)
	HSUM(Z11, Y11)
	VMOVSS X0, 4(DI)(R12*1)
	HSUM(Z12, Y12)
	VMOVSS X0, 8(DI)(R12*1)
	HSUM(Z13, Y13)
	VMOVSS X0, 12(DI)(R12*1)
	HSUM(Z14, Y14)
	VMOVSS X0, 0(DI)(R12*2)
	HSUM(Z15, Y15)
	VMOVSS X0, 4(DI)(R12*2)
	HSUM(Z16, Y16)
	VMOVSS X0, 8(DI)(R12*2)
	HSUM(Z17, Y17)
	VMOVSS X0, 12(DI)(R12*2)
	HSUM(Z18, Y18)
	VMOVSS X0, 0(DI)(R15*1)
	HSUM(Z19, Y19)
	VMOVSS X0, 4(DI)(R15*1)
	HSUM(Z20, Y20)
	VMOVSS X0, 8(DI)(R15*1)
	HSUM(Z21, Y21)
	VMOVSS X0, 12(DI)(R15*1)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  q4blk
q4done:
	VZEROUPPER
	RET

// func axpyRowsAVX512(y, x, b *float32, ldb, rows, n int)
// y[j] = Σ_p x[p]·b[p·ldb + j] for j < n (a vector times a row-major
// matrix), summed from zero in order of p with one fused multiply-add per
// step: each y[j] gets exactly the operations of clearing y and calling
// axpyAVX512(y, b[p·ldb:], n, x[p]) for p = 0, 1, …, without the calls.
TEXT ·axpyRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	MOVQ rows+32(FP), R9
	MOVQ n+40(FP), R10
ar64:
	CMPQ R10, $64
	JL   ar16
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ SI, AX
	MOVQ DX, BX
	MOVQ R9, CX
	TESTQ CX, CX
	JZ   ar64store
ar64loop:
	VBROADCASTSS (AX), Z4
	VFMADD231PS (BX), Z4, Z0
	VFMADD231PS 64(BX), Z4, Z1
	VFMADD231PS 128(BX), Z4, Z2
	VFMADD231PS 192(BX), Z4, Z3
	ADDQ $4, AX
	ADDQ R8, BX
	DECQ CX
	JNZ  ar64loop
ar64store:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, DI
	ADDQ $256, DX
	SUBQ $64, R10
	JMP  ar64
ar16:
	CMPQ R10, $16
	JL   artail
	VPXORD Z0, Z0, Z0
	MOVQ SI, AX
	MOVQ DX, BX
	MOVQ R9, CX
	TESTQ CX, CX
	JZ   ar16store
ar16loop:
	VBROADCASTSS (AX), Z4
	VFMADD231PS (BX), Z4, Z0
	ADDQ $4, AX
	ADDQ R8, BX
	DECQ CX
	JNZ  ar16loop
ar16store:
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $16, R10
	JMP  ar16
artail:
	TESTQ R10, R10
	JZ   ardone
	MOVQ R10, CX
	TAILMASK
	VPXORD Z0, Z0, Z0
	MOVQ SI, AX
	MOVQ DX, BX
	MOVQ R9, CX
	TESTQ CX, CX
	JZ   artailstore
artailloop:
	VBROADCASTSS (AX), Z4
	VMOVUPS.Z (BX), K1, Z5
	VFMADD231PS Z5, Z4, Z0
	ADDQ $4, AX
	ADDQ R8, BX
	DECQ CX
	JNZ  artailloop
artailstore:
	VMOVUPS Z0, K1, (DI)
ardone:
	VZEROUPPER
	RET

// func dotQ8VNNI(c *float32, abs *byte, neg *uint64, d *float32, w *byte, rb, n, nb int, beta float32)
// c[j] = Σ_p x[p]·W[j][p] (+ beta·c[j]) for the n q8_0 rows of W (rb bytes
// apart), x quantised to q8_0 as q8act.go's q8Act (abs, neg, d) with nb
// blocks; the order of operations is q8act.go's. AVX-512 VNNI and BW.
// Each pair prefetches into L2 the same bytes of the next row (rb on; past
// the last row PREFETCHT1 does not fault).
// Registers: DI c, BX the row of W, R11 rows left, R10 rb, SI abs, R8 neg,
// R9 d, DX the block pair in the row, CX pairs left, Z8 the accumulator,
// Z30 zero, X9 beta.
TEXT ·dotQ8VNNI(SB), NOSPLIT, $0-68
	MOVQ c+0(FP), DI
	MOVQ w+32(FP), BX
	MOVQ n+48(FP), R11
	MOVQ rb+40(FP), R10
	VMOVSS beta+64(FP), X9
	VPXORD Z30, Z30, Z30
vrow:
	TESTQ R11, R11
	JLE   vdone
	VPXORD Z8, Z8, Z8
	MOVQ abs+8(FP), SI
	MOVQ neg+16(FP), R8
	MOVQ d+24(FP), R9
	MOVQ BX, DX
	MOVQ nb+56(FP), CX
	SHRQ $1, CX
	JZ   vtail
vpair:
	PREFETCHT1 (DX)(R10*1)
	PREFETCHT1 64(DX)(R10*1)
	VMOVDQU8 2(DX), Y3
	VINSERTI64X4 $1, 36(DX), Z3, Z3
	KMOVQ (R8), K1
	VPSUBB Z3, Z30, K1, Z3
	VMOVDQU8 (SI), Z5
	VPXORD Z4, Z4, Z4
	VPDPBUSD Z3, Z5, Z4
	VCVTDQ2PS Z4, Z4
	MOVWLZX (DX), AX
	VMOVD AX, X6
	VCVTPH2PS X6, X6
	VBROADCASTSS X6, Y6
	MOVWLZX 34(DX), AX
	VMOVD AX, X7
	VCVTPH2PS X7, X7
	VBROADCASTSS X7, Y7
	VINSERTF32X8 $1, Y7, Z6, Z6
	VMULPS (R9), Z6, Z6
	VFMADD231PS Z4, Z6, Z8
	ADDQ $68, DX
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $64, R9
	DECQ CX
	JNZ  vpair
vtail:
	MOVQ nb+56(FP), CX
	TESTQ $1, CX
	JZ   vred
	VMOVDQU8 2(DX), Y3
	KMOVQ (R8), K1
	VPSUBB Z3, Z30, K1, Z3
	VMOVDQU8 (SI), Z5
	VPXORD Z4, Z4, Z4
	VPDPBUSD Z3, Z5, Z4
	VCVTDQ2PS Z4, Z4
	MOVWLZX (DX), AX
	VMOVD AX, X6
	VCVTPH2PS X6, X6
	VBROADCASTSS X6, Y6
	VMULPS (R9), Z6, Z6
	VFMADD231PS Z4, Z6, Z8
vred:
	HSUM(Z8, Y8)
	MOVL beta+64(FP), AX
	ANDL $0x7fffffff, AX
	JZ   vstore
	VFMADD231SS (DI), X9, X0
vstore:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ rb+40(FP), BX
	DECQ R11
	JMP  vrow
vdone:
	VZEROUPPER
	RET

// func packRows64AVX512(dst *float32, src *float32, ld, n int)
// dst[p·64 : p·64+64] = src[p·ld : p·ld+64] for p < n: a GEMM's B panel of
// 64 columns packed from rows (moves only, bit for bit).
TEXT ·packRows64AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JZ    packdone
packloop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ BX, SI
	ADDQ $256, DI
	DECQ CX
	JNZ  packloop
packdone:
	VZEROUPPER
	RET

// func transpose16AVX512(dst *float32, dstStride int, src *float32, ld int)
// dst[c·dstStride + r] = src[r·ld + c] for r, c < 16: one 16×16 block of a
// GEMM panel packed from rows (moves and shuffles only, bit for bit).
TEXT ·transpose16AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ dstStride+8(FP), DX
	SHLQ $2, DX
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), BX
	SHLQ $2, BX
	VMOVUPS (SI), Z0
	ADDQ BX, SI
	VMOVUPS (SI), Z1
	ADDQ BX, SI
	VMOVUPS (SI), Z2
	ADDQ BX, SI
	VMOVUPS (SI), Z3
	ADDQ BX, SI
	VMOVUPS (SI), Z4
	ADDQ BX, SI
	VMOVUPS (SI), Z5
	ADDQ BX, SI
	VMOVUPS (SI), Z6
	ADDQ BX, SI
	VMOVUPS (SI), Z7
	ADDQ BX, SI
	VMOVUPS (SI), Z8
	ADDQ BX, SI
	VMOVUPS (SI), Z9
	ADDQ BX, SI
	VMOVUPS (SI), Z10
	ADDQ BX, SI
	VMOVUPS (SI), Z11
	ADDQ BX, SI
	VMOVUPS (SI), Z12
	ADDQ BX, SI
	VMOVUPS (SI), Z13
	ADDQ BX, SI
	VMOVUPS (SI), Z14
	ADDQ BX, SI
	VMOVUPS (SI), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x44, Z4, Z0, Z16
	VSHUFF32X4 $0xEE, Z4, Z0, Z17
	VSHUFF32X4 $0x44, Z12, Z8, Z18
	VSHUFF32X4 $0xEE, Z12, Z8, Z19
	VSHUFF32X4 $0x88, Z18, Z16, Z20
	VSHUFF32X4 $0xDD, Z18, Z16, Z21
	VSHUFF32X4 $0x88, Z19, Z17, Z22
	VSHUFF32X4 $0xDD, Z19, Z17, Z23
	MOVQ DX, R8
	IMULQ $0, R8
	VMOVUPS Z20, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $4, R8
	VMOVUPS Z21, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $8, R8
	VMOVUPS Z22, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $12, R8
	VMOVUPS Z23, (DI)(R8*1)
	VSHUFF32X4 $0x44, Z5, Z1, Z16
	VSHUFF32X4 $0xEE, Z5, Z1, Z17
	VSHUFF32X4 $0x44, Z13, Z9, Z18
	VSHUFF32X4 $0xEE, Z13, Z9, Z19
	VSHUFF32X4 $0x88, Z18, Z16, Z20
	VSHUFF32X4 $0xDD, Z18, Z16, Z21
	VSHUFF32X4 $0x88, Z19, Z17, Z22
	VSHUFF32X4 $0xDD, Z19, Z17, Z23
	MOVQ DX, R8
	IMULQ $1, R8
	VMOVUPS Z20, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $5, R8
	VMOVUPS Z21, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $9, R8
	VMOVUPS Z22, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $13, R8
	VMOVUPS Z23, (DI)(R8*1)
	VSHUFF32X4 $0x44, Z6, Z2, Z16
	VSHUFF32X4 $0xEE, Z6, Z2, Z17
	VSHUFF32X4 $0x44, Z14, Z10, Z18
	VSHUFF32X4 $0xEE, Z14, Z10, Z19
	VSHUFF32X4 $0x88, Z18, Z16, Z20
	VSHUFF32X4 $0xDD, Z18, Z16, Z21
	VSHUFF32X4 $0x88, Z19, Z17, Z22
	VSHUFF32X4 $0xDD, Z19, Z17, Z23
	MOVQ DX, R8
	IMULQ $2, R8
	VMOVUPS Z20, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $6, R8
	VMOVUPS Z21, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $10, R8
	VMOVUPS Z22, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $14, R8
	VMOVUPS Z23, (DI)(R8*1)
	VSHUFF32X4 $0x44, Z7, Z3, Z16
	VSHUFF32X4 $0xEE, Z7, Z3, Z17
	VSHUFF32X4 $0x44, Z15, Z11, Z18
	VSHUFF32X4 $0xEE, Z15, Z11, Z19
	VSHUFF32X4 $0x88, Z18, Z16, Z20
	VSHUFF32X4 $0xDD, Z18, Z16, Z21
	VSHUFF32X4 $0x88, Z19, Z17, Z22
	VSHUFF32X4 $0xDD, Z19, Z17, Z23
	MOVQ DX, R8
	IMULQ $3, R8
	VMOVUPS Z20, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $7, R8
	VMOVUPS Z21, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $11, R8
	VMOVUPS Z22, (DI)(R8*1)
	MOVQ DX, R8
	IMULQ $15, R8
	VMOVUPS Z23, (DI)(R8*1)
	VZEROUPPER
	RET
