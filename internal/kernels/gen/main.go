// Command gen writes the assembly GEMM micro-kernels of package kernels
// (sgemm_amd64.s). Run it with `go generate ./internal/kernels`.
//
// Each micro-kernel computes one MR×NR tile of C from packed panels:
//
//	acc[i][j] = Σ_p a[p·MR + i] · b[p·NR + j]      (p < k, in order)
//	C[i][j]   = acc[i][j]            (mode 0: C is not read)
//	C[i][j]  += acc[i][j]            (mode 1)
//
// with NR a multiple of the vector width: rows of C are vectors, B's step p
// is loaded as NR/W vectors and each a value is broadcast. The k loop is
// unrolled by 4; every element's sum is accumulated in order with FMA, so a
// tile's result does not depend on where the tile lies.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

type isa struct {
	name  string // suffix of the Go function
	reg   string // register prefix: "Z" or "Y"
	width int    // float32 lanes per vector
	nregs int
	zero  string // instruction zeroing a register
}

var (
	avx512 = isa{"AVX512", "Z", 16, 32, "VPXORD"}
	avx2   = isa{"AVX2", "Y", 8, 16, "VXORPS"}
)

type kernel struct {
	isa
	mr, nv int  // rows and vectors per row
	bf16   bool // pairs of bfloat16 per 32-bit value, multiplied with VDPBF16PS
}

func (k kernel) nr() int { return k.nv * k.width }
func (k kernel) fname() string {
	if k.bf16 {
		return fmt.Sprintf("sbgemm%s_%dx%d", k.name, k.mr, k.nr())
	}
	return fmt.Sprintf("sgemm%s_%dx%d", k.name, k.mr, k.nr())
}
func (k kernel) acc(i, v int) string { return fmt.Sprintf("%s%d", k.reg, i*k.nv+v) }
func (k kernel) breg(v int) string   { return fmt.Sprintf("%s%d", k.reg, k.mr*k.nv+v) }
func (k kernel) tmp(i int) string {
	return fmt.Sprintf("%s%d", k.reg, k.mr*k.nv+k.nv+i%k.ntmp())
}
func (k kernel) ntmp() int { return min(2, k.nregs-k.mr*k.nv-k.nv) }

const unroll = 4

// rowAddr is the address of A's value for row i at unrolled step u: packed
// panels hold mr values per step; unpacked A is read in place, row i at
// SI + i·lda (R10 = lda, R11 = 3·lda, R12 = 5·lda, in bytes).
func (k kernel) rowAddr(u, i int, unpacked bool) string {
	if !unpacked {
		return fmt.Sprintf("%d(SI)", 4*(u*k.mr+i))
	}
	idx := []string{"", "(R10*1)", "(R10*2)", "(R11*1)", "(R10*4)", "(R12*1)"}[i]
	return fmt.Sprintf("%d(SI)%s", 4*u, idx)
}

func (k kernel) emit(w *bytes.Buffer, unpacked bool) {
	if k.mr*k.nv+k.nv+1 > k.nregs {
		panic(fmt.Sprintf("%s needs too many registers", k.fname()))
	}
	if unpacked && k.mr > 6 {
		panic("unpacked A is generated for tiles of up to 6 rows")
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	nr := k.nr()
	name, arg := k.fname(), 0
	if unpacked {
		name += "_ua"
		p("// func %s(k int, a *float32, lda int, b, c *float32, ldc int, mode int)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
		p("\tMOVQ lda+16(FP), R10")
		p("\tSHLQ $2, R10")
		p("\tLEAQ (R10)(R10*2), R11")
		p("\tLEAQ (R10)(R10*4), R12")
		arg = 8
	} else {
		p("// func %s(k int, a, b, c *float32, ldc int, mode int)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-48", name)
	}
	p("\tMOVQ k+0(FP), CX")
	p("\tMOVQ a+8(FP), SI")
	p("\tMOVQ b+%d(FP), DI", 16+arg)
	p("\tMOVQ c+%d(FP), DX", 24+arg)
	p("\tMOVQ ldc+%d(FP), R8", 32+arg)
	p("\tSHLQ $2, R8")
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			r := k.acc(i, v)
			p("\t%s %s, %s, %s", k.zero, r, r, r)
		}
	}
	step := func(u int) {
		for v := 0; v < k.nv; v++ {
			p("\tVMOVUPS %d(DI), %s", 4*(u*nr+v*k.width), k.breg(v))
		}
		for i := 0; i < k.mr; i++ {
			t := k.tmp(i)
			p("\tVBROADCASTSS %s, %s", k.rowAddr(u, i, unpacked), t)
			for v := 0; v < k.nv; v++ {
				if k.bf16 {
					p("\t%s", vdpbf16ps(k.acc(i, v), t, k.breg(v)))
					continue
				}
				p("\tVFMADD231PS %s, %s, %s", k.breg(v), t, k.acc(i, v))
			}
		}
	}
	p("\tMOVQ CX, BX")
	p("\tSHRQ $2, BX")
	p("\tJZ tail")
	p("loop4:")
	for u := 0; u < unroll; u++ {
		step(u)
	}
	aStep := k.mr
	if unpacked {
		aStep = 1
	}
	p("\tADDQ $%d, SI", 4*unroll*aStep)
	p("\tADDQ $%d, DI", 4*unroll*nr)
	p("\tDECQ BX")
	p("\tJNZ loop4")
	p("tail:")
	p("\tANDQ $3, CX")
	p("\tJZ store")
	p("loop1:")
	step(0)
	p("\tADDQ $%d, SI", 4*aStep)
	p("\tADDQ $%d, DI", 4*nr)
	p("\tDECQ CX")
	p("\tJNZ loop1")
	p("store:")
	p("\tMOVQ mode+%d(FP), AX", 40+arg)
	p("\tTESTQ AX, AX")
	p("\tJNZ add")
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			p("\tVMOVUPS %s, %d(DX)", k.acc(i, v), 4*v*k.width)
		}
		if i < k.mr-1 {
			p("\tADDQ R8, DX")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("add:")
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			p("\tVADDPS %d(DX), %s, %s", 4*v*k.width, k.acc(i, v), k.acc(i, v))
			p("\tVMOVUPS %s, %d(DX)", k.acc(i, v), 4*v*k.width)
		}
		if i < k.mr-1 {
			p("\tADDQ R8, DX")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// Kernels lists the micro-kernels to generate.
//
// Tiles measured (docs/results/engine.md): AVX-512 6×64, 12×32, 14×32 and
// 8×48, AVX2 6×16 and 4×24 all ran within a few percent of each other at
// 1024³ and larger; 6×64 was fastest or tied everywhere, so it and the
// classic AVX2 6×16 (for CPUs without AVX-512) are kept.
//
// The bf16 kernel is the same 6×64 tile on AVX512-BF16: each 32-bit value
// of A and B holds two bfloat16s (steps 2q and 2q+1 of k, the lower half
// first), and VDPBF16PS adds both products to the float32 accumulator.
var kernels = []kernel{
	{avx512, 6, 4, false}, // 6×64: 24 accumulators, 4 B vectors, 2 broadcasts
	{avx2, 6, 2, false},   // 6×16: 12 accumulators, 2 B vectors, 1 broadcast
	{avx512, 6, 4, true},  // 6×64 bf16 pairs
}

// vdpbf16ps returns VDPBF16PS dst, src1, src2 (dst += pairwise products
// of src1 and src2, all Z registers) as bytes: Go's assembler does not
// know AVX512-BF16. Encoding EVEX.512.F3.0F38.W0 52 /r, register form.
func vdpbf16ps(dst, src1, src2 string) string {
	return evexRR(0x52, 2, zreg(dst), zreg(src1), zreg(src2)) + " // VDPBF16PS " + src2 + ", " + src1 + ", " + dst
}

// evexRR encodes a 512-bit EVEX instruction of map 0F38, W0, with
// register operands: ModRM.reg = dst, vvvv = src1, ModRM.rm = src2; pp
// is the implied prefix (1 = 66, 2 = F3, 3 = F2).
func evexRR(op byte, pp byte, dst, src1, src2 int) string {
	inv := func(r, bit int) byte { return byte(^(r >> bit) & 1) }
	p0 := inv(dst, 3)<<7 | inv(src2, 4)<<6 | inv(src2, 3)<<5 | inv(dst, 4)<<4 | 0x2
	p1 := byte(^src1&0xf)<<3 | 1<<2 | pp
	p2 := byte(2)<<5 | inv(src1, 4)<<3
	modrm := byte(0xc0) | byte(dst&7)<<3 | byte(src2&7)
	b := []byte{0x62, p0, p1, p2, op, modrm}
	var parts []string
	for _, x := range b {
		parts = append(parts, fmt.Sprintf("BYTE $0x%02x", x))
	}
	return strings.Join(parts, "; ")
}

func zreg(r string) int {
	var n int
	if _, err := fmt.Sscanf(r, "Z%d", &n); err != nil {
		panic(r)
	}
	return n
}

// edges returns k's edge kernels: the same tile with 1 … mr−1 rows,
// reading A in place, for the last rows of a product (each element gets
// the same operations as in a full tile, so a row's result does not depend
// on the tile it falls in).
func (k kernel) edges() []kernel {
	var out []kernel
	for r := 1; r < k.mr; r++ {
		out = append(out, kernel{k.isa, r, k.nv, k.bf16})
	}
	return out
}

func main() {
	var w bytes.Buffer
	w.WriteString("// Code generated by gen/main.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n\n")
	for _, k := range kernels {
		k.emit(&w, false)
		if k.mr == 6 {
			k.emit(&w, true)
			for _, e := range k.edges() {
				e.emit(&w, true)
			}
		}
	}
	if err := os.WriteFile("sgemm_amd64.s", w.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var d bytes.Buffer
	d.WriteString("// Code generated by gen/main.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\npackage kernels\n\n")
	for _, k := range kernels {
		fmt.Fprintf(&d, "//go:noescape\nfunc %s(k int, a, b, c *float32, ldc int, mode int)\n\n", k.fname())
		if k.mr == 6 {
			for _, e := range append([]kernel{k}, k.edges()...) {
				fmt.Fprintf(&d, "//go:noescape\nfunc %s_ua(k int, a *float32, lda int, b, c *float32, ldc int, mode int)\n\n", e.fname())
			}
		}
	}
	list := func(bf16 bool) {
		for _, k := range kernels {
			if k.bf16 == bf16 {
				declare(&d, k)
			}
		}
	}
	d.WriteString("// asmKernels lists the generated float32 micro-kernels.\nvar asmKernels = []asmKernel{\n")
	list(false)
	d.WriteString("}\n\n// bf16Kernels lists the generated micro-kernels on bfloat16 pairs (AVX512-BF16).\nvar bf16Kernels = []asmKernel{\n")
	list(true)
	d.WriteString("}\n")
	if err := os.WriteFile("sgemm_amd64_decl.go", d.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("bf16_amd64.s", bf16Converters(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("peak_amd64.s", peakProbes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func declare(d *bytes.Buffer, k kernel) {
	{
		ua, edges := "nil", ""
		if k.mr == 6 {
			ua = k.fname() + "_ua"
			for _, e := range k.edges() {
				edges += e.fname() + "_ua, "
			}
		}
		isa := k.name
		if k.bf16 {
			isa += "BF16"
		}
		fmt.Fprintf(d, "\t{name: %q, isa: %q, mr: %d, nr: %d, fn: %s, fnUA: %s, edgeUA: []uaKernel{%s}},\n", k.fname(), isa, k.mr, k.nr(), k.fname(), ua, strings.TrimSuffix(edges, ", "))
	}
}

// peakProbes returns peak_amd64.s: loops of independent multiply-adds
// that measure the core's peak rate (bench's peak probe). Each iteration
// of peakFMA runs 24 VFMADD231PS on Z registers (24·16·2 flops), each of
// peakBF16 24 VDPBF16PS (24·16·4 flops); 24 chains cover the latency of
// two pipes.
func peakProbes() []byte {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p("// Code generated by gen/main.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	for _, bf := range []bool{false, true} {
		name := "peakFMA"
		if bf {
			name = "peakBF16"
		}
		p("// func %s(n int)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-8", name)
		p("\tMOVQ n+0(FP), CX")
		for r := 0; r < 26; r++ {
			p("\tVPXORD Z%d, Z%d, Z%d", r, r, r)
		}
		p("%s_loop:", name)
		for r := 0; r < 24; r++ {
			if bf {
				p("\t%s", vdpbf16ps(fmt.Sprintf("Z%d", r), "Z24", "Z25"))
			} else {
				p("\tVFMADD231PS Z24, Z25, Z%d", r)
			}
		}
		p("\tDECQ CX")
		p("\tJNZ %s_loop", name)
		p("\tVZEROUPPER")
		p("\tRET\n")
	}
	return w.Bytes()
}

// vcvtne2ps2bf16 returns VCVTNE2PS2BF16 dst, src1, src2 as bytes: dst's
// lower 16 bfloat16s are src2 rounded to nearest even, its upper 16 are
// src1 (EVEX.512.F2.0F38.W0 72 /r).
func vcvtne2ps2bf16(dst, src1, src2 string) string {
	return evexRR(0x72, 3, zreg(dst), zreg(src1), zreg(src2)) + " // VCVTNE2PS2BF16 " + src2 + ", " + src1 + ", " + dst
}

// bf16Converters returns bf16_amd64.s: float32 rows scaled by alpha and
// rounded to bfloat16 pairs (the operands of the bf16 micro-kernels),
// 16 pairs per iteration.
//
//	bf16WordsAVX512: word i = bf16(α·x[2i]) | bf16(α·x[2i+1])<<16
//	bf16PairsAVX512: word i = bf16(α·r0[i]) | bf16(α·r1[i])<<16
func bf16Converters() []byte {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p("// Code generated by gen/main.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	p("// func bf16WordsAVX512(dst *uint32, src *float32, groups int, alpha float32)")
	p("TEXT ·bf16WordsAVX512(SB), NOSPLIT, $0-28")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ groups+16(FP), CX")
	p("\tVBROADCASTSS alpha+24(FP), Z2")
	p("words_loop:")
	p("\tVMULPS (SI), Z2, Z0")
	p("\tVMULPS 64(SI), Z2, Z1")
	p("\t%s", vcvtne2ps2bf16("Z3", "Z1", "Z0"))
	p("\tVMOVDQU32 Z3, (DI)")
	p("\tADDQ $128, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ words_loop")
	p("\tVZEROUPPER")
	p("\tRET\n")
	p("// func bf16PairsAVX512(dst *uint32, r0, r1 *float32, groups int, alpha float32, perm *uint16)")
	p("TEXT ·bf16PairsAVX512(SB), NOSPLIT, $0-48")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ r0+8(FP), SI")
	p("\tMOVQ r1+16(FP), DX")
	p("\tMOVQ groups+24(FP), CX")
	p("\tVBROADCASTSS alpha+32(FP), Z2")
	p("\tMOVQ perm+40(FP), AX")
	p("\tVMOVDQU16 (AX), Z4")
	p("pairs_loop:")
	p("\tVMULPS (SI), Z2, Z0")
	p("\tVMULPS (DX), Z2, Z1")
	p("\t%s", vcvtne2ps2bf16("Z3", "Z1", "Z0"))
	p("\tVPERMW Z3, Z4, Z5")
	p("\tVMOVDQU32 Z5, (DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DX")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ pairs_loop")
	p("\tVZEROUPPER")
	p("\tRET")
	return w.Bytes()
}
