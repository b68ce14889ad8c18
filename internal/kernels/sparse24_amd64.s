//go:build amd64 && !purego

#include "textflag.h"
#include "hsum_amd64.h"

// The 2:4 sparse dot products of MatMul24 (sparse24.go; arXiv 2104.08378)
// on AVX-512F. Per quad of W's rows and chunk of 32 inputs, the inputs sit
// in Z0 (0…15) and Z1 (16…31); each row's 16 column indices are byte r of
// the quad's index vector (a shift brings them down; VPERMI2PS reads the low
// 5 bits), VPERMI2PS picks the matching inputs and one FMA adds the 16
// products to the row's accumulator. The index vector is loaded once per
// chunk (shifted in registers): 7 vector loads per 4 rows and 32 inputs,
// where the dense dot products (dotRowsAVX512) make 10.

// BODY24 adds one chunk of the quad (values at BX, indices at CX) to Z4–Z7.
#define BODY24 \
	VMOVDQU32 (CX), Z8; \
	VPSRLD $8, Z8, Z9; \
	VPSRLD $16, Z8, Z10; \
	VPSRLD $24, Z8, Z11; \
	VPERMI2PS Z1, Z0, Z8; \
	VPERMI2PS Z1, Z0, Z9; \
	VPERMI2PS Z1, Z0, Z10; \
	VPERMI2PS Z1, Z0, Z11; \
	VFMADD231PS (BX), Z8, Z4; \
	VFMADD231PS 64(BX), Z9, Z5; \
	VFMADD231PS 128(BX), Z10, Z6; \
	VFMADD231PS 192(BX), Z11, Z7

// func dot24AVX512(y *float32, ldy int, x *float32, ldx int, m int, vals *float32, idx *uint32, nq, kc int, mask int)
// For quads q < nq of the packed rows (vals, idx at quad 0) and rows
// i < m of x: y[i·ldy + 4q + r] = Σ over the kc chunks of row 4q+r's
// products, lane by lane, then HSUM. The last chunk's inputs are loaded
// under mask (bit l: input l of the chunk exists).
TEXT ·dot24AVX512(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R8
	SHLQ $2, R8
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R13
	SHLQ $2, R13
	MOVQ vals+40(FP), DX
	MOVQ idx+48(FP), R10
	MOVQ nq+56(FP), R11
	MOVQ mask+72(FP), AX
	KMOVW AX, K1            // inputs 0…15 of the last chunk
	SHRQ $16, AX
	KMOVW AX, K2            // inputs 16…31
quad:
	TESTQ R11, R11
	JZ    done
	MOVQ  SI, AX            // row i of x
	MOVQ  DI, R15           // row i of y
	MOVQ  m+32(FP), R9
row:
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ   DX, BX
	MOVQ   R10, CX
	MOVQ   AX, R12
	MOVQ   kc+64(FP), R14
	DECQ   R14
chunk:
	TESTQ R14, R14
	JZ    last
	VMOVUPS (R12), Z0
	VMOVUPS 64(R12), Z1
	BODY24
	ADDQ $128, R12
	ADDQ $256, BX
	ADDQ $64, CX
	DECQ R14
	JMP  chunk
last:
	VMOVUPS.Z (R12), K1, Z0
	VMOVUPS.Z 64(R12), K2, Z1
	BODY24
	HSUM(Z4, Y4)
	VMOVSS X0, 0(R15)
	HSUM(Z5, Y5)
	VMOVSS X0, 4(R15)
	HSUM(Z6, Y6)
	VMOVSS X0, 8(R15)
	HSUM(Z7, Y7)
	VMOVSS X0, 12(R15)
	ADDQ R13, AX
	ADDQ R8, R15
	DECQ R9
	JNZ  row
	MOVQ kc+64(FP), R14
	SHLQ $8, R14            // a quad's values: kc·256 bytes
	ADDQ R14, DX
	SHRQ $2, R14            // its indices: kc·64 bytes
	ADDQ R14, R10
	ADDQ $16, DI
	DECQ R11
	JMP  quad
done:
	VZEROUPPER
	RET

// UNPACK24HALF writes 16 dense columns of one row: value lanes e0/e1 (the
// first and second value of each group, as dword indices) are spread to
// the group's 4 lanes; the value whose column (Z9, permuted alike) equals
// the lane's column d is kept, the others are zero.
#define UNPACK24HALF(vals, e0, e1, d, dst, k) \
	VPERMD    Z9, e0, Z10; \
	VPCMPEQD  d, Z10, K3; \
	VPERMD    Z9, e1, Z11; \
	VPCMPEQD  d, Z11, K4; \
	VPERMPS   vals, e0, Z12; \
	VPERMPS   vals, e1, Z13; \
	VMOVAPS.Z Z12, K3, Z14; \
	VMOVAPS   Z13, K4, Z14; \
	VMOVUPS   Z14, k, dst

// UNPACK24ROW writes row r's 32 columns of the chunk (indices in Z8,
// shifted right by sh bits for row r; values at voff(BX)) at dst.
#define UNPACK24ROW(sh, voff, dst, dsthi) \
	VPSRLD $sh, Z8, Z9; \
	VPANDD Z26, Z9, Z9; \
	UNPACK24HALF(voff(BX), Z20, Z21, Z24, dst, K1); \
	UNPACK24HALF(voff(BX), Z22, Z23, Z25, dsthi, K2)

// func unpack24AVX512(dst *float32, ldd int, vals *float32, idx *uint32, nq, kc int, mask int)
// Writes the nq quads (4 rows each, all real) of the packed matrix as dense
// rows of kc·32 columns at dst (row stride ldd), the last chunk's columns
// under mask (bit l: column l of the chunk exists). Every column < K is
// written (zeros included).
TEXT ·unpack24AVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9     // 3·ldd bytes
	MOVQ vals+16(FP), BX
	MOVQ idx+24(FP), DX
	MOVQ nq+32(FP), R10
	MOVQ mask+48(FP), R13
	VMOVDQU32 s24lanes<>(SB), Z24 // d: 0…15
	MOVL $16, AX
	VPBROADCASTD AX, Z27
	VPADDD Z27, Z24, Z25     // 16…31
	VPSRLD $1, Z24, Z20
	MOVL $-2, AX
	VPBROADCASTD AX, Z27
	VPANDD Z27, Z20, Z20     // e0: 0,0,0,0,2,2,2,2,…,6
	MOVL $1, AX
	VPBROADCASTD AX, Z27
	VPADDD Z27, Z20, Z21     // e1: 1,1,1,1,3,…,7
	MOVL $8, AX
	VPBROADCASTD AX, Z27
	VPADDD Z27, Z20, Z22     // e0 + 8
	VPADDD Z27, Z21, Z23     // e1 + 8
	MOVL $31, AX
	VPBROADCASTD AX, Z26
uquad:
	TESTQ R10, R10
	JZ    udone
	MOVQ  DI, R12           // row 4q, chunk 0
	MOVQ  kc+40(FP), CX
uchunk:
	MOVL  $0xffff, AX
	KMOVW AX, K1
	KMOVW AX, K2
	CMPQ  CX, $1
	JNE   ufull
	MOVQ  R13, AX
	KMOVW AX, K1
	SHRQ  $16, AX
	KMOVW AX, K2
ufull:
	VMOVDQU32 (DX), Z8
	UNPACK24ROW(0, 0, (R12), 64(R12))
	UNPACK24ROW(8, 64, (R12)(R8*1), 64(R12)(R8*1))
	UNPACK24ROW(16, 128, (R12)(R8*2), 64(R12)(R8*2))
	UNPACK24ROW(24, 192, (R12)(R9*1), 64(R12)(R9*1))
	ADDQ $256, BX
	ADDQ $64, DX
	ADDQ $128, R12
	DECQ CX
	JNZ  uchunk
	LEAQ (DI)(R8*4), DI
	DECQ R10
	JMP  uquad
udone:
	VZEROUPPER
	RET

DATA s24lanes<>+0(SB)/8, $0x0000000100000000
DATA s24lanes<>+8(SB)/8, $0x0000000300000002
DATA s24lanes<>+16(SB)/8, $0x0000000500000004
DATA s24lanes<>+24(SB)/8, $0x0000000700000006
DATA s24lanes<>+32(SB)/8, $0x0000000900000008
DATA s24lanes<>+40(SB)/8, $0x0000000b0000000a
DATA s24lanes<>+48(SB)/8, $0x0000000d0000000c
DATA s24lanes<>+56(SB)/8, $0x0000000f0000000e
GLOBL s24lanes<>(SB), RODATA|NOPTR, $64
