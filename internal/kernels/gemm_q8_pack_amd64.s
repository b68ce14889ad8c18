//go:build amd64 && !purego

#include "textflag.h"

// Activation quantisation and W panel packing of the q8_0 GEMM
// (gemm_q8.go; AVX-512F/BW/DQ/VL).

// func q8QuantRowAVX512(dst *byte, x *float32, nb int)
// Quantises nb blocks of 32 float32 into the 40-byte activation blocks of
// gemm_q8.go: 32 int8 q, int32 −128·Σq, float32 d. amax is a tree of
// maxima (the same value as a sequential max for numbers), d = amax/127
// rounded to f16 (VCVTPS2PH, nearest even) and back, id = 127/amax,
// q = x·id rounded to nearest even (VCVTPS2DQ under Go's default MXCSR),
// 0 where that is not a number in range (0x80000000: amax 0, or id = +Inf,
// where d is 0).
TEXT ·q8QuantRowAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nb+16(FP), CX
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X30
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z29
	TESTQ CX, CX
	JZ    qdone
qloop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VPANDD Z31, Z0, Z2
	VPANDD Z31, Z1, Z3
	VMAXPS Z3, Z2, Z2
	VEXTRACTF32X8 $1, Z2, Y3
	VMAXPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VMAXPS X3, X2, X2
	VPERMILPS $0x4e, X2, X3
	VMAXPS X3, X2, X2
	VPERMILPS $0xb1, X2, X3
	VMAXPS X3, X2, X2
	VDIVSS X30, X2, X4 // d = amax/127
	VCVTPS2PH $0, X4, X4
	VCVTPH2PS X4, X4
	VMOVSS X4, 36(DI)
	VDIVSS X2, X30, X5 // id = 127/amax
	VBROADCASTSS X5, Z5
	VMULPS Z5, Z0, Z0
	VMULPS Z5, Z1, Z1
	VCVTPS2DQ Z0, Z0
	VCVTPS2DQ Z1, Z1
	VPCMPEQD Z29, Z0, K1
	VPCMPEQD Z29, Z1, K2
	VPXORD Z0, Z0, K1, Z0
	VPXORD Z1, Z1, K2, Z1
	VPMOVSDB Z0, (DI)
	VPMOVSDB Z1, 16(DI)
	VPADDD Z1, Z0, Z2
	VEXTRACTI64X4 $1, Z2, Y3
	VPADDD Y3, Y2, Y2
	VEXTRACTI128 $1, Y2, X3
	VPADDD X3, X2, X2
	VPSHUFD $0x4e, X2, X3
	VPADDD X3, X2, X2
	VPSHUFD $0xb1, X2, X3
	VPADDD X3, X2, X2
	VPSLLD $7, X2, X2
	VPXORD X3, X3, X3
	VPSUBD X2, X3, X2 // −128·Σq
	VMOVD X2, 32(DI)
	ADDQ $128, SI
	ADDQ $40, DI
	DECQ CX
	JNZ  qloop
qdone:
	VZEROUPPER
	RET

DATA q8lanes<>+0(SB)/8, $0x0000000100000000
DATA q8lanes<>+8(SB)/8, $0x0000000300000002
DATA q8lanes<>+16(SB)/8, $0x0000000500000004
DATA q8lanes<>+24(SB)/8, $0x0000000700000006
DATA q8lanes<>+32(SB)/8, $0x0000000900000008
DATA q8lanes<>+40(SB)/8, $0x0000000b0000000a
DATA q8lanes<>+48(SB)/8, $0x0000000d0000000c
DATA q8lanes<>+56(SB)/8, $0x0000000f0000000e
GLOBL q8lanes<>(SB), RODATA|NOPTR, $64

// Row addresses for Q8GROUP: row i of a group of 16 at base B (rows 0–7)
// or B2 = B + 8·rb (rows 8–15), with R8 = rb, R11 = 3·rb, R12 = 5·rb,
// R13 = 7·rb.

// Q8LOAD2 loads 32 bytes at lo and at hi into the halves of z.
#define Q8LOAD2(lo, hi, y, z) \
	VMOVDQU lo, y; \
	VINSERTI64X4 $1, hi, z, z

// Q8GROUP packs one block of the 16 rows at B, B2 to DI: eight vectors of
// bytes w+128 (vector t: dword t of each row's 32 q bytes, row l in lane
// l), then the 16 scales as float32. The rows are loaded two per register,
// (i, i+4) and (8+i, 12+i) for i < 4, and the 16×8 dwords transposed in
// three steps: dwords of row pairs interleaved (VPUNPCKxDQ), quadwords
// (VPUNPCKxQDQ), which leaves in each 128-bit lane one dword index for
// four consecutive rows, then the lanes gathered (VSHUFI32X4). It
// prefetches the rows 256 bytes ahead.
#define Q8GROUP(B, B2) \
	Q8LOAD2(2(B), 2(B)(R8*4), Y0, Z0); \
	Q8LOAD2(2(B)(R8*1), 2(B)(R12*1), Y1, Z1); \
	Q8LOAD2(2(B)(R8*2), 2(B)(R11*2), Y2, Z2); \
	Q8LOAD2(2(B)(R11*1), 2(B)(R13*1), Y3, Z3); \
	Q8LOAD2(2(B2), 2(B2)(R8*4), Y4, Z4); \
	Q8LOAD2(2(B2)(R8*1), 2(B2)(R12*1), Y5, Z5); \
	Q8LOAD2(2(B2)(R8*2), 2(B2)(R11*2), Y6, Z6); \
	Q8LOAD2(2(B2)(R11*1), 2(B2)(R13*1), Y7, Z7); \
	PREFETCHT0 256(B); \
	PREFETCHT0 256(B)(R8*1); \
	PREFETCHT0 256(B)(R8*2); \
	PREFETCHT0 256(B)(R11*1); \
	PREFETCHT0 256(B)(R8*4); \
	PREFETCHT0 256(B)(R12*1); \
	PREFETCHT0 256(B)(R11*2); \
	PREFETCHT0 256(B)(R13*1); \
	PREFETCHT0 256(B2); \
	PREFETCHT0 256(B2)(R8*1); \
	PREFETCHT0 256(B2)(R8*2); \
	PREFETCHT0 256(B2)(R11*1); \
	PREFETCHT0 256(B2)(R8*4); \
	PREFETCHT0 256(B2)(R12*1); \
	PREFETCHT0 256(B2)(R11*2); \
	PREFETCHT0 256(B2)(R13*1); \
	VPUNPCKLDQ Z1, Z0, Z8; \
	VPUNPCKHDQ Z1, Z0, Z9; \
	VPUNPCKLDQ Z3, Z2, Z10; \
	VPUNPCKHDQ Z3, Z2, Z11; \
	VPUNPCKLDQ Z5, Z4, Z12; \
	VPUNPCKHDQ Z5, Z4, Z13; \
	VPUNPCKLDQ Z7, Z6, Z14; \
	VPUNPCKHDQ Z7, Z6, Z15; \
	VPUNPCKLQDQ Z10, Z8, Z16; \
	VPUNPCKHQDQ Z10, Z8, Z17; \
	VPUNPCKLQDQ Z11, Z9, Z18; \
	VPUNPCKHQDQ Z11, Z9, Z19; \
	VPUNPCKLQDQ Z14, Z12, Z20; \
	VPUNPCKHQDQ Z14, Z12, Z21; \
	VPUNPCKLQDQ Z15, Z13, Z22; \
	VPUNPCKHQDQ Z15, Z13, Z23; \
	VSHUFI32X4 $0x88, Z20, Z16, Z0; \
	VSHUFI32X4 $0x88, Z21, Z17, Z1; \
	VSHUFI32X4 $0x88, Z22, Z18, Z2; \
	VSHUFI32X4 $0x88, Z23, Z19, Z3; \
	VSHUFI32X4 $0xdd, Z20, Z16, Z4; \
	VSHUFI32X4 $0xdd, Z21, Z17, Z5; \
	VSHUFI32X4 $0xdd, Z22, Z18, Z6; \
	VSHUFI32X4 $0xdd, Z23, Z19, Z7; \
	VPXORD Z29, Z0, Z0; \
	VPXORD Z29, Z1, Z1; \
	VPXORD Z29, Z2, Z2; \
	VPXORD Z29, Z3, Z3; \
	VPXORD Z29, Z4, Z4; \
	VPXORD Z29, Z5, Z5; \
	VPXORD Z29, Z6, Z6; \
	VPXORD Z29, Z7, Z7; \
	VMOVDQU32 Z0, (DI); \
	VMOVDQU32 Z1, 64(DI); \
	VMOVDQU32 Z2, 128(DI); \
	VMOVDQU32 Z3, 192(DI); \
	VMOVDQU32 Z4, 256(DI); \
	VMOVDQU32 Z5, 320(DI); \
	VMOVDQU32 Z6, 384(DI); \
	VMOVDQU32 Z7, 448(DI); \
	KXNORW K0, K0, K1; \
	VPGATHERDD (B)(Z30*1), K1, Z1; \
	VPMOVDW Z1, Y1; \
	VCVTPH2PS Y1, Z1; \
	VMOVUPS Z1, 512(DI)

// func q8PackGroupAVX512(dst *byte, w *byte, rb int, nb int, stride int)
// Packs nb blocks of 16 q8_0 rows (rb bytes apart) into the layout of
// q8TileVNNI, one 576-byte record per block, stride bytes apart: 8 vectors
// of 64 bytes (vector t: bytes 4t…4t+3 of each row's block, each plus
// 128) and the 16 scales as float32.
TEXT ·q8PackGroupAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), DX
	MOVQ rb+16(FP), R8
	MOVQ nb+24(FP), CX
	MOVQ stride+32(FP), R9
	VPBROADCASTD R8, Z30
	VPMULLD q8lanes<>(SB), Z30, Z30
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z29
	LEAQ (R8)(R8*2), R11
	LEAQ (R8)(R8*4), R12
	LEAQ (R11)(R8*4), R13
	MOVQ R8, R10
	SHLQ $3, R10 // 8 rows
	TESTQ CX, CX
	JZ    pdone
ploop:
	LEAQ (DX)(R10*1), R14
	Q8GROUP(DX, R14)
	ADDQ R9, DI
	ADDQ $34, DX
	DECQ CX
	JNZ  ploop
pdone:
	VZEROUPPER
	RET
