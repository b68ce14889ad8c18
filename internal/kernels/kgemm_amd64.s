//go:build amd64 && !purego

#include "textflag.h"

// k-quant GEMM micro-kernels (kgemm.go: layouts and the order of
// operations, which these follow bit for bit). AVX-512 with VNNI and BW.
//
// One call multiplies a block of 8 activation rows (SI) with a repacked
// tile of 16 weight rows (DX) over nb super-blocks, continuing the
// accumulators A (acc[16r:16r+16] for row r of the block, lane l = weight
// row l) and, gemmQ4KVNNI, M (acc[128+16r:]), or starting them from +0
// when init is not 0. Each 4-value step loads the 16 rows' levels once
// (Z24) and feeds eight VPDPBUSD, one per activation row, with that row's
// 4 q broadcast; even and odd steps go to two sets of registers, 16
// independent chains (VPDPBUSD: 4 cycles' latency, 2 per cycle on the Zen 5
// cores measured).
//
// Registers of the first pass: Z0–Z7 the super-block's integer sums I of
// the 8 rows, Z8–Z15 and Z16–Z23 a sub-block's (group's) sums, Z24 levels,
// Z25 scales, Z26 d·d_a, Z27 d, Z28 an accumulator A loaded from acc.
// gemmQ4KVNNI's second pass over the super-blocks: Z8–Z15 the
// accumulators M, Z16–Z23 the mins' sums Mn. CX super-blocks left, BX
// sub-blocks (groups) left, R10 their scales, R11 the activations'
// super-block, R12 (Q6_K) the groups' −32·S16.

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

// STEPR: STEP into the registers r0–r7.
#define STEPR(w, a, r0, r1, r2, r3, r4, r5, r6, r7) \
	VMOVDQU64 w(DX), Z24; \
	VPDPBUSD.BCST a(SI), Z24, r0; \
	VPDPBUSD.BCST a+256(SI), Z24, r1; \
	VPDPBUSD.BCST a+512(SI), Z24, r2; \
	VPDPBUSD.BCST a+768(SI), Z24, r3; \
	VPDPBUSD.BCST a+1024(SI), Z24, r4; \
	VPDPBUSD.BCST a+1280(SI), Z24, r5; \
	VPDPBUSD.BCST a+1536(SI), Z24, r6; \
	VPDPBUSD.BCST a+1792(SI), Z24, r7

#define STEPE(w, a) STEPR(w, a, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
#define STEPO(w, a) STEPR(w, a, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

// SCALE2: Z0–Z7 += (Z8–Z15 + Z16–Z23) times the 16 rows' scales at (R10).
#define SCALE2 \
	VMOVDQU64 (R10), Z25; \
	VPADDD  Z16, Z8, Z8; \
	VPADDD  Z17, Z9, Z9; \
	VPADDD  Z18, Z10, Z10; \
	VPADDD  Z19, Z11, Z11; \
	VPADDD  Z20, Z12, Z12; \
	VPADDD  Z21, Z13, Z13; \
	VPADDD  Z22, Z14, Z14; \
	VPADDD  Z23, Z15, Z15; \
	VPMULLD Z25, Z8, Z8; \
	VPMULLD Z25, Z9, Z9; \
	VPMULLD Z25, Z10, Z10; \
	VPMULLD Z25, Z11, Z11; \
	VPMULLD Z25, Z12, Z12; \
	VPMULLD Z25, Z13, Z13; \
	VPMULLD Z25, Z14, Z14; \
	VPMULLD Z25, Z15, Z15; \
	VPADDD  Z8, Z0, Z0; \
	VPADDD  Z9, Z1, Z1; \
	VPADDD  Z10, Z2, Z2; \
	VPADDD  Z11, Z3, Z3; \
	VPADDD  Z12, Z4, Z4; \
	VPADDD  Z13, Z5, Z5; \
	VPADDD  Z14, Z6, Z6; \
	VPADDD  Z15, Z7, Z7

// FMAMEM: the accumulator at off(DI) += (Z27·d_a at a(SI))·float32(isum).
#define FMAMEM(a, isum, off) \
	VMULPS.BCST a(SI), Z27, Z26; \
	VCVTDQ2PS isum, isum; \
	VMOVUPS off(DI), Z28; \
	VFMADD231PS isum, Z26, Z28; \
	VMOVUPS Z28, off(DI)

#define FMAMEM8 \
	FMAMEM(0, Z0, 0); \
	FMAMEM(4, Z1, 64); \
	FMAMEM(8, Z2, 128); \
	FMAMEM(12, Z3, 192); \
	FMAMEM(16, Z4, 256); \
	FMAMEM(20, Z5, 320); \
	FMAMEM(24, Z6, 384); \
	FMAMEM(28, Z7, 448)

// INITA: acc[0:128] = +0 when init is not 0.
#define INITA(lab) \
	CMPQ init+32(FP), $0; \
	JEQ  lab; \
	VPXORD Z28, Z28, Z28; \
	VMOVUPS Z28, (DI); \
	VMOVUPS Z28, 64(DI); \
	VMOVUPS Z28, 128(DI); \
	VMOVUPS Z28, 192(DI); \
	VMOVUPS Z28, 256(DI); \
	VMOVUPS Z28, 320(DI); \
	VMOVUPS Z28, 384(DI); \
	VMOVUPS Z28, 448(DI); \
lab:

// func gemmQ4KVNNI(acc *float32, a *byte, w *byte, nb int, init int)
//
// The accumulators A stay in memory (updated once per super-block), so
// that each 4-value step's products go to one of two sets of 8 registers
// (even and odd steps): 16 independent VPDPBUSD chains. Z0–Z7 hold I.
TEXT ·gemmQ4KVNNI(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ nb+24(FP), CX
	INITA(q4init)
q4blk:
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	MOVQ SI, R11
	LEAQ 4096(DX), R10
	MOVQ $8, BX
q4sub:
	ZERO8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	STEPE(0, 0)
	STEPO(64, 4)
	STEPE(128, 8)
	STEPO(192, 12)
	STEPE(256, 16)
	STEPO(320, 20)
	STEPE(384, 24)
	STEPO(448, 28)
	SCALE2
	ADDQ $512, DX
	ADDQ $32, SI
	ADDQ $64, R10
	DECQ BX
	JNZ  q4sub
	// DX: the tile's scales, SI: the rows' d_a.
	LEAQ 2048(R11), SI
	VMOVUPS 768(DX), Z27
	FMAMEM8
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
	CMPQ init+32(FP), $0
	JNE  q4min
	VMOVUPS 512(DI), Z8
	VMOVUPS 576(DI), Z9
	VMOVUPS 640(DI), Z10
	VMOVUPS 704(DI), Z11
	VMOVUPS 768(DI), Z12
	VMOVUPS 832(DI), Z13
	VMOVUPS 896(DI), Z14
	VMOVUPS 960(DI), Z15
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
	VMOVUPS Z8, 512(DI)
	VMOVUPS Z9, 576(DI)
	VMOVUPS Z10, 640(DI)
	VMOVUPS Z11, 704(DI)
	VMOVUPS Z12, 768(DI)
	VMOVUPS Z13, 832(DI)
	VMOVUPS Z14, 896(DI)
	VMOVUPS Z15, 960(DI)
	VZEROUPPER
	RET

// func gemmQ6KVNNI(acc *float32, a *byte, w *byte, nb int, init int)
//
// As gemmQ4KVNNI: steps 0 and 2 of each group into Z8–Z15 (starting from
// −32·S16[g]), steps 1 and 3 into Z16–Z23.
TEXT ·gemmQ6KVNNI(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ nb+24(FP), CX
	INITA(q6init)
q6blk:
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	MOVQ SI, R11
	LEAQ 2080(SI), R12
	LEAQ 4096(DX), R10
	MOVQ $16, BX
q6grp:
	// Each group's sums start from −32·S16[g].
	VPBROADCASTD (R12), Z8
	VPBROADCASTD 64(R12), Z9
	VPBROADCASTD 128(R12), Z10
	VPBROADCASTD 192(R12), Z11
	VPBROADCASTD 256(R12), Z12
	VPBROADCASTD 320(R12), Z13
	VPBROADCASTD 384(R12), Z14
	VPBROADCASTD 448(R12), Z15
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	STEPE(0, 0)
	STEPO(64, 4)
	STEPE(128, 8)
	STEPO(192, 12)
	SCALE2
	ADDQ $256, DX
	ADDQ $16, SI
	ADDQ $4, R12
	ADDQ $64, R10
	DECQ BX
	JNZ  q6grp
	// DX: the tile's scales, SI: the rows' d_a.
	LEAQ 2048(R11), SI
	VMOVUPS 1024(DX), Z27
	FMAMEM8
	ADDQ $1088, DX
	ADDQ $2592, R11
	MOVQ R11, SI
	DECQ CX
	JNZ  q6blk
	VZEROUPPER
	RET

// QV: q of the 16 values at 4·off(SI), times iscale (Z18), to off(DI)
// (NaN and ±Inf products give 0, as int8(min(127, nearestInt(·))) does).
#define QV(off) \
	VMULPS (4*off)(SI), Z18, Z20; \
	VFPCLASSPSZ $0x99, Z20, K2; \
	KNOTW K2, K2; \
	VCVTPS2DQ.Z Z20, K2, Z20; \
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
// QuantizeQ8K (NaNs ignored); iscale·x rounded to nearest even by
// VCVTPS2DQ (nearestInt's value), then min 127; a NaN or infinite
// iscale·x (iscale overflows when the largest magnitude is below
// 127/MaxFloat32) gives 0, as in QuantizeQ8K. A
// super-block whose largest magnitude is 0 gets q = 0 and d = 0. The
// same q and d as QuantizeQ8K for every input, NaN and ±Inf included.
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
	// The largest magnitude, NaNs ignored (VMAXPS returns its second
	// source when either is NaN, and that is the running maximum).
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VANDPS 0(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 64(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
	VANDPS 128(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 192(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
	VANDPS 256(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 320(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
	VANDPS 384(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 448(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
	VANDPS 512(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 576(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
	VANDPS 640(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 704(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
	VANDPS 768(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 832(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
	VANDPS 896(SI), Z31, Z20
	VMAXPS Z16, Z20, Z16
	VANDPS 960(SI), Z31, Z20
	VMAXPS Z17, Z20, Z17
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
	JEQ  qkzero // 0 (or NaN: not reached)
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

// Repacking: chunk g (values 64g…64g+63) of one super-block of 16 rows of
// W (row r at AX = src + r·rb) into the 16 steps 16g…16g+15 of a tile:
// each row's 64 levels are unpacked into one Z register in value order
// (Z0–Z15, dword s = step 16g+s), then the 16×16 dwords are transposed so
// that step s holds the 16 rows' dwords s (Z16–Z31, then Z0–Z15), and
// stored at 64s(DI).

// Q4ROW: low nibbles of the 32 bytes at BX(AX), then the high ones.
#define Q4ROW(z) \
	VMOVDQU32 (AX)(BX*1), Y16; \
	VPSRLW $4, Y16, Y17; \
	VINSERTI64X4 $1, Y17, Z16, Z16; \
	VPANDD Z31, Z16, z; \
	ADDQ R9, AX

// Q5ROW: Q4ROW's nibbles with bit 2g (X30 = 2g) of qh as the fifth bit of
// the low ones, bit 2g+1 of the high ones.
#define Q5ROW(z) \
	VMOVDQU32 (AX)(BX*1), Y16; \
	VPSRLW $4, Y16, Y17; \
	VINSERTI64X4 $1, Y17, Z16, Z16; \
	VPANDD Z31, Z16, Z16; \
	VMOVDQU32 16(AX), Y18; \
	VPSRLW X30, Y18, Y18; \
	VPSRLW $1, Y18, Y19; \
	VINSERTI64X4 $1, Y19, Z18, Z18; \
	VPANDD Z29, Z18, Z18; \
	VPSLLW $4, Z18, Z18; \
	VPORD Z18, Z16, z; \
	ADDQ R9, AX

// Q6ROW: half n's 64 ql bytes at BX(AX) and 32 qh bytes at R10(AX); X30
// = 0 for the half's first 64 values, 4 for the next.
#define Q6ROW(z) \
	VMOVDQU64 (AX)(BX*1), Z16; \
	VPSRLW X30, Z16, Z16; \
	VPANDD Z31, Z16, Z16; \
	VMOVDQU32 (AX)(R10*1), Y17; \
	VPSRLW $2, Y17, Y18; \
	VINSERTI64X4 $1, Y18, Z17, Z17; \
	VPSRLW X30, Z17, Z17; \
	VPANDD Z28, Z17, Z17; \
	VPSLLW $4, Z17, Z17; \
	VPORD Z17, Z16, z; \
	ADDQ R9, AX

#define ROWS16(M) \
	M(Z0); M(Z1); M(Z2); M(Z3); M(Z4); M(Z5); M(Z6); M(Z7); \
	M(Z8); M(Z9); M(Z10); M(Z11); M(Z12); M(Z13); M(Z14); M(Z15)

// T1: rows a, b (dwords) interleaved into lo, hi.
#define T1(a, b, lo, hi) \
	VPUNPCKLDQ b, a, lo; \
	VPUNPCKHDQ b, a, hi

// T2: qwords of a, b interleaved into lo, hi.
#define T2(a, b, lo, hi) \
	VPUNPCKLQDQ b, a, lo; \
	VPUNPCKHQDQ b, a, hi

// T3: the 128-bit lanes of g0–g3 (rows 0–3, 4–7, 8–11, 12–15 of steps
// 4L+j in lane L) to the steps j, 4+j, 8+j, 12+j at off(DI).
#define T3(g0, g1, g2, g3, off) \
	VSHUFI32X4 $0x44, g1, g0, Z16; \
	VSHUFI32X4 $0xee, g1, g0, Z17; \
	VSHUFI32X4 $0x44, g3, g2, Z18; \
	VSHUFI32X4 $0xee, g3, g2, Z19; \
	VSHUFI32X4 $0x88, Z18, Z16, Z20; \
	VSHUFI32X4 $0xdd, Z18, Z16, Z21; \
	VSHUFI32X4 $0x88, Z19, Z17, Z22; \
	VSHUFI32X4 $0xdd, Z19, Z17, Z23; \
	VMOVDQU64 Z20, off(DI); \
	VMOVDQU64 Z21, off+256(DI); \
	VMOVDQU64 Z22, off+512(DI); \
	VMOVDQU64 Z23, off+768(DI)

// TRANSPOSE16: Z0–Z15 (dwords s of rows 0–15) to 64s(DI), lanes rows.
#define TRANSPOSE16 \
	T1(Z0, Z1, Z16, Z17); \
	T1(Z2, Z3, Z18, Z19); \
	T1(Z4, Z5, Z20, Z21); \
	T1(Z6, Z7, Z22, Z23); \
	T1(Z8, Z9, Z24, Z25); \
	T1(Z10, Z11, Z26, Z27); \
	T1(Z12, Z13, Z28, Z29); \
	T1(Z14, Z15, Z30, Z31); \
	T2(Z16, Z18, Z0, Z1); \
	T2(Z17, Z19, Z2, Z3); \
	T2(Z20, Z22, Z4, Z5); \
	T2(Z21, Z23, Z6, Z7); \
	T2(Z24, Z26, Z8, Z9); \
	T2(Z25, Z27, Z10, Z11); \
	T2(Z28, Z30, Z12, Z13); \
	T2(Z29, Z31, Z14, Z15); \
	T3(Z0, Z4, Z8, Z12, 0); \
	T3(Z1, Z5, Z9, Z13, 64); \
	T3(Z2, Z6, Z10, Z14, 128); \
	T3(Z3, Z7, Z11, Z15, 192)

// func repackChunkAVX512(kind int, dst *byte, src *byte, rb int, chunk int)
//
// kind 0: Q4_K, 1: Q5_K, 2: Q6_K; dst: the tile super-block's step 16g.
TEXT ·repackChunkAVX512(SB), NOSPLIT, $0-40
	MOVQ kind+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), AX
	MOVQ rb+24(FP), R9
	MOVQ chunk+32(FP), DX
	MOVL $0x0f0f0f0f, BX
	VPBROADCASTD BX, Z31
	CMPQ CX, $1
	JEQ  rpq5
	JGT  rpq6
	MOVQ DX, BX
	SHLQ $5, BX
	ADDQ $16, BX
	ROWS16(Q4ROW)
	JMP  rptrans
rpq5:
	MOVL $0x01010101, BX
	VPBROADCASTD BX, Z29
	MOVQ DX, BX
	SHLQ $1, BX
	VMOVQ BX, X30
	MOVQ DX, BX
	SHLQ $5, BX
	ADDQ $48, BX
	ROWS16(Q5ROW)
	JMP  rptrans
rpq6:
	MOVL $0x03030303, BX
	VPBROADCASTD BX, Z28
	MOVQ DX, BX
	ANDQ $1, BX
	SHLQ $2, BX
	VMOVQ BX, X30
	SHRQ $1, DX
	MOVQ DX, R10
	SHLQ $5, R10
	ADDQ $128, R10
	MOVQ DX, BX
	SHLQ $6, BX
	ROWS16(Q6ROW)
rptrans:
	TRANSPOSE16
	VZEROUPPER
	RET

// func repackScalesAVX512(signed int, dst *byte, rec *byte, dh *uint16, nd int)
//
// The 16 rows' scale records (16 bytes each at rec, sign-extended when
// signed is 1, zero-extended otherwise) transposed to 16 vectors of
// dwords at dst, lane r = row r (when signed is 0, records of 8 scales and
// 8 mins: the mins' 8 vectors then become 4 of int16 pairs, m[2t] low);
// then nd vectors of 16 f16 values at dh
// (16 each) widened to float32 after them.
TEXT ·repackScalesAVX512(SB), NOSPLIT, $0-40
	MOVQ signed+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ rec+16(FP), SI
	MOVQ dh+24(FP), DX
	MOVQ nd+32(FP), BX
	TESTQ CX, CX
	JNZ  rssigned
	VPMOVZXBD (SI), Z0
	VPMOVZXBD 16(SI), Z1
	VPMOVZXBD 32(SI), Z2
	VPMOVZXBD 48(SI), Z3
	VPMOVZXBD 64(SI), Z4
	VPMOVZXBD 80(SI), Z5
	VPMOVZXBD 96(SI), Z6
	VPMOVZXBD 112(SI), Z7
	VPMOVZXBD 128(SI), Z8
	VPMOVZXBD 144(SI), Z9
	VPMOVZXBD 160(SI), Z10
	VPMOVZXBD 176(SI), Z11
	VPMOVZXBD 192(SI), Z12
	VPMOVZXBD 208(SI), Z13
	VPMOVZXBD 224(SI), Z14
	VPMOVZXBD 240(SI), Z15
	JMP  rstrans
rssigned:
	VPMOVSXBD (SI), Z0
	VPMOVSXBD 16(SI), Z1
	VPMOVSXBD 32(SI), Z2
	VPMOVSXBD 48(SI), Z3
	VPMOVSXBD 64(SI), Z4
	VPMOVSXBD 80(SI), Z5
	VPMOVSXBD 96(SI), Z6
	VPMOVSXBD 112(SI), Z7
	VPMOVSXBD 128(SI), Z8
	VPMOVSXBD 144(SI), Z9
	VPMOVSXBD 160(SI), Z10
	VPMOVSXBD 176(SI), Z11
	VPMOVSXBD 192(SI), Z12
	VPMOVSXBD 208(SI), Z13
	VPMOVSXBD 224(SI), Z14
	VPMOVSXBD 240(SI), Z15
rstrans:
	TRANSPOSE16
	TESTQ CX, CX
	JNZ  rsq6
	// Q4_K, Q5_K: the mins of sub-blocks 2t and 2t+1 as int16 pairs.
	VMOVDQU64 512(DI), Z0
	VMOVDQU64 576(DI), Z1
	VMOVDQU64 640(DI), Z2
	VMOVDQU64 704(DI), Z3
	VMOVDQU64 768(DI), Z4
	VMOVDQU64 832(DI), Z5
	VMOVDQU64 896(DI), Z6
	VMOVDQU64 960(DI), Z7
	VPSLLD $16, Z1, Z1
	VPORD  Z1, Z0, Z0
	VPSLLD $16, Z3, Z3
	VPORD  Z3, Z2, Z2
	VPSLLD $16, Z5, Z5
	VPORD  Z5, Z4, Z4
	VPSLLD $16, Z7, Z7
	VPORD  Z7, Z6, Z6
	VMOVDQU64 Z0, 512(DI)
	VMOVDQU64 Z2, 576(DI)
	VMOVDQU64 Z4, 640(DI)
	VMOVDQU64 Z6, 704(DI)
	ADDQ $768, DI
	JMP  rsd
rsq6:
	ADDQ $1024, DI
rsd:
	VCVTPH2PS (DX), Z0
	VMOVUPS Z0, (DI)
	ADDQ $32, DX
	ADDQ $64, DI
	DECQ BX
	JNZ  rsd
	VZEROUPPER
	RET

// func kStoreAVX512(c *float32, ldc int, acc *float32, rows int, mask int, mins int, addc int, beta float32)
//
// For r < rows: the kernels' accumulators of row r (A at acc[16r:], M at
// acc[128+16r:] when mins is 1) to the columns of mask of c[r·ldc:]:
// A − M, then fma(beta, c, ·) when addc is 1.
TEXT ·kStoreAVX512(SB), NOSPLIT, $0-60
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ acc+16(FP), SI
	MOVQ rows+24(FP), CX
	MOVQ mask+32(FP), AX
	KMOVW AX, K1
	MOVQ mins+40(FP), DX
	MOVQ addc+48(FP), BX
	VBROADCASTSS beta+56(FP), Z2
ksrow:
	VMOVUPS (SI), Z0
	TESTQ DX, DX
	JZ    ksnomin
	VSUBPS 512(SI), Z0, Z0
ksnomin:
	TESTQ BX, BX
	JZ    ksstore
	VMOVUPS.Z (DI), K1, Z1
	VFMADD231PS Z1, Z2, Z0
ksstore:
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  ksrow
	VZEROUPPER
	RET
