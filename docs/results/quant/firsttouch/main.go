// Command firsttouch measures what first touches of memory cost on this
// machine, for docs/results/quant.md: a scan of a file mapped copy-on-write
// (as loom maps GGUF files) the first and the second time, a fresh heap
// buffer written page by page, and an anonymous map populated in one call
// (MAP_POPULATE, fsutil.AllocPopulated). Linux only.
//
//	go run ./docs/results/quant/firsttouch /work/q21/llama1b-f16.gguf
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
	"time"
)

var sink uint64

//go:noinline
func scan(b []byte) {
	var acc uint64
	for i := 0; i+8 <= len(b); i += 8 {
		acc |= binary.LittleEndian.Uint64(b[i:])&0x7c007c007c007c00 + 0x0400040004000400
	}
	sink += acc
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: firsttouch FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st, _ := f.Stat()
	n := int(st.Size())
	b, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t := time.Now()
	scan(b)
	first := time.Since(t)
	t = time.Now()
	scan(b)
	fmt.Printf("%s, %.0f MB mapped copy-on-write: first scan %v, second %v\n", os.Args[1], float64(n)/1e6, first, time.Since(t))

	const m = 160 << 20
	t = time.Now()
	h := make([]byte, m)
	for i := 0; i < m; i += 4096 {
		h[i] = 1
	}
	fmt.Printf("160 MiB heap buffer written page by page: %v\n", time.Since(t))
	t = time.Now()
	a, err := syscall.Mmap(-1, 0, m, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_POPULATE)
	fmt.Printf("160 MiB anonymous map populated in one call: %v (%v)\n", time.Since(t), err)
	_ = a
}
