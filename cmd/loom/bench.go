package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

func init() {
	register("bench", "Measure loom's speed: GEMM kernels, a training step against PyTorch's, decoding, tokenization.", runBench)
}

// benches are loom bench's subcommands, in the order help lists them.
var benches = []struct{ name, summary string }{
	{"gemm", "Time matrix products per kernel, shape and thread count (GFLOP/s, medians)."},
	{"train", "Time a training step of the PyTorch anchor's GPT in loom and in PyTorch (or of a preset's model with --preset, or of any config.json's with --config)."},
	{"decode", "Decoding speed (tokens/s) and resident memory per weight dtype and context length."},
	{"tokenize", "Encoding speed (MB/s) of loom's tokenizers against tiktoken-go."},
	{"serve", "Serving under concurrent streaming load (loopback, OpenAI protocol): aggregate tokens/s, time to first token, time between tokens."},
}

func benchSummary(name string) string {
	for _, b := range benches {
		if b.name == name {
			return b.summary
		}
	}
	return ""
}

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		help := len(args) > 0 && (args[0] == "-h" || args[0] == "--help")
		w := stderr
		if help {
			w = stdout
		}
		fmt.Fprintln(w, "usage: loom bench BENCHMARK [flags]   (loom bench BENCHMARK --help for its flags)\n\nbenchmarks:")
		for _, b := range benches {
			fmt.Fprintf(w, "  %-9s %s\n", b.name, b.summary)
		}
		if help {
			return nil
		}
		return errUsage
	}
	switch args[0] {
	case "gemm":
		return benchGemm(args[1:], stdout, stderr)
	case "train":
		return benchTrain(args[1:], stdout, stderr)
	case "decode":
		return benchDecode(args[1:], stdout, stderr)
	case "tokenize":
		return benchTokenize(args[1:], stdout, stderr)
	case "serve":
		return benchServe(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "loom bench: unknown benchmark %q (have: gemm, train, decode, tokenize, serve)\n", args[0])
	return errUsage
}

// gemmShape is one product: C[m×n] = op(A)·op(B) with inner size k.
type gemmShape struct {
	M, K, N int
	TA, TB  bool
}

// benchGemmShapes are the shapes of docs/results/engine.md: square products
// and a linear layer's 4096×512·512×2048 with the transposes its backward
// pass and attention use.
var benchGemmShapes = []gemmShape{
	{256, 256, 256, false, false},
	{512, 512, 512, false, false},
	{1024, 1024, 1024, false, false},
	{2048, 2048, 2048, false, false},
	{4096, 512, 2048, false, false},
	{4096, 512, 2048, false, true},
	{4096, 512, 2048, true, false},
	{4096, 512, 2048, true, true},
}

type gemmResult struct {
	Kernel   string  `json:"kernel"`
	M        int     `json:"m"`
	K        int     `json:"k"`
	N        int     `json:"n"`
	TA       bool    `json:"ta"`
	TB       bool    `json:"tb"`
	Threads  int     `json:"threads"`
	GFLOPS   float64 `json:"gflops"`
	MedianMS float64 `json:"median_ms"`
	Reps     int     `json:"reps"`
	// PeakGFLOPS is the measured peak of the kernel's instruction on this
	// machine at Threads (bench's peak probe), PctPeak GFLOPS as a share of it.
	PeakGFLOPS float64 `json:"peak_gflops,omitempty"`
	PctPeak    float64 `json:"pct_peak,omitempty"`
}

func benchGemm(args []string, stdout, stderr io.Writer) error {
	fs := newFlagsSummary("bench gemm", "[--json] [--threads 1,2] [--kernels default,bf16,openblas] [--min-time 1s]", benchSummary("gemm"), stderr)
	asJSON := fs.Bool("json", false, "print a JSON array, one object per (kernel, shape, threads)")
	threadList := fs.String("threads", "1,2", "comma-separated thread counts")
	kernelList := fs.String("kernels", "default,bf16,openblas", "comma-separated kernels (\"default\" is the float32 kernel in use, \"all\" every registered one, \"bf16\" the AVX512-BF16 mixed-precision kernel (skipped on CPUs without it); \"openblas\" is skipped unless built with -tags openblas); have "+strings.Join(kernels.Names(), ", "))
	minTime := durationFlag(fs, "min-time", time.Second, "time each measurement at least this long (and at least 5 repetitions)", above(0))
	shapeList := fs.String("shapes", "", "products to time instead of the standard set: M×K·K×N with transposes, e.g. \"2048x256x768:NT;256x2048x768:TN\" (m x k x n : ta tb)")
	if err := parse(fs, args); err != nil {
		return err
	}
	shapes := benchGemmShapes
	if *shapeList != "" {
		var err error
		if shapes, err = parseShapes(*shapeList); err != nil {
			return fmt.Errorf("--shapes: %w", err)
		}
	}
	var ths []int
	for _, f := range strings.Split(*threadList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--threads: %q is not a positive integer", f)
		}
		ths = append(ths, n)
	}
	var names []string
	for _, f := range strings.Split(*kernelList, ",") {
		switch f = strings.TrimSpace(f); f {
		case "default":
			names = append(names, kernels.Current())
		case "all":
			names = append(names, kernels.Names()...)
		case "openblas":
			if kernels.Get(f) != nil {
				names = append(names, f)
			}
		case "bf16", kernels.BF16KernelName:
			if k := kernels.BF16Kernel(); k != nil {
				names = append(names, k.Name())
			} else {
				fmt.Fprintln(stderr, "loom bench gemm: this CPU has no AVX512-BF16; skipping the bf16 kernel")
			}
		default:
			if kernels.Get(f) == nil {
				return fmt.Errorf("--kernels: no kernel %q (have %s)", f, strings.Join(kernels.Names(), ", "))
			}
			names = append(names, f)
		}
	}
	names = slices.Compact(names)
	// The peak of each kernel's instruction at each thread count, measured
	// now (the probes of internal/kernels: independent FMA or VDPBF16PS chains).
	type peakKey struct {
		kind    string
		threads int
	}
	peaks := map[peakKey]float64{}
	for _, name := range names {
		kind := peakKind(name)
		for _, th := range ths {
			key := peakKey{kind, th}
			if _, ok := peaks[key]; !ok && kind != "" {
				peaks[key] = measurePeak(kind, th)
				if !*asJSON && peaks[key] > 0 {
					fmt.Fprintf(stdout, "peak %-4s threads=%d  %7.1f GFLOP/s  (probe: 24 independent %s chains per core, best of 5)\n",
						kind, th, peaks[key], map[string]string{"fp32": "VFMADD231PS zmm", "bf16": "VDPBF16PS zmm"}[kind])
				}
			}
		}
	}
	var results []gemmResult
	for _, s := range shapes {
		a, b, c := benchOperands(s)
		for _, th := range ths {
			for _, name := range names {
				r := timeGemm(lookupKernel(name), s, th, a, b, c, *minTime)
				if pk := peaks[peakKey{peakKind(name), th}]; pk > 0 {
					r.PeakGFLOPS, r.PctPeak = pk, math.Round(1000*r.GFLOPS/pk)/10
				}
				results = append(results, r)
				if !*asJSON {
					pct := ""
					if r.PctPeak > 0 {
						pct = fmt.Sprintf("  %5.1f %% of peak", r.PctPeak)
					}
					fmt.Fprintf(stdout, "%-15s %5d×%-5d·%5d×%-5d %s%s threads=%d  %7.1f GFLOP/s%s  (median %.3f ms of %d)\n",
						r.Kernel, s.M, s.K, s.K, s.N, tn(s.TA), tn(s.TB), th, r.GFLOPS, pct, r.MedianMS, r.Reps)
				}
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printRatios(stdout, results, names)
	return nil
}

func tn(t bool) string {
	if t {
		return "T"
	}
	return "N"
}

// benchOperands returns seeded random operands laid out for the shape's
// transposes.
func benchOperands(s gemmShape) (a, b, c []float32) {
	r := tensor.NewRNG(1)
	return tensor.RandN(r, s.M*s.K).F32(), tensor.RandN(r, s.K*s.N).F32(), make([]float32, s.M*s.N)
}

// timeGemm runs one warm-up product, then repeats until minTime has passed
// (at least 5 times) and reports the median.
func timeGemm(k kernels.SgemmKernel, s gemmShape, threads int, a, b, c []float32, minTime time.Duration) gemmResult {
	lda, ldb := s.K, s.N
	if s.TA {
		lda = s.M
	}
	if s.TB {
		ldb = s.K
	}
	run := func() time.Duration {
		t := time.Now()
		k.Sgemm(threads, s.TA, s.TB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, s.N)
		return time.Since(t)
	}
	run()
	var ts []time.Duration
	var total time.Duration
	for len(ts) < 5 || total < minTime {
		d := run()
		ts = append(ts, d)
		total += d
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	med := ts[len(ts)/2]
	flops := 2 * float64(s.M) * float64(s.N) * float64(s.K)
	return gemmResult{Kernel: k.Name(), M: s.M, K: s.K, N: s.N, TA: s.TA, TB: s.TB, Threads: threads,
		GFLOPS: math.Round(flops/med.Seconds()/1e7) / 100, MedianMS: float64(med.Microseconds()) / 1000, Reps: len(ts)}
}

// printRatios prints, per thread count, each kernel's geometric-mean ratio to
// OpenBLAS and its worst shape, when OpenBLAS was measured.
func printRatios(w io.Writer, rs []gemmResult, names []string) {
	type key struct {
		s  gemmShape
		th int
	}
	blas := map[key]float64{}
	for _, r := range rs {
		if r.Kernel == "openblas" {
			blas[key{gemmShape{r.M, r.K, r.N, r.TA, r.TB}, r.Threads}] = r.GFLOPS
		}
	}
	if len(blas) == 0 {
		return
	}
	fmt.Fprintln(w, "\nratio to openblas (geometric mean over shapes; worst shape):")
	for _, name := range names {
		if name == "openblas" {
			continue
		}
		per := map[int][]float64{}
		worst := map[int]float64{}
		for _, r := range rs {
			if r.Kernel != name {
				continue
			}
			ref := blas[key{gemmShape{r.M, r.K, r.N, r.TA, r.TB}, r.Threads}]
			if ref == 0 {
				continue
			}
			q := r.GFLOPS / ref
			per[r.Threads] = append(per[r.Threads], q)
			if w, ok := worst[r.Threads]; !ok || q < w {
				worst[r.Threads] = q
			}
		}
		ths := make([]int, 0, len(per))
		for th := range per {
			ths = append(ths, th)
		}
		sort.Ints(ths)
		for _, th := range ths {
			lg := 0.0
			for _, q := range per[th] {
				lg += math.Log(q)
			}
			fmt.Fprintf(w, "  %-14s threads=%d  geomean %.3f  worst %.3f\n", name, th, math.Exp(lg/float64(len(per[th]))), worst[th])
		}
	}
}

// parseShapes reads "MxKxN[:TT]" items separated by semicolons.
func parseShapes(list string) ([]gemmShape, error) {
	var out []gemmShape
	for _, item := range strings.Split(list, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		dims, trans, _ := strings.Cut(item, ":")
		var s gemmShape
		if _, err := fmt.Sscanf(dims, "%dx%dx%d", &s.M, &s.K, &s.N); err != nil || s.M < 1 || s.K < 1 || s.N < 1 {
			return nil, fmt.Errorf("%q: want MxKxN with positive sizes", item)
		}
		switch trans {
		case "", "NN":
		case "NT":
			s.TB = true
		case "TN":
			s.TA = true
		case "TT":
			s.TA, s.TB = true, true
		default:
			return nil, fmt.Errorf("%q: transposes %q, want NN, NT, TN or TT", item, trans)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shapes")
	}
	return out, nil
}
