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
	mr, nv int // rows and vectors per row
}

func (k kernel) nr() int             { return k.nv * k.width }
func (k kernel) fname() string       { return fmt.Sprintf("sgemm%s_%dx%d", k.name, k.mr, k.nr()) }
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
var kernels = []kernel{
	{avx512, 6, 4}, // 6×64: 24 accumulators, 4 B vectors, 2 broadcasts
	{avx2, 6, 2},   // 6×16: 12 accumulators, 2 B vectors, 1 broadcast
}

// edges returns k's edge kernels: the same tile with 1 … mr−1 rows,
// reading A in place, for the last rows of a product (each element gets
// the same operations as in a full tile, so a row's result does not depend
// on the tile it falls in).
func (k kernel) edges() []kernel {
	var out []kernel
	for r := 1; r < k.mr; r++ {
		out = append(out, kernel{k.isa, r, k.nv})
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
	d.WriteString("// asmKernels lists the generated micro-kernels.\nvar asmKernels = []asmKernel{\n")
	for _, k := range kernels {
		ua, edges := "nil", ""
		if k.mr == 6 {
			ua = k.fname() + "_ua"
			for _, e := range k.edges() {
				edges += e.fname() + "_ua, "
			}
		}
		fmt.Fprintf(&d, "\t{name: %q, isa: %q, mr: %d, nr: %d, fn: %s, fnUA: %s, edgeUA: []uaKernel{%s}},\n", k.fname(), k.name, k.mr, k.nr(), k.fname(), ua, strings.TrimSuffix(edges, ", "))
	}
	d.WriteString("}\n")
	if err := os.WriteFile("sgemm_amd64_decl.go", d.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
