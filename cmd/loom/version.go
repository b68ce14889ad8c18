package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/loomml/loom/internal/kernels"
)

// version is loom's release; builds from a checkout also print the VCS
// revision recorded by the Go toolchain.
const version = "0.1.0-dev"

func init() {
	register("version", "Print loom's version, build and compute settings.", runVersion)
}

type versionInfo struct {
	Version  string   `json:"version"`
	Revision string   `json:"revision,omitempty"`
	Modified bool     `json:"modified,omitempty"`
	Go       string   `json:"go"`
	OS       string   `json:"os"`
	Arch     string   `json:"arch"`
	GEMM     string   `json:"gemm_kernel"`
	BF16     string   `json:"bf16_gemm"` // the AVX512-BF16 kernel, or "emulated"
	Kernels  []string `json:"gemm_kernels"`
	Threads  int      `json:"threads"`
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "[--json]", stderr)
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	info := versionInfo{Version: version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		GEMM: kernels.Current(), BF16: cmp.Or(kernels.BF16Native(), "emulated"), Kernels: kernels.Names(), Threads: kernels.Threads()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	rev := info.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if info.Modified {
		rev += "+dirty"
	}
	if rev != "" {
		rev = " (" + rev + ")"
	}
	fmt.Fprintf(stdout, "loom %s%s %s %s/%s, GEMM kernel %s (bf16: %s), %d threads\n", info.Version, rev, info.Go, info.OS, info.Arch, info.GEMM, info.BF16, info.Threads)
	return nil
}
