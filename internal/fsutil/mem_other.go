//go:build !linux

package fsutil

// Release is a no-op here (see the Linux version).
func Release(b []byte) {}

// AllocPopulated returns make([]byte, n) here (see the Linux version).
func AllocPopulated(n int) []byte { return make([]byte, n) }
