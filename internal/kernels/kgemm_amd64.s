//go:build amd64 && !purego

#include "textflag.h"

// k-quant GEMM micro-kernels (kgemm.go: layouts and the order of
// operations, which these follow bit for bit). AVX-512 with VNNI and BW.
//
// One call multiplies a block of 8 activation rows (SI) with a repacked
// tile of 16 weight rows (DX), all nb super-blocks, and stores the 8×16
// results (row r of the block in out[16r:16r+16], lane l = weight row l).
// Each 4-value step loads the 16 rows' levels once (Z24) and feeds eight
// VPDPBUSD, one per activation row, with that row's 4 q broadcast: eight
// independent chains, enough to keep the VNNI units busy.
//
// Registers: Z0–Z7 the accumulators A of the 8 rows, Z8–Z15 the
// super-block's integer sums I (then, in gemmQ4KVNNI's second pass over
// the super-blocks, the accumulators M), Z16–Z23 a sub-block's (group's)
// sums (then the mins' sums Mn); Z24 levels or pairs, Z25 scales, Z26
// d·d_a, Z27 d. CX super-blocks left, BX sub-blocks (groups) left, R10
// their scales, R11 the activations' super-block, R12 their size.

#define ZERO8(a, b, c, d, e, f, g, h) \
	VPXORD a, a, a; \
	VPXORD b, b, b; \
	VPXORD c, c, c; \
	VPXORD d, d, d; \
	VPXORD e, e, e; \
	VPXORD f, f, f; \
	VPXORD g, g, g; \
	VPXORD h, h, h

// STEP: the levels at w(DX) times the 8 rows' q at a(SI) (row r at
// a+256r) into Z16–Z23.
#define STEP(w, a) \
	VMOVDQU64 w(DX), Z24; \
	VPDPBUSD.BCST a(SI), Z24, Z16; \
	VPDPBUSD.BCST a+256(SI), Z24, Z17; \
	VPDPBUSD.BCST a+512(SI), Z24, Z18; \
	VPDPBUSD.BCST a+768(SI), Z24, Z19; \
	VPDPBUSD.BCST a+1024(SI), Z24, Z20; \
	VPDPBUSD.BCST a+1280(SI), Z24, Z21; \
	VPDPBUSD.BCST a+1536(SI), Z24, Z22; \
	VPDPBUSD.BCST a+1792(SI), Z24, Z23

// SCALE: Z8–Z15 += Z16–Z23 times the 16 rows' scales at (R10).
#define SCALE \
	VMOVDQU64 (R10), Z25; \
	VPMULLD Z25, Z16, Z16; \
	VPMULLD Z25, Z17, Z17; \
	VPMULLD Z25, Z18, Z18; \
	VPMULLD Z25, Z19, Z19; \
	VPMULLD Z25, Z20, Z20; \
	VPMULLD Z25, Z21, Z21; \
	VPMULLD Z25, Z22, Z22; \
	VPMULLD Z25, Z23, Z23; \
	VPADDD  Z16, Z8, Z8; \
	VPADDD  Z17, Z9, Z9; \
	VPADDD  Z18, Z10, Z10; \
	VPADDD  Z19, Z11, Z11; \
	VPADDD  Z20, Z12, Z12; \
	VPADDD  Z21, Z13, Z13; \
	VPADDD  Z22, Z14, Z14; \
	VPADDD  Z23, Z15, Z15

// PAIRS: the int16 pairs at w(DX) (one per lane) dotted with the 8 rows'
// pairs at a(SI), a+s(SI), …, a+7s(SI), into r0–r7.
#define PAIRS(w, a, s, r0, r1, r2, r3, r4, r5, r6, r7) \
	VMOVDQU64 w(DX), Z24; \
	VPDPWSSD.BCST a(SI), Z24, r0; \
	VPDPWSSD.BCST a+s(SI), Z24, r1; \
	VPDPWSSD.BCST a+2*s(SI), Z24, r2; \
	VPDPWSSD.BCST a+3*s(SI), Z24, r3; \
	VPDPWSSD.BCST a+4*s(SI), Z24, r4; \
	VPDPWSSD.BCST a+5*s(SI), Z24, r5; \
	VPDPWSSD.BCST a+6*s(SI), Z24, r6; \
	VPDPWSSD.BCST a+7*s(SI), Z24, r7

// FMAROW: acc += (Z27·d_a at a(SI))·float32(isum).
#define FMAROW(a, isum, acc) \
	VMULPS.BCST a(SI), Z27, Z26; \
	VCVTDQ2PS isum, isum; \
	VFMADD231PS isum, Z26, acc

// FMA8: FMAROW for the 8 rows, sums in i0–i7, accumulators in c0–c7.
#define FMA8(i0, i1, i2, i3, i4, i5, i6, i7, c0, c1, c2, c3, c4, c5, c6, c7) \
	FMAROW(0, i0, c0); \
	FMAROW(4, i1, c1); \
	FMAROW(8, i2, c2); \
	FMAROW(12, i3, c3); \
	FMAROW(16, i4, c4); \
	FMAROW(20, i5, c5); \
	FMAROW(24, i6, c6); \
	FMAROW(28, i7, c7)

#define STORE8 \
	VMOVUPS Z0, (DI); \
	VMOVUPS Z1, 64(DI); \
	VMOVUPS Z2, 128(DI); \
	VMOVUPS Z3, 192(DI); \
	VMOVUPS Z4, 256(DI); \
	VMOVUPS Z5, 320(DI); \
	VMOVUPS Z6, 384(DI); \
	VMOVUPS Z7, 448(DI)

// func gemmQ4KVNNI(out *float32, a *byte, w *byte, nb int)
TEXT ·gemmQ4KVNNI(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ nb+24(FP), CX
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
q4blk:
	ZERO8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	MOVQ SI, R11
	LEAQ 4096(DX), R10
	MOVQ $8, BX
q4sub:
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	STEP(0, 0)
	STEP(64, 4)
	STEP(128, 8)
	STEP(192, 12)
	STEP(256, 16)
	STEP(320, 20)
	STEP(384, 24)
	STEP(448, 28)
	SCALE
	ADDQ $512, DX
	ADDQ $32, SI
	ADDQ $64, R10
	DECQ BX
	JNZ  q4sub
	// DX: the tile's scales, SI: the rows' d_a.
	LEAQ 2048(R11), SI
	VMOVUPS 768(DX), Z27
	FMA8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	ADDQ $896, DX
	ADDQ $2208, R11
	MOVQ R11, SI
	DECQ CX
	JNZ  q4blk
	// Second pass: the mins, M in Z8–Z15.
	MOVQ a+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ nb+24(FP), CX
	ZERO8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
q4min:
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	ADDQ $2048, SI
	ADDQ $4096, DX
	PAIRS(512, 32, 16, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	PAIRS(576, 36, 16, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	PAIRS(640, 40, 16, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	PAIRS(704, 44, 16, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VMOVUPS 832(DX), Z27
	FMA8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	ADDQ $160, SI
	ADDQ $896, DX
	DECQ CX
	JNZ  q4min
	VSUBPS Z8, Z0, Z0
	VSUBPS Z9, Z1, Z1
	VSUBPS Z10, Z2, Z2
	VSUBPS Z11, Z3, Z3
	VSUBPS Z12, Z4, Z4
	VSUBPS Z13, Z5, Z5
	VSUBPS Z14, Z6, Z6
	VSUBPS Z15, Z7, Z7
	STORE8
	VZEROUPPER
	RET

// func gemmQ6KVNNI(out *float32, a *byte, w *byte, nb int)
TEXT ·gemmQ6KVNNI(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ nb+24(FP), CX
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
q6blk:
	// I starts from Σ_g (−32·sc[g])·S16[g].
	ZERO8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	MOVQ SI, R11
	PAIRS(5120, 2080, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	PAIRS(5184, 2084, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	PAIRS(5248, 2088, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	PAIRS(5312, 2092, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	PAIRS(5376, 2096, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	PAIRS(5440, 2100, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	PAIRS(5504, 2104, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	PAIRS(5568, 2108, 32, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	LEAQ 4096(DX), R10
	MOVQ $16, BX
q6grp:
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	STEP(0, 0)
	STEP(64, 4)
	STEP(128, 8)
	STEP(192, 12)
	SCALE
	ADDQ $256, DX
	ADDQ $16, SI
	ADDQ $64, R10
	DECQ BX
	JNZ  q6grp
	// DX: the tile's scales, SI: the rows' d_a.
	LEAQ 2048(R11), SI
	VMOVUPS 1536(DX), Z27
	FMA8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	ADDQ $1600, DX
	ADDQ $2336, R11
	MOVQ R11, SI
	DECQ CX
	JNZ  q6blk
	STORE8
	VZEROUPPER
	RET

// QV: q of the 16 values at 4·off(SI), times iscale (Z18), to off(DI).
#define QV(off) \
	VMULPS (4*off)(SI), Z18, Z20; \
	VCVTPS2DQ Z20, Z20; \
	VPMINSD Z30, Z20, Z20; \
	VPMOVSDB Z20, off(DI)

// SAD: the 8 sums of 8 of the 64 q at off(DI), each plus 8·128, to
// off(R10).
#define SAD(off) \
	VPXORD off(DI), Z29, Z20; \
	VPSADBW Z28, Z20, Z20; \
	VMOVDQU64 Z20, off(R10)

// func quantQ8KAVX512(q *byte, d *byte, stride int, x *float32, nb int, sad *uint64)
//
// QuantizeQ8K on nb super-blocks of x: super-block b's 256 q to q+b·stride,
// its d (float32) to d+b·stride, and the 32 sums of 8 of its q (each plus
// 1024) to sad[32b:]. The largest magnitude and its first position as in
// QuantizeQ8K; iscale·x rounded to nearest even by VCVTPS2DQ (nearestInt's
// value), then min 127. A super-block whose largest magnitude is 0 or NaN
// gets q = 0 and d = 0.
TEXT ·quantQ8KAVX512(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), DI
	MOVQ d+8(FP), R8
	MOVQ stride+16(FP), R9
	MOVQ x+24(FP), SI
	MOVQ nb+32(FP), CX
	MOVQ sad+40(FP), R10
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL $127, AX
	VPBROADCASTD AX, Z30
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z29
	VPXORD Z28, Z28, Z28
qkblk:
	VANDPS (SI), Z31, Z16
	VANDPS 64(SI), Z31, Z17
	VANDPS 128(SI), Z31, Z20
	VMAXPS Z20, Z16, Z16
	VANDPS 192(SI), Z31, Z20
	VMAXPS Z20, Z17, Z17
	VANDPS 256(SI), Z31, Z20
	VMAXPS Z20, Z16, Z16
	VANDPS 320(SI), Z31, Z20
	VMAXPS Z20, Z17, Z17
	VANDPS 384(SI), Z31, Z20
	VMAXPS Z20, Z16, Z16
	VANDPS 448(SI), Z31, Z20
	VMAXPS Z20, Z17, Z17
	VANDPS 512(SI), Z31, Z20
	VMAXPS Z20, Z16, Z16
	VANDPS 576(SI), Z31, Z20
	VMAXPS Z20, Z17, Z17
	VANDPS 640(SI), Z31, Z20
	VMAXPS Z20, Z16, Z16
	VANDPS 704(SI), Z31, Z20
	VMAXPS Z20, Z17, Z17
	VANDPS 768(SI), Z31, Z20
	VMAXPS Z20, Z16, Z16
	VANDPS 832(SI), Z31, Z20
	VMAXPS Z20, Z17, Z17
	VANDPS 896(SI), Z31, Z20
	VMAXPS Z20, Z16, Z16
	VANDPS 960(SI), Z31, Z20
	VMAXPS Z20, Z17, Z17
	VMAXPS Z17, Z16, Z16
	VEXTRACTF32X8 $1, Z16, Y17
	VMAXPS Y17, Y16, Y16
	VEXTRACTF32X4 $1, Y16, X17
	VMAXPS X17, X16, X16
	VPERMILPS $0x4e, X16, X17
	VMAXPS X17, X16, X16
	VPERMILPS $0xb1, X16, X17
	VMAXPS X17, X16, X16
	VXORPS X17, X17, X17
	VUCOMISS X17, X16
	JEQ  qkzero // 0 or NaN
	VBROADCASTSS X16, Z16
	XORQ AX, AX
qkfind:
	VANDPS (SI)(AX*4), Z31, Z17
	VCMPPS $0, Z16, Z17, K1
	KMOVW K1, BX
	TESTL BX, BX
	JNZ   qkfound
	ADDQ  $16, AX
	CMPQ  AX, $256
	JLT   qkfind
	JMP   qkzero
qkfound:
	BSFL BX, BX
	ADDQ BX, AX
	VMOVSS (SI)(AX*4), X17 // the value of largest magnitude
	MOVL $0xc2fe0000, BX   // −127
	VMOVD BX, X18
	VDIVSS X17, X18, X18   // iscale = −127/max
	MOVL $0x3f800000, BX   // 1
	VMOVD BX, X19
	VDIVSS X18, X19, X19   // d = 1/iscale
	VMOVSS X19, (R8)
	VBROADCASTSS X18, Z18
	QV(0)
	QV(16)
	QV(32)
	QV(48)
	QV(64)
	QV(80)
	QV(96)
	QV(112)
	QV(128)
	QV(144)
	QV(160)
	QV(176)
	QV(192)
	QV(208)
	QV(224)
	QV(240)
	JMP qksums
qkzero:
	VMOVDQU64 Z28, (DI)
	VMOVDQU64 Z28, 64(DI)
	VMOVDQU64 Z28, 128(DI)
	VMOVDQU64 Z28, 192(DI)
	MOVL $0, (R8)
qksums:
	SAD(0)
	SAD(64)
	SAD(128)
	SAD(192)
	ADDQ $1024, SI
	ADDQ R9, DI
	ADDQ R9, R8
	ADDQ $256, R10
	DECQ CX
	JNZ  qkblk
	VZEROUPPER
	RET
