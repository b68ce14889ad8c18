//go:build amd64 && !purego

#include "textflag.h"

// func adamAVX512(w, gr, m, v *float32, n int, p *AdamParams)
// For each i, with d = g + wd·w:
//   w ← w·decay; m ← m·b1 + d·c1; v ← v·b2 + d²·c2;
//   w ← w − step·m/(√v/bc2 + eps)
TEXT ·adamAVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ p+40(FP), AX
	VBROADCASTSS 0(AX), Z20  // b1
	VBROADCASTSS 4(AX), Z21  // c1 = 1−b1
	VBROADCASTSS 8(AX), Z22  // b2
	VBROADCASTSS 12(AX), Z23 // c2 = 1−b2
	VBROADCASTSS 16(AX), Z24 // bc2 = √(1−b2ᵗ)
	VBROADCASTSS 20(AX), Z25 // eps
	VBROADCASTSS 24(AX), Z26 // step = lr/(1−b1ᵗ)
	VBROADCASTSS 28(AX), Z27 // decay = 1 − lr·wd (decoupled) or 1
	VBROADCASTSS 32(AX), Z28 // wd (L2, coupled) or 0
adloop:
	CMPQ CX, $16
	JL   adtail
	VMOVUPS (DI), Z0
	VMOVUPS (SI), Z1
	VMOVUPS (DX), Z2
	VMOVUPS (R8), Z3
	VFMADD231PS Z28, Z0, Z1 // d = g + wd·w
	VMULPS Z27, Z0, Z0      // w·decay
	VMULPS Z20, Z2, Z2
	VFMADD231PS Z21, Z1, Z2 // m
	VMULPS Z1, Z1, Z1
	VMULPS Z22, Z3, Z3
	VFMADD231PS Z23, Z1, Z3 // v
	VSQRTPS Z3, Z4
	VDIVPS Z24, Z4, Z4
	VADDPS Z25, Z4, Z4      // denom
	VDIVPS Z4, Z2, Z5       // m/denom
	VFNMADD231PS Z26, Z5, Z0
	VMOVUPS Z0, (DI)
	VMOVUPS Z2, (DX)
	VMOVUPS Z3, (R8)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R8
	SUBQ $16, CX
	JMP  adloop
adtail:
	TESTQ CX, CX
	JZ    addone
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VMOVUPS.Z (R8), K1, Z3
	VFMADD231PS Z28, Z0, Z1
	VMULPS Z27, Z0, Z0
	VMULPS Z20, Z2, Z2
	VFMADD231PS Z21, Z1, Z2
	VMULPS Z1, Z1, Z1
	VMULPS Z22, Z3, Z3
	VFMADD231PS Z23, Z1, Z3
	VSQRTPS Z3, Z4
	VDIVPS Z24, Z4, Z4
	VADDPS Z25, Z4, Z4
	VDIVPS Z4, Z2, Z5
	VFNMADD231PS Z26, Z5, Z0
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z2, K1, (DX)
	VMOVUPS Z3, K1, (R8)
addone:
	VZEROUPPER
	RET
