package fsutil

import (
	"os"
	"syscall"
	"unsafe"
)

// Release tells the kernel the whole pages inside b (a private file map)
// will not be read again, so they leave the process's memory; reading them
// would map the file's contents again. It is a hint.
func Release(b []byte) {
	page := uintptr(os.Getpagesize())
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (page - p%page) % page
	if uintptr(len(b)) <= start {
		return
	}
	n := (uintptr(len(b)) - start) / page * page
	if n > 0 {
		_ = syscall.Madvise(b[start:start+n], syscall.MADV_DONTNEED)
	}
}

// AllocPopulated returns n zero bytes of anonymous memory with every page
// mapped in one call (MAP_POPULATE), for large buffers kept as long as the
// process: on virtual machines a page fault each 4 KiB can cost 10–20 µs,
// so writing a fresh 160 MiB heap buffer took 0.46 s where this takes 27 ms
// (docs/results/quant/firsttouch.txt).
// The memory is never returned (a loaded model's permuted q and k rows
// live as long as the process, as its mapped file does). It falls back to
// make on failure.
func AllocPopulated(n int) []byte {
	if n <= 0 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_POPULATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}
