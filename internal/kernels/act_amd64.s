//go:build amd64 && !purego

#include "textflag.h"

// Vectorised activations (AVX-512) built on the exp of exp_amd64.s:
// sigmoid(z) = 1/(1+exp(−z)), SiLU(x) = x·σ(x), and GELU's tanh form
// 0.5·x·(1+tanh(u)) = x·σ(2u) with u = √(2/π)·(x + 0.044715·x³).
// Each function handles any n: the tail uses a lane mask.

// LOADCONSTS fills Z18–Z30 with the exp constants.
#define LOADCONSTS \
	MOVL $0x3fb8aa3b, AX; VPBROADCASTD AX, Z18; \
	MOVL $0xbf318000, AX; VPBROADCASTD AX, Z19; \
	MOVL $0x395e8083, AX; VPBROADCASTD AX, Z20; \
	MOVL $0xc2d00000, AX; VPBROADCASTD AX, Z21; \
	MOVL $0x42b20000, AX; VPBROADCASTD AX, Z22; \
	MOVL $0x39506967, AX; VPBROADCASTD AX, Z24; \
	MOVL $0x3ab743ce, AX; VPBROADCASTD AX, Z25; \
	MOVL $0x3c088908, AX; VPBROADCASTD AX, Z26; \
	MOVL $0x3d2aa9c1, AX; VPBROADCASTD AX, Z27; \
	MOVL $0x3e2aaaaa, AX; VPBROADCASTD AX, Z28; \
	MOVL $0x3f000000, AX; VPBROADCASTD AX, Z29; \
	MOVL $0x3f800000, AX; VPBROADCASTD AX, Z30

// EXP sets x = exp(x), using t1, t2, t3 as scratch.
#define EXP(x, t1, t2, t3) \
	VMAXPS x, Z21, x; \
	VMINPS x, Z22, x; \
	VMULPS Z18, x, t1; \
	VRNDSCALEPS $0, t1, t1; \
	VFMADD231PS Z19, t1, x; \
	VFMADD231PS Z20, t1, x; \
	VMOVAPS Z24, t2; \
	VFMADD213PS Z25, x, t2; \
	VFMADD213PS Z26, x, t2; \
	VFMADD213PS Z27, x, t2; \
	VFMADD213PS Z28, x, t2; \
	VFMADD213PS Z29, x, t2; \
	VMULPS x, x, t3; \
	VFMADD213PS x, t3, t2; \
	VADDPS Z30, t2, t2; \
	VSCALEFPS t1, t2, x

// SIGMOID sets s = 1/(1+exp(−z)) (z is kept), scratch t1–t3.
#define SIGMOID(z, s, t1, t2, t3) \
	VXORPS Z31, z, s; \
	EXP(s, t1, t2, t3); \
	VADDPS Z30, s, s; \
	VDIVPS s, Z30, s

// MASKTAIL sets K1 to the low CX lanes and returns (jumps to done) when CX
// is 0.
#define MASKTAIL(done) \
	TESTQ CX, CX; \
	JZ done; \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// func siluAVX512(dst, x *float32, n int)
TEXT ·siluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z31 // sign bit
	MOVL $0xffff, AX
	KMOVW AX, K1
siluloop:
	CMPQ CX, $16
	JL   silutail
	VMOVUPS (SI), Z0
	SIGMOID(Z0, Z1, Z2, Z3, Z4)
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  siluloop
silutail:
	MASKTAIL(silodone)
	VMOVUPS.Z (SI), K1, Z0
	SIGMOID(Z0, Z1, Z2, Z3, Z4)
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
silodone:
	VZEROUPPER
	RET

// func siluGradAVX512(dst, x, gr *float32, n int)
// dst = g·σ(x)·(1 + x·(1−σ(x)))
TEXT ·siluGradAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ n+24(FP), CX
	LOADCONSTS
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z31
siluGloop:
	CMPQ CX, $16
	JL   siluGtail
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z5
	SIGMOID(Z0, Z1, Z2, Z3, Z4)
	VSUBPS Z1, Z30, Z6        // 1−s
	VFMADD213PS Z30, Z0, Z6   // x·(1−s) + 1
	VMULPS Z6, Z1, Z6
	VMULPS Z5, Z6, Z6
	VMOVUPS Z6, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  siluGloop
siluGtail:
	MASKTAIL(siluGdone)
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z5
	SIGMOID(Z0, Z1, Z2, Z3, Z4)
	VSUBPS Z1, Z30, Z6
	VFMADD213PS Z30, Z0, Z6
	VMULPS Z6, Z1, Z6
	VMULPS Z5, Z6, Z6
	VMOVUPS Z6, K1, (DI)
siluGdone:
	VZEROUPPER
	RET

// GELUARG sets z = 2u = 2·√(2/π)·x·(1 + 0.044715·x²) (Z16 = 2√(2/π),
// Z17 = 0.044715), scratch t.
#define GELUARG(x, z, t) \
	VMULPS x, x, t; \
	VFMADD213PS Z30, Z17, t; \
	VMULPS x, t, z; \
	VMULPS Z16, z, z

// func geluTanhAVX512(dst, x *float32, n int)
TEXT ·geluTanhAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z31
	MOVL $0x3fcc422a, AX // 2·√(2/π)
	VPBROADCASTD AX, Z16
	MOVL $0x3d372713, AX // 0.044715
	VPBROADCASTD AX, Z17
geluloop:
	CMPQ CX, $16
	JL   gelutail
	VMOVUPS (SI), Z0
	GELUARG(Z0, Z7, Z8)
	SIGMOID(Z7, Z1, Z2, Z3, Z4)
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  geluloop
gelutail:
	MASKTAIL(geludone)
	VMOVUPS.Z (SI), K1, Z0
	GELUARG(Z0, Z7, Z8)
	SIGMOID(Z7, Z1, Z2, Z3, Z4)
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
geludone:
	VZEROUPPER
	RET

// func geluTanhGradAVX512(dst, x, gr *float32, n int)
// With s = σ(2u): dst = g·(s + x·s·(1−s)·2u'), 2u' = 2√(2/π)·(1 + 3·0.044715·x²).
TEXT ·geluTanhGradAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ n+24(FP), CX
	LOADCONSTS
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z31
	MOVL $0x3fcc422a, AX
	VPBROADCASTD AX, Z16
	MOVL $0x3d372713, AX
	VPBROADCASTD AX, Z17
	MOVL $0x3e095d4f, AX // 3·0.044715
	VPBROADCASTD AX, Z15
geluGloop:
	CMPQ CX, $16
	JL   geluGtail
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z5
	GELUARG(Z0, Z7, Z8)
	SIGMOID(Z7, Z1, Z2, Z3, Z4)
	VMULPS Z0, Z0, Z9
	VFMADD213PS Z30, Z15, Z9  // 1 + 3·0.044715·x²
	VMULPS Z16, Z9, Z9        // 2u'
	VSUBPS Z1, Z30, Z6        // 1−s
	VMULPS Z1, Z6, Z6         // s(1−s)
	VMULPS Z0, Z6, Z6         // x·s(1−s)
	VFMADD213PS Z1, Z9, Z6    // ·2u' + s
	VMULPS Z5, Z6, Z6
	VMOVUPS Z6, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  geluGloop
geluGtail:
	MASKTAIL(geluGdone)
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z5
	GELUARG(Z0, Z7, Z8)
	SIGMOID(Z7, Z1, Z2, Z3, Z4)
	VMULPS Z0, Z0, Z9
	VFMADD213PS Z30, Z15, Z9
	VMULPS Z16, Z9, Z9
	VSUBPS Z1, Z30, Z6
	VMULPS Z1, Z6, Z6
	VMULPS Z0, Z6, Z6
	VFMADD213PS Z1, Z9, Z6
	VMULPS Z5, Z6, Z6
	VMOVUPS Z6, K1, (DI)
geluGdone:
	VZEROUPPER
	RET

// The exact GELU x·Φ(x), Φ(x) = ½(1 + erf(x/√2)), with erf from Abramowitz
// & Stegun 7.1.26: with z = x/√2, a = |z|, t = 1/(1 + p·a) and
// q = (((((a5·t + a4)·t + a3)·t + a2)·t + a1)·t)·e^{−z²} = erfc(a),
// Φ = ½q for x < 0 and 1 − ½q otherwise (no cancellation in the left tail).

// ERFCONSTS fills Z10–Z17 (Z10 = 1/√(2π), Z11–Z15 = a1…a5, Z16 = 1/√2,
// Z17 = p) and Z31 (the sign bit).
#define ERFCONSTS \
	MOVL $0x80000000, AX; VPBROADCASTD AX, Z31; \
	MOVL $0x3ecc422a, AX; VPBROADCASTD AX, Z10; \
	MOVL $0x3e827906, AX; VPBROADCASTD AX, Z11; \
	MOVL $0xbe91a98e, AX; VPBROADCASTD AX, Z12; \
	MOVL $0x3fb5f0e3, AX; VPBROADCASTD AX, Z13; \
	MOVL $0xbfba00e3, AX; VPBROADCASTD AX, Z14; \
	MOVL $0x3f87dc22, AX; VPBROADCASTD AX, Z15; \
	MOVL $0x3f3504f3, AX; VPBROADCASTD AX, Z16; \
	MOVL $0x3ea7ba05, AX; VPBROADCASTD AX, Z17

// PHI sets phi = Φ(x) and e = e^{−x²/2} (x is kept), scratch Z1, Z2, Z4, Z5.
#define PHI(x, phi, e) \
	VMULPS Z16, x, Z1; \
	VANDNPS Z1, Z31, Z2; \
	VMULPS Z1, Z1, e; \
	VXORPS Z31, e, e; \
	EXP(e, Z4, Z5, phi); \
	VMOVAPS Z30, Z4; \
	VFMADD231PS Z17, Z2, Z4; \
	VDIVPS Z4, Z30, Z4; \
	VMOVAPS Z15, Z5; \
	VFMADD213PS Z14, Z4, Z5; \
	VFMADD213PS Z13, Z4, Z5; \
	VFMADD213PS Z12, Z4, Z5; \
	VFMADD213PS Z11, Z4, Z5; \
	VMULPS Z4, Z5, Z5; \
	VMULPS e, Z5, Z5; \
	VMULPS Z29, Z5, Z5; \
	VSUBPS Z5, Z30, phi; \
	VPMOVD2M x, K2; \
	VMOVAPS Z5, K2, phi

// func geluErfAVX512(dst, x *float32, n int)
TEXT ·geluErfAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LOADCONSTS
	ERFCONSTS
geluEloop:
	CMPQ CX, $16
	JL   geluEtail
	VMOVUPS (SI), Z0
	PHI(Z0, Z6, Z3)
	VMULPS Z6, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  geluEloop
geluEtail:
	MASKTAIL(geluEdone)
	VMOVUPS.Z (SI), K1, Z0
	PHI(Z0, Z6, Z3)
	VMULPS Z6, Z0, Z0
	VMOVUPS Z0, K1, (DI)
geluEdone:
	VZEROUPPER
	RET

// func geluErfGradAVX512(dst, x, gr *float32, n int)
// dst = g·(Φ(x) + x·e^{−x²/2}/√(2π))
TEXT ·geluErfGradAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ n+24(FP), CX
	LOADCONSTS
	ERFCONSTS
geluEGloop:
	CMPQ CX, $16
	JL   geluEGtail
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z8
	PHI(Z0, Z6, Z3)
	VMULPS Z10, Z0, Z7
	VFMADD213PS Z6, Z3, Z7
	VMULPS Z8, Z7, Z7
	VMOVUPS Z7, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  geluEGloop
geluEGtail:
	MASKTAIL(geluEGdone)
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z8
	PHI(Z0, Z6, Z3)
	VMULPS Z10, Z0, Z7
	VFMADD213PS Z6, Z3, Z7
	VMULPS Z8, Z7, Z7
	VMOVUPS Z7, K1, (DI)
geluEGdone:
	VZEROUPPER
	RET
