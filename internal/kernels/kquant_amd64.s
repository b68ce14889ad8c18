//go:build amd64 && !purego

#include "textflag.h"
#include "hsum_amd64.h"

// k-quant products on Q8_K activations (kquant.go gives the formats and the
// order of operations, which these kernels follow bit for bit). AVX-512
// with VNNI and BW.
//
// Per super-block the weight levels of each 64-value chunk are unpacked
// into one Z register in value order, multiplied with the activations' q
// by VPDPBUSD (levels unsigned, q signed: 16 lanes of 4 products), scaled
// per lane by the sub-block's (Q4_K) or group's (Q6_K) scale with VPMULLD
// and summed in Z10; Z10 goes to float32 and into the accumulator Z8 with
// one fma by d·d_a. Q4_K's mins go into Y9 (8 lanes) by dmin·d_a. Rows of W
// are contiguous (rb = nb·block bytes), so DX runs through them; each
// super-block prefetches into L2 the same bytes of the next row.
//
// dotQ5KVNNI is dotQ4KVNNI with each chunk's fifth bits from qh (Z11:
// qh, and qh>>1 in the upper half), Z30 bytes 0x10.
//
// Registers: DI c, DX the weights, R11 rows left, CX super-blocks left, SI
// the activations' q, R8 their scales, R9 their sums, AX BX R10 R12 R13
// scratch; Z0 the scales as dwords, Z3 d·d_a, Z8 Y9 the accumulators, Z10
// the integer sums, Z24–Z27 the scale indices of the four chunks, Z31
// bytes 0x0f, Z30 bytes 0x30, X29 beta.


DATA q4kidx<>+0(SB)/4, $0
DATA q4kidx<>+4(SB)/4, $0
DATA q4kidx<>+8(SB)/4, $0
DATA q4kidx<>+12(SB)/4, $0
DATA q4kidx<>+16(SB)/4, $0
DATA q4kidx<>+20(SB)/4, $0
DATA q4kidx<>+24(SB)/4, $0
DATA q4kidx<>+28(SB)/4, $0
DATA q4kidx<>+32(SB)/4, $1
DATA q4kidx<>+36(SB)/4, $1
DATA q4kidx<>+40(SB)/4, $1
DATA q4kidx<>+44(SB)/4, $1
DATA q4kidx<>+48(SB)/4, $1
DATA q4kidx<>+52(SB)/4, $1
DATA q4kidx<>+56(SB)/4, $1
DATA q4kidx<>+60(SB)/4, $1
DATA q4kidx<>+64(SB)/4, $2
DATA q4kidx<>+68(SB)/4, $2
DATA q4kidx<>+72(SB)/4, $2
DATA q4kidx<>+76(SB)/4, $2
DATA q4kidx<>+80(SB)/4, $2
DATA q4kidx<>+84(SB)/4, $2
DATA q4kidx<>+88(SB)/4, $2
DATA q4kidx<>+92(SB)/4, $2
DATA q4kidx<>+96(SB)/4, $3
DATA q4kidx<>+100(SB)/4, $3
DATA q4kidx<>+104(SB)/4, $3
DATA q4kidx<>+108(SB)/4, $3
DATA q4kidx<>+112(SB)/4, $3
DATA q4kidx<>+116(SB)/4, $3
DATA q4kidx<>+120(SB)/4, $3
DATA q4kidx<>+124(SB)/4, $3
DATA q4kidx<>+128(SB)/4, $4
DATA q4kidx<>+132(SB)/4, $4
DATA q4kidx<>+136(SB)/4, $4
DATA q4kidx<>+140(SB)/4, $4
DATA q4kidx<>+144(SB)/4, $4
DATA q4kidx<>+148(SB)/4, $4
DATA q4kidx<>+152(SB)/4, $4
DATA q4kidx<>+156(SB)/4, $4
DATA q4kidx<>+160(SB)/4, $5
DATA q4kidx<>+164(SB)/4, $5
DATA q4kidx<>+168(SB)/4, $5
DATA q4kidx<>+172(SB)/4, $5
DATA q4kidx<>+176(SB)/4, $5
DATA q4kidx<>+180(SB)/4, $5
DATA q4kidx<>+184(SB)/4, $5
DATA q4kidx<>+188(SB)/4, $5
DATA q4kidx<>+192(SB)/4, $6
DATA q4kidx<>+196(SB)/4, $6
DATA q4kidx<>+200(SB)/4, $6
DATA q4kidx<>+204(SB)/4, $6
DATA q4kidx<>+208(SB)/4, $6
DATA q4kidx<>+212(SB)/4, $6
DATA q4kidx<>+216(SB)/4, $6
DATA q4kidx<>+220(SB)/4, $6
DATA q4kidx<>+224(SB)/4, $7
DATA q4kidx<>+228(SB)/4, $7
DATA q4kidx<>+232(SB)/4, $7
DATA q4kidx<>+236(SB)/4, $7
DATA q4kidx<>+240(SB)/4, $7
DATA q4kidx<>+244(SB)/4, $7
DATA q4kidx<>+248(SB)/4, $7
DATA q4kidx<>+252(SB)/4, $7
GLOBL q4kidx<>(SB), RODATA|NOPTR, $256

// Q4CHUNK adds chunk c (nibble group at byte off of the block, activations
// at aoff, scale indices idx) into Z10.
#define Q4CHUNK(off, aoff, idx) \
	VMOVDQU off(DX), Y4; \
	VPSRLW $4, Y4, Y5; \
	VINSERTI64X4 $1, Y5, Z4, Z4; \
	VPANDD Z31, Z4, Z4; \
	VPERMD Z0, idx, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPDPBUSD aoff(SI), Z4, Z7; \
	VPMULLD Z6, Z7, Z7; \
	VPADDD Z7, Z10, Z10

// func dotQ4KVNNI(c *float32, q *int8, d *float32, s32 *int32, w *byte, rb, n, nb int, beta float32)
TEXT ·dotQ4KVNNI(SB), NOSPLIT, $0-68
	MOVQ c+0(FP), DI
	MOVQ w+32(FP), DX
	MOVQ n+48(FP), R11
	VMOVSS beta+64(FP), X29
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	VMOVDQU64 q4kidx<>+0(SB), Z24
	VMOVDQU64 q4kidx<>+64(SB), Z25
	VMOVDQU64 q4kidx<>+128(SB), Z26
	VMOVDQU64 q4kidx<>+192(SB), Z27
q4row:
	TESTQ R11, R11
	JLE   q4done
	VPXORD Z8, Z8, Z8
	VPXORD Y9, Y9, Y9
	MOVQ q+8(FP), SI
	MOVQ d+16(FP), R8
	MOVQ s32+24(FP), R9
	MOVQ nb+56(FP), CX
q4blk:
	MOVQ rb+40(FP), BX
	PREFETCHT1 (DX)(BX*1)
	PREFETCHT1 64(DX)(BX*1)
	PREFETCHT1 128(DX)(BX*1)
	// Scales and mins (get_scale_min_k4 on 32-bit words, as ggml's x86
	// kernels unpack them): AX scales 0–7, R12 mins 0–7, one per byte.
	MOVL 4(DX), AX
	MOVL 8(DX), R12
	MOVL 12(DX), R13
	MOVL R13, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL R12, BX
	SHRL $6, BX
	ANDL $0x03030303, BX
	SHLL $4, BX
	ORL  BX, R10
	ANDL $0x3f3f3f3f, R12
	ANDL $0x0f0f0f0f, R13
	MOVL AX, BX
	SHRL $6, BX
	ANDL $0x03030303, BX
	SHLL $4, BX
	ORL  BX, R13
	ANDL $0x3f3f3f3f, AX
	SHLQ $32, R13
	ORQ  R13, AX
	SHLQ $32, R10
	ORQ  R10, R12
	VMOVQ AX, X0
	VPMOVZXBD X0, Y0
	VMOVQ R12, X1
	VPMOVZXBD X1, Y1
	// Mins: Y9 += (dmin·d_a)·float32(m·S32).
	VPMULLD (R9), Y1, Y1
	VCVTDQ2PS Y1, Y1
	MOVWLZX 2(DX), BX
	VMOVD BX, X2
	VCVTPH2PS X2, X2
	VMULSS (R8), X2, X2
	VBROADCASTSS X2, Y2
	VFMADD231PS Y1, Y2, Y9
	// d·d_a
	MOVWLZX (DX), BX
	VMOVD BX, X3
	VCVTPH2PS X3, X3
	VMULSS (R8), X3, X3
	VBROADCASTSS X3, Z3
	VPXORD Z10, Z10, Z10
	Q4CHUNK(16, 0, Z24)
	Q4CHUNK(48, 64, Z25)
	Q4CHUNK(80, 128, Z26)
	Q4CHUNK(112, 192, Z27)
	VCVTDQ2PS Z10, Z10
	VFMADD231PS Z10, Z3, Z8
	ADDQ $144, DX
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  q4blk
	HSUM(Z8, Y8)
	VEXTRACTF128 $1, Y9, X1
	VADDPS X1, X9, X2
	VMOVHLPS X2, X2, X1
	VADDPS X1, X2, X2
	VMOVSHDUP X2, X1
	VADDSS X1, X2, X2
	VSUBSS X2, X0, X0
	MOVL beta+64(FP), AX
	ANDL $0x7fffffff, AX
	JZ   q4store
	VFMADD231SS (DI), X29, X0
q4store:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	DECQ R11
	JMP  q4row
q4done:
	VZEROUPPER
	RET

// Q5CHUNK is Q4CHUNK with the fifth bits: bit 4 of Z12's bytes (qh, and
// qh>>1 in the upper half, shifted for the chunk).
#define Q5CHUNK(off, aoff, idx) \
	VMOVDQU off(DX), Y4; \
	VPSRLW $4, Y4, Y5; \
	VINSERTI64X4 $1, Y5, Z4, Z4; \
	VPANDD Z31, Z4, Z4; \
	VPANDD Z30, Z12, Z12; \
	VPORD Z12, Z4, Z4; \
	VPERMD Z0, idx, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPDPBUSD aoff(SI), Z4, Z7; \
	VPMULLD Z6, Z7, Z7; \
	VPADDD Z7, Z10, Z10

// func dotQ5KVNNI(c *float32, q *int8, d *float32, s32 *int32, w *byte, rb, n, nb int, beta float32)
TEXT ·dotQ5KVNNI(SB), NOSPLIT, $0-68
	MOVQ c+0(FP), DI
	MOVQ w+32(FP), DX
	MOVQ n+48(FP), R11
	VMOVSS beta+64(FP), X29
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	MOVL $0x10101010, AX
	VPBROADCASTD AX, Z30
	VMOVDQU64 q4kidx<>+0(SB), Z24
	VMOVDQU64 q4kidx<>+64(SB), Z25
	VMOVDQU64 q4kidx<>+128(SB), Z26
	VMOVDQU64 q4kidx<>+192(SB), Z27
q5row:
	TESTQ R11, R11
	JLE   q5done
	VPXORD Z8, Z8, Z8
	VPXORD Y9, Y9, Y9
	MOVQ q+8(FP), SI
	MOVQ d+16(FP), R8
	MOVQ s32+24(FP), R9
	MOVQ nb+56(FP), CX
q5blk:
	MOVQ rb+40(FP), BX
	PREFETCHT1 (DX)(BX*1)
	PREFETCHT1 64(DX)(BX*1)
	PREFETCHT1 128(DX)(BX*1)
	// Scales and mins (get_scale_min_k4 on 32-bit words, as ggml's x86
	// kernels unpack them): AX scales 0–7, R12 mins 0–7, one per byte.
	MOVL 4(DX), AX
	MOVL 8(DX), R12
	MOVL 12(DX), R13
	MOVL R13, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL R12, BX
	SHRL $6, BX
	ANDL $0x03030303, BX
	SHLL $4, BX
	ORL  BX, R10
	ANDL $0x3f3f3f3f, R12
	ANDL $0x0f0f0f0f, R13
	MOVL AX, BX
	SHRL $6, BX
	ANDL $0x03030303, BX
	SHLL $4, BX
	ORL  BX, R13
	ANDL $0x3f3f3f3f, AX
	SHLQ $32, R13
	ORQ  R13, AX
	SHLQ $32, R10
	ORQ  R10, R12
	VMOVQ AX, X0
	VPMOVZXBD X0, Y0
	VMOVQ R12, X1
	VPMOVZXBD X1, Y1
	// Mins: Y9 += (dmin·d_a)·float32(m·S32).
	VPMULLD (R9), Y1, Y1
	VCVTDQ2PS Y1, Y1
	MOVWLZX 2(DX), BX
	VMOVD BX, X2
	VCVTPH2PS X2, X2
	VMULSS (R8), X2, X2
	VBROADCASTSS X2, Y2
	VFMADD231PS Y1, Y2, Y9
	// d·d_a
	MOVWLZX (DX), BX
	VMOVD BX, X3
	VCVTPH2PS X3, X3
	VMULSS (R8), X3, X3
	VBROADCASTSS X3, Z3
	VPXORD Z10, Z10, Z10
	VMOVDQU 16(DX), Y11
	VPSRLW $1, Y11, Y12
	VINSERTI64X4 $1, Y12, Z11, Z11
	VPSLLW $4, Z11, Z12
	Q5CHUNK(48, 0, Z24)
	VPSLLW $2, Z11, Z12
	Q5CHUNK(80, 64, Z25)
	VMOVDQA64 Z11, Z12
	Q5CHUNK(112, 128, Z26)
	VPSRLW $2, Z11, Z12
	Q5CHUNK(144, 192, Z27)
	VCVTDQ2PS Z10, Z10
	VFMADD231PS Z10, Z3, Z8
	ADDQ $176, DX
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  q5blk
	HSUM(Z8, Y8)
	VEXTRACTF128 $1, Y9, X1
	VADDPS X1, X9, X2
	VMOVHLPS X2, X2, X1
	VADDPS X1, X2, X2
	VMOVSHDUP X2, X1
	VADDSS X1, X2, X2
	VSUBSS X2, X0, X0
	MOVL beta+64(FP), AX
	ANDL $0x7fffffff, AX
	JZ   q5store
	VFMADD231SS (DI), X29, X0
q5store:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	DECQ R11
	JMP  q5row
q5done:
	VZEROUPPER
	RET

// Q6CHUNKLO and Q6CHUNKHI add the chunk of the low (high) nibbles of ql in
// Z13, high bits from Z11 (qh, and qh>>2 in the upper half), into Z10.
#define Q6CHUNKLO(aoff, idx) \
	VPANDD Z31, Z13, Z4; \
	VPSLLW $4, Z11, Z5; \
	VPANDD Z30, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPERMD Z0, idx, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPDPBUSD aoff(SI), Z4, Z7; \
	VPMULLD Z6, Z7, Z7; \
	VPADDD Z7, Z10, Z10

#define Q6CHUNKHI(aoff, idx) \
	VPSRLW $4, Z13, Z4; \
	VPANDD Z31, Z4, Z4; \
	VPANDD Z30, Z11, Z5; \
	VPORD Z5, Z4, Z4; \
	VPERMD Z0, idx, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPDPBUSD aoff(SI), Z4, Z7; \
	VPMULLD Z6, Z7, Z7; \
	VPADDD Z7, Z10, Z10

// func dotQ6KVNNI(c *float32, q *int8, d *float32, s16 *int32, w *byte, rb, n, nb int, beta float32)
TEXT ·dotQ6KVNNI(SB), NOSPLIT, $0-68
	MOVQ c+0(FP), DI
	MOVQ w+32(FP), DX
	MOVQ n+48(FP), R11
	VMOVSS beta+64(FP), X29
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	MOVL $0x30303030, AX
	VPBROADCASTD AX, Z30
	VMOVDQU64 q6kidx<>+0(SB), Z24
	VMOVDQU64 q6kidx<>+64(SB), Z25
	VMOVDQU64 q6kidx<>+128(SB), Z26
	VMOVDQU64 q6kidx<>+192(SB), Z27
q6row:
	TESTQ R11, R11
	JLE   q6done
	VPXORD Z8, Z8, Z8
	MOVQ q+8(FP), SI
	MOVQ d+16(FP), R8
	MOVQ s16+24(FP), R9
	MOVQ nb+56(FP), CX
q6blk:
	MOVQ rb+40(FP), BX
	PREFETCHT1 (DX)(BX*1)
	PREFETCHT1 64(DX)(BX*1)
	PREFETCHT1 128(DX)(BX*1)
	PREFETCHT1 192(DX)(BX*1)
	VPMOVSXBD 192(DX), Z0
	// Z10 = −32·sc·S16, then the four chunks.
	VPMULLD (R9), Z0, Z1
	VPSLLD $5, Z1, Z1
	VPXORD Z10, Z10, Z10
	VPSUBD Z1, Z10, Z10
	MOVWLZX 208(DX), BX
	VMOVD BX, X3
	VCVTPH2PS X3, X3
	VMULSS (R8), X3, X3
	VBROADCASTSS X3, Z3
	VMOVDQU 128(DX), Y11
	VPSRLW $2, Y11, Y12
	VINSERTI64X4 $1, Y12, Z11, Z11
	VMOVDQU64 (DX), Z13
	Q6CHUNKLO(0, Z24)
	Q6CHUNKHI(64, Z25)
	VMOVDQU 160(DX), Y11
	VPSRLW $2, Y11, Y12
	VINSERTI64X4 $1, Y12, Z11, Z11
	VMOVDQU64 64(DX), Z13
	Q6CHUNKLO(128, Z26)
	Q6CHUNKHI(192, Z27)
	VCVTDQ2PS Z10, Z10
	VFMADD231PS Z10, Z3, Z8
	ADDQ $210, DX
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $64, R9
	DECQ CX
	JNZ  q6blk
	HSUM(Z8, Y8)
	MOVL beta+64(FP), AX
	ANDL $0x7fffffff, AX
	JZ   q6store
	VFMADD231SS (DI), X29, X0
q6store:
	VMOVSS X0, (DI)
	ADDQ $4, DI
	DECQ R11
	JMP  q6row
q6done:
	VZEROUPPER
	RET

DATA q6kidx<>+0(SB)/4, $0
DATA q6kidx<>+4(SB)/4, $0
DATA q6kidx<>+8(SB)/4, $0
DATA q6kidx<>+12(SB)/4, $0
DATA q6kidx<>+16(SB)/4, $1
DATA q6kidx<>+20(SB)/4, $1
DATA q6kidx<>+24(SB)/4, $1
DATA q6kidx<>+28(SB)/4, $1
DATA q6kidx<>+32(SB)/4, $2
DATA q6kidx<>+36(SB)/4, $2
DATA q6kidx<>+40(SB)/4, $2
DATA q6kidx<>+44(SB)/4, $2
DATA q6kidx<>+48(SB)/4, $3
DATA q6kidx<>+52(SB)/4, $3
DATA q6kidx<>+56(SB)/4, $3
DATA q6kidx<>+60(SB)/4, $3
DATA q6kidx<>+64(SB)/4, $4
DATA q6kidx<>+68(SB)/4, $4
DATA q6kidx<>+72(SB)/4, $4
DATA q6kidx<>+76(SB)/4, $4
DATA q6kidx<>+80(SB)/4, $5
DATA q6kidx<>+84(SB)/4, $5
DATA q6kidx<>+88(SB)/4, $5
DATA q6kidx<>+92(SB)/4, $5
DATA q6kidx<>+96(SB)/4, $6
DATA q6kidx<>+100(SB)/4, $6
DATA q6kidx<>+104(SB)/4, $6
DATA q6kidx<>+108(SB)/4, $6
DATA q6kidx<>+112(SB)/4, $7
DATA q6kidx<>+116(SB)/4, $7
DATA q6kidx<>+120(SB)/4, $7
DATA q6kidx<>+124(SB)/4, $7
DATA q6kidx<>+128(SB)/4, $8
DATA q6kidx<>+132(SB)/4, $8
DATA q6kidx<>+136(SB)/4, $8
DATA q6kidx<>+140(SB)/4, $8
DATA q6kidx<>+144(SB)/4, $9
DATA q6kidx<>+148(SB)/4, $9
DATA q6kidx<>+152(SB)/4, $9
DATA q6kidx<>+156(SB)/4, $9
DATA q6kidx<>+160(SB)/4, $10
DATA q6kidx<>+164(SB)/4, $10
DATA q6kidx<>+168(SB)/4, $10
DATA q6kidx<>+172(SB)/4, $10
DATA q6kidx<>+176(SB)/4, $11
DATA q6kidx<>+180(SB)/4, $11
DATA q6kidx<>+184(SB)/4, $11
DATA q6kidx<>+188(SB)/4, $11
DATA q6kidx<>+192(SB)/4, $12
DATA q6kidx<>+196(SB)/4, $12
DATA q6kidx<>+200(SB)/4, $12
DATA q6kidx<>+204(SB)/4, $12
DATA q6kidx<>+208(SB)/4, $13
DATA q6kidx<>+212(SB)/4, $13
DATA q6kidx<>+216(SB)/4, $13
DATA q6kidx<>+220(SB)/4, $13
DATA q6kidx<>+224(SB)/4, $14
DATA q6kidx<>+228(SB)/4, $14
DATA q6kidx<>+232(SB)/4, $14
DATA q6kidx<>+236(SB)/4, $14
DATA q6kidx<>+240(SB)/4, $15
DATA q6kidx<>+244(SB)/4, $15
DATA q6kidx<>+248(SB)/4, $15
DATA q6kidx<>+252(SB)/4, $15
GLOBL q6kidx<>(SB), RODATA|NOPTR, $256
