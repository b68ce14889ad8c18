package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
)

// decodeConfig is a ~25M-parameter Llama-style model (byte vocabulary):
// width 512, 8 layers of 8 heads, SwiGLU of 1408.
func decodeConfig(ctx int) *decoder.Config {
	return &decoder.Config{HiddenSize: 512, IntermediateSize: 1408, NumHiddenLayers: 8, NumAttentionHeads: 8,
		NumKeyValueHeads: 8, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256,
		MaxPositionEmbeddings: ctx, InitializerRange: 0.02, Loom: decoder.Options{Tokenizer: "byte"}}
}

type decodeBench struct {
	Context      int     `json:"context"`
	Params       int     `json:"params"`
	Threads      int     `json:"threads"`
	Kernel       string  `json:"kernel"`
	TokensPerS   float64 `json:"tokens_per_s"`
	MsPerToken   float64 `json:"ms_per_token_median"`
	PrefillTokS  float64 `json:"prefill_tokens_per_s"`
	DecodeTokens int     `json:"decode_tokens"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
}

func benchDecode(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "decode [--threads N] [--json] [--tokens 64]", stderr)
	threads := fs.Int("threads", 1, "threads")
	asJSON := fs.Bool("json", false, "print JSON")
	n := fs.Int("tokens", 64, "decoded tokens timed at each context")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n >= 256 {
		return fmt.Errorf("--tokens is %d, want 1 to 255 (the decoded tokens must fit in the smallest context, 256)", *n)
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	var out []decodeBench
	for _, ctx := range []int{256, 1024} {
		r, err := runDecode(ctx, *n)
		if err != nil {
			return err
		}
		r.Threads = *threads
		out = append(out, r)
		if !*asJSON {
			fmt.Fprintf(stdout, "decode at context %4d: %.1f tokens/s (median %.2f ms/token over %d tokens), prefill %.0f tokens/s, %d params, %s GEMM, %d threads, peak RSS %.0f MB\n",
				ctx, r.TokensPerS, r.MsPerToken, r.DecodeTokens, r.PrefillTokS, r.Params, r.Kernel, r.Threads, r.PeakRSSMB)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return nil
}

// runDecode prefills ctx−n tokens, then times n single-token steps with the
// KV cache (greedy), so the last steps attend to ctx positions.
func runDecode(ctx, n int) (decodeBench, error) {
	m, err := decoder.New(decodeConfig(ctx), 1)
	if err != nil {
		return decodeBench{}, err
	}
	caches := m.NewKVCaches(1, ctx)
	prompt := make([]int, ctx-n)
	for i := range prompt {
		prompt[i] = (i*31 + 7) % 256
	}
	var logits *autograd.Var
	t0 := time.Now()
	autograd.NoGrad(func() { logits = m.Forward(prompt, 1, len(prompt), 0, caches) })
	prefill := time.Since(t0)
	next := argmaxLast(logits)
	var ts []float64
	start := time.Now()
	for i := range n {
		t := time.Now()
		autograd.NoGrad(func() { logits = m.Forward([]int{next}, 1, 1, len(prompt)+i, caches) })
		next = argmaxLast(logits)
		ts = append(ts, float64(time.Since(t).Microseconds())/1000)
	}
	total := time.Since(start)
	sort.Float64s(ts)
	return decodeBench{Context: ctx, Params: m.NumParams(), Kernel: kernels.Current(), TokensPerS: float64(n) / total.Seconds(),
		MsPerToken: ts[len(ts)/2], PrefillTokS: float64(len(prompt)) / prefill.Seconds(), DecodeTokens: n, PeakRSSMB: peakRSSMB()}, nil
}

func argmaxLast(l *autograd.Var) int {
	T, V := l.Dim(1), l.Dim(2)
	row := l.Value.Contiguous().F32()[(T-1)*V : T*V]
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}
