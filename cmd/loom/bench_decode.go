package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// decodeConfig is a ~25M-parameter Llama-style model (byte vocabulary):
// width 512, 8 layers of 8 heads, SwiGLU of 1408.
func decodeConfig(ctx int) *decoder.Config {
	return &decoder.Config{HiddenSize: 512, IntermediateSize: 1408, NumHiddenLayers: 8, NumAttentionHeads: 8,
		NumKeyValueHeads: 8, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256,
		MaxPositionEmbeddings: ctx, InitializerRange: 0.02, Loom: decoder.Options{Tokenizer: "byte"}}
}

type decodeBench struct {
	Model        string  `json:"model"`
	DType        string  `json:"dtype"`
	CacheType    string  `json:"cache_type"`
	Context      int     `json:"context"`
	Params       int     `json:"params"`
	WeightMB     float64 `json:"weight_mb"`
	Threads      int     `json:"threads"`
	Kernel       string  `json:"kernel"`
	TokensPerS   float64 `json:"tokens_per_s"`
	MsPerToken   float64 `json:"ms_per_token_median"`
	PrefillTokS  float64 `json:"prefill_tokens_per_s"`
	DecodeTokens int     `json:"decode_tokens"`
	LoadS        float64 `json:"load_s,omitempty"`
	RSSMB        float64 `json:"rss_mb"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
}

func benchDecode(args []string, stdout, stderr io.Writer) error {
	fs := newFlagsSummary("bench decode", "[--model PATH] [--dtype f32,bf16,f16,q8_0] [--contexts 256,1024] [--threads N] [--json] [--tokens 64]", benchSummary("decode"), stderr)
	threads := intFlag(fs, "threads", 1, "threads", atLeast(1))
	asJSON := fs.Bool("json", false, "print JSON")
	n := intFlag(fs, "tokens", 64, "decoded tokens timed at each context", atLeast(1))
	model := fs.String("model", "", "a training run's directory, a model directory or a .gguf file (default: a random ~25M-parameter Llama with a byte vocabulary)")
	dtypes := fs.String("dtype", "f32", "comma-separated in-memory weight precisions to compare (f32, bf16, f16, q8_0; a GGUF file's q8_0/q4_K/q5_K/q6_K matrices stay in their blocks); each runs in its own process so RSS is its own")
	contexts := fs.String("contexts", "256,1024", "comma-separated context lengths: prefill context−tokens, then decode tokens")
	cacheType := cacheTypeFlag(fs)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of loading, prefills and decoding to this file (one --dtype)")
	memprofile := fs.String("memprofile", "", "write an allocation profile (all allocations since the start) to this file at the end (one --dtype)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var ctxs []int
	for _, c := range strings.Split(*contexts, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || v <= *n {
			return fmt.Errorf("--contexts: %q is not a context longer than --tokens %d", c, *n)
		}
		ctxs = append(ctxs, v)
	}
	if *n < 1 {
		return fmt.Errorf("--tokens is %d, want at least 1", *n)
	}
	dts := strings.Split(*dtypes, ",")
	for _, d := range dts {
		if dt, err := tensor.ParseDType(d); err != nil || dt == tensor.Float64 {
			return fmt.Errorf("--dtype %q: want f32, bf16, f16 or q8_0", d)
		}
	}
	if len(dts) > 1 && (*cpuprofile != "" || *memprofile != "") {
		return fmt.Errorf("--cpuprofile and --memprofile profile one --dtype; --dtype %q names %d", *dtypes, len(dts))
	}
	var out []decodeBench
	if len(dts) > 1 {
		// One child process per dtype, so each peak RSS is its own.
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		for _, d := range dts {
			cmd := exec.Command(exe, "bench", "decode", "--json", "--dtype", d, "--model", *model, "--contexts", *contexts,
				"--threads", strconv.Itoa(*threads), "--tokens", strconv.Itoa(*n), "--cache-type", *cacheType)
			cmd.Stderr = stderr
			b, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("bench decode --dtype %s: %w", d, err)
			}
			var rs []decodeBench
			if err := json.Unmarshal(b, &rs); err != nil {
				return fmt.Errorf("bench decode --dtype %s: %v", d, err)
			}
			out = append(out, rs...)
		}
	} else {
		if err := setThreads(*threads); err != nil {
			return err
		}
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			defer pprof.StopCPUProfile()
		}
		if *memprofile != "" {
			f, err := os.Create(*memprofile)
			if err != nil {
				return fmt.Errorf("--memprofile: %w", err)
			}
			runtime.MemProfileRate = 64 << 10
			defer func() {
				pprof.Lookup("allocs").WriteTo(f, 0) //nolint:errcheck // the benchmark's result is printed either way
				f.Close()
			}()
		}
		dt, _ := tensor.ParseDType(dts[0])
		t0 := time.Now()
		m, name, err := decodeModel(*model, slices.Max(ctxs), dt)
		if err != nil {
			return err
		}
		if err := setCacheType(m, *cacheType); err != nil {
			return err
		}
		load := time.Since(t0).Seconds()
		for _, ctx := range ctxs {
			if ctx > m.MaxPositions() {
				return fmt.Errorf("--contexts %d exceeds the model's %d positions", ctx, m.MaxPositions())
			}
			r, err := runDecode(m, ctx, *n)
			if err != nil {
				return err
			}
			r.Model, r.DType, r.CacheType, r.Threads, r.LoadS = name, dts[0], *cacheType, *threads, load
			out = append(out, r)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, r := range out {
		fmt.Fprintf(stdout, "%s %-4s ctx %4d: %.2f tokens/s (median %.2f ms/token over %d), prefill %.0f tokens/s, %d params, weights %.0f MB, RSS %.0f MB (peak %.0f), %s GEMM, %d threads\n",
			r.Model, r.DType, r.Context, r.TokensPerS, r.MsPerToken, r.DecodeTokens, r.PrefillTokS, r.Params, r.WeightMB, r.RSSMB, r.PeakRSSMB, r.Kernel, r.Threads)
	}
	return nil
}

// decodeModel loads path in dt, or builds the default random model.
func decodeModel(path string, ctx int, dt tensor.DType) (*decoder.Model, string, error) {
	if path != "" {
		l, err := convert.Open(path, convert.LoadOptions{DType: dt})
		if err != nil {
			return nil, "", err
		}
		return l.Model, l.Name, nil
	}
	m, err := decoder.New(decodeConfig(ctx), 1)
	if err != nil {
		return nil, "", err
	}
	return m, "random-25M", m.CastWeights(dt)
}

// runDecode prefills ctx−n tokens, then times n single-token steps with the
// KV cache (greedy), so the last steps attend to ctx positions.
func runDecode(m *decoder.Model, ctx, n int) (decodeBench, error) {
	t, err := generate.Time(m, ctx, n)
	if err != nil {
		return decodeBench{}, err
	}
	wb := 0
	for _, p := range m.Params() {
		if p.Value.DType().Packed() {
			wb += len(p.Value.Raw())
		} else {
			wb += 4 * p.Value.Numel()
		}
	}
	return decodeBench{Context: ctx, Params: m.NumParams(), WeightMB: float64(wb) / 1e6, Kernel: kernels.Current(), TokensPerS: t.TokensPerS,
		MsPerToken: t.MsPerToken, PrefillTokS: t.PrefillTokS, DecodeTokens: n, RSSMB: rssMB(), PeakRSSMB: peakRSSMB()}, nil
}
