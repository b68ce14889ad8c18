//go:build amd64 && !purego

#include "textflag.h"

// k-quant GEMM micro-kernels (kgemm.go: layouts and the order of
// operations, which these follow bit for bit). AVX-512 with VNNI and BW.
//
// One call multiplies a block of 4 activation rows (SI) with a repacked
// tile of 16 weight rows (DX), all nb super-blocks, and stores the 4×16
// results (row r of the block in out[16r:16r+16], lane l = weight row l).
// Each 4-value step loads the 16 rows' levels once (Z16) and feeds four
// VPDPBUSD, one per activation row, with that row's 4 q broadcast.
//
// Registers: Z0–Z3 the accumulators A of the 4 rows, Z4–Z7 their M
// (Q4_K), Z8–Z11 the super-block's integer sums I, Z12–Z15 a sub-block's
// (group's) sums, then the mins' sums Mn; Z16 levels, Z17–Z20 scratch.
// CX super-blocks left, BX sub-blocks (groups) left, R10 their scales.

// STEP: the levels at w(DX) times the 4 rows' q at a(SI) (row r at a+4r).
#define STEP(w, a) \
	VMOVDQU64 w(DX), Z16; \
	VPDPBUSD.BCST a(SI), Z16, Z12; \
	VPDPBUSD.BCST a+4(SI), Z16, Z13; \
	VPDPBUSD.BCST a+8(SI), Z16, Z14; \
	VPDPBUSD.BCST a+12(SI), Z16, Z15

// SCALE: Z8–Z11 += Z12–Z15 times the 16 rows' scales at (R10).
#define SCALE \
	VPMULLD (R10), Z12, Z12; \
	VPMULLD (R10), Z13, Z13; \
	VPMULLD (R10), Z14, Z14; \
	VPMULLD (R10), Z15, Z15; \
	VPADDD  Z12, Z8, Z8; \
	VPADDD  Z13, Z9, Z9; \
	VPADDD  Z14, Z10, Z10; \
	VPADDD  Z15, Z11, Z11

#define ZERO4(a, b, c, d) \
	VPXORD a, a, a; \
	VPXORD b, b, b; \
	VPXORD c, c, c; \
	VPXORD d, d, d

// PAIRS: the int16 pairs at w(DX) (one per lane) dotted with the 4 rows'
// pairs at a(SI), a+s(SI), a+2s(SI), a+3s(SI), into r0–r3.
#define PAIRS(w, a, s, r0, r1, r2, r3) \
	VMOVDQU64 w(DX), Z16; \
	VPDPWSSD.BCST a(SI), Z16, r0; \
	VPDPWSSD.BCST a+s(SI), Z16, r1; \
	VPDPWSSD.BCST a+2*s(SI), Z16, r2; \
	VPDPWSSD.BCST a+3*s(SI), Z16, r3

// FMAROW: acc += (scales·d_a at a(SI))·float32(isum).
#define FMAROW(scales, a, isum, acc) \
	VMULPS.BCST a(SI), scales, Z19; \
	VCVTDQ2PS isum, isum; \
	VFMADD231PS isum, Z19, acc

// func gemmQ4KVNNI(out *float32, a *byte, w *byte, nb int)
TEXT ·gemmQ4KVNNI(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ nb+24(FP), CX
	ZERO4(Z0, Z1, Z2, Z3)
	ZERO4(Z4, Z5, Z6, Z7)
q4blk:
	ZERO4(Z8, Z9, Z10, Z11)
	LEAQ 4096(DX), R10
	MOVQ $8, BX
q4sub:
	ZERO4(Z12, Z13, Z14, Z15)
	STEP(0, 0)
	STEP(64, 16)
	STEP(128, 32)
	STEP(192, 48)
	STEP(256, 64)
	STEP(320, 80)
	STEP(384, 96)
	STEP(448, 112)
	SCALE
	ADDQ $512, DX
	ADDQ $128, SI
	ADDQ $64, R10
	DECQ BX
	JNZ  q4sub
	// DX: the tile's scales, SI: the rows' d_a.
	ZERO4(Z12, Z13, Z14, Z15)
	PAIRS(512, 16, 16, Z12, Z13, Z14, Z15)
	PAIRS(576, 20, 16, Z12, Z13, Z14, Z15)
	PAIRS(640, 24, 16, Z12, Z13, Z14, Z15)
	PAIRS(704, 28, 16, Z12, Z13, Z14, Z15)
	VMOVUPS 768(DX), Z17
	VMOVUPS 832(DX), Z18
	FMAROW(Z17, 0, Z8, Z0)
	FMAROW(Z17, 4, Z9, Z1)
	FMAROW(Z17, 8, Z10, Z2)
	FMAROW(Z17, 12, Z11, Z3)
	FMAROW(Z18, 0, Z12, Z4)
	FMAROW(Z18, 4, Z13, Z5)
	FMAROW(Z18, 8, Z14, Z6)
	FMAROW(Z18, 12, Z15, Z7)
	ADDQ $896, DX
	ADDQ $80, SI
	DECQ CX
	JNZ  q4blk
	VSUBPS Z4, Z0, Z0
	VSUBPS Z5, Z1, Z1
	VSUBPS Z6, Z2, Z2
	VSUBPS Z7, Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VZEROUPPER
	RET

// func gemmQ6KVNNI(out *float32, a *byte, w *byte, nb int)
TEXT ·gemmQ6KVNNI(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ nb+24(FP), CX
	ZERO4(Z0, Z1, Z2, Z3)
q6blk:
	// I starts from Σ_g (−32·sc[g])·S16[g].
	ZERO4(Z8, Z9, Z10, Z11)
	PAIRS(5120, 1040, 32, Z8, Z9, Z10, Z11)
	PAIRS(5184, 1044, 32, Z8, Z9, Z10, Z11)
	PAIRS(5248, 1048, 32, Z8, Z9, Z10, Z11)
	PAIRS(5312, 1052, 32, Z8, Z9, Z10, Z11)
	PAIRS(5376, 1056, 32, Z8, Z9, Z10, Z11)
	PAIRS(5440, 1060, 32, Z8, Z9, Z10, Z11)
	PAIRS(5504, 1064, 32, Z8, Z9, Z10, Z11)
	PAIRS(5568, 1068, 32, Z8, Z9, Z10, Z11)
	LEAQ 4096(DX), R10
	MOVQ $16, BX
q6grp:
	ZERO4(Z12, Z13, Z14, Z15)
	STEP(0, 0)
	STEP(64, 16)
	STEP(128, 32)
	STEP(192, 48)
	SCALE
	ADDQ $256, DX
	ADDQ $64, SI
	ADDQ $64, R10
	DECQ BX
	JNZ  q6grp
	// DX: the tile's scales, SI: the rows' d_a.
	VMOVUPS 1536(DX), Z17
	FMAROW(Z17, 0, Z8, Z0)
	FMAROW(Z17, 4, Z9, Z1)
	FMAROW(Z17, 8, Z10, Z2)
	FMAROW(Z17, 12, Z11, Z3)
	ADDQ $1600, DX
	ADDQ $144, SI
	DECQ CX
	JNZ  q6blk
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VZEROUPPER
	RET
