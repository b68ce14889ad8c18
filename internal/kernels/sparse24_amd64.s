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
