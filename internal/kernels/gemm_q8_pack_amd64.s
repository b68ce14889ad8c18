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

// Q8GATHER gathers dword off of the 16 rows (base SI, offsets Z30) in the
// rows of mask AX into Z1, zero elsewhere.
#define Q8GATHER(off) \
	VPXORD Z1, Z1, Z1; \
	KMOVW AX, K1; \
	VPGATHERDD off(SI)(Z30*1), K1, Z1

// Q8GROUP packs one block of a group of 16 rows (at SI, the rows in mask AX)
// to DI: eight vectors of bytes w+128, then 16 float32 scales.
#define Q8GROUP \
	Q8GATHER(2); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, (DI); \
	Q8GATHER(6); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, 64(DI); \
	Q8GATHER(10); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, 128(DI); \
	Q8GATHER(14); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, 192(DI); \
	Q8GATHER(18); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, 256(DI); \
	Q8GATHER(22); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, 320(DI); \
	Q8GATHER(26); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, 384(DI); \
	Q8GATHER(30); \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, 448(DI); \
	Q8GATHER(0); \
	VPMOVDW Z1, Y1; \
	VCVTPH2PS Y1, Z1; \
	VMOVUPS Z1, 512(DI)

// func q8PackPanelAVX512(dst *byte, w *byte, rb int, mask int, nb int)
// Packs nb blocks of a panel of 32 q8_0 rows (rb bytes apart; the low 16
// bits of mask the rows present of the first 16, the next 16 bits those
// of the second) into the layout of q8TileVNNI: per block, per group of
// 16 rows, 8 vectors of 64 bytes (vector t: bytes 4t…4t+3 of each row's
// block, each plus 128) and the 16 scales as float32. Missing rows are
// packed as zeros (bytes 128, scale 0).
TEXT ·q8PackPanelAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), DX
	MOVQ rb+16(FP), R8
	MOVQ mask+24(FP), R9
	MOVQ nb+32(FP), CX
	VPBROADCASTD R8, Z30
	VPMULLD q8lanes<>(SB), Z30, Z30
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z29
	MOVQ R8, R10
	SHLQ $4, R10 // 16 rows
	TESTQ CX, CX
	JZ    pdone
ploop:
	MOVQ DX, SI
	MOVQ R9, AX
	ANDQ $0xffff, AX
	Q8GROUP
	ADDQ $576, DI
	LEAQ (DX)(R10*1), SI
	MOVQ R9, AX
	SHRQ $16, AX
	Q8GROUP
	ADDQ $576, DI
	ADDQ $34, DX
	DECQ CX
	JNZ  ploop
pdone:
	VZEROUPPER
	RET
