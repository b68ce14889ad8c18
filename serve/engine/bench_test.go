package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
)

// BenchmarkBatchedDecode reports the aggregate tokens per second of 1, 4
// and 16 concurrent streams (16-token prompts, 64 tokens each, greedy) on
// the ~25M-parameter random Llama of `loom bench decode`, at 1 and 2
// kernel threads: decode-tok/s counts the tokens generated once every
// stream has its first token (all prompts prefilled), total-tok/s all
// tokens over the whole time, prefill included.
func BenchmarkBatchedDecode(b *testing.B) {
	m, err := decoder.New(&decoder.Config{HiddenSize: 512, IntermediateSize: 1408, NumHiddenLayers: 8, NumAttentionHeads: 8,
		NumKeyValueHeads: 8, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256,
		MaxPositionEmbeddings: 512, InitializerRange: 0.02}, 1)
	if err != nil {
		b.Fatal(err)
	}
	const prompt, n = 16, 64
	for _, threads := range []int{1, 2} {
		for _, streams := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("threads=%d/streams=%d", threads, streams), func(b *testing.B) {
				defer kernels.SetThreads(kernels.SetThreads(threads))
				e, err := NewBatched(m, tokenizer.Byte{}, nil, BatchedOptions{MaxBatch: 16})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close(context.Background())
				tokens, decoded := 0, 0
				var elapsed, decoding time.Duration
				warm := true // a first burst, not timed: caches and pages warm
				for warm || b.Loop() {
					start := time.Now()
					var wg sync.WaitGroup
					times := make([][]time.Time, streams) // each stream's event times
					for s := range streams {
						ids := make([]int, prompt)
						for i := range ids {
							ids[i] = 'a' + (s+i)%26
						}
						ch, err := e.Submit(context.Background(), Request{Prompt: ids, MaxTokens: n})
						if err != nil {
							b.Fatal(err)
						}
						wg.Go(func() {
							for range ch {
								times[s] = append(times[s], time.Now())
							}
						})
					}
					wg.Wait()
					if warm {
						warm = false
						continue
					}
					elapsed += time.Since(start)
					tokens += streams * n
					// Decoding: from the moment every stream has its first
					// token (all prompts prefilled) to the last token.
					var t0, t1 time.Time
					for _, ts := range times {
						if ts[0].After(t0) {
							t0 = ts[0]
						}
						if ts[len(ts)-1].After(t1) {
							t1 = ts[len(ts)-1]
						}
					}
					for _, ts := range times {
						for _, t := range ts {
							if t.After(t0) {
								decoded++
							}
						}
					}
					decoding += t1.Sub(t0)
				}
				b.ReportMetric(float64(decoded)/decoding.Seconds(), "decode-tok/s")
				b.ReportMetric(float64(tokens)/elapsed.Seconds(), "total-tok/s")
			})
		}
	}
}

// BenchmarkPrefixReuse reports the time until each of 16 requests that
// arrive together with one 256-token system prompt (and their own 16-token
// question) has its first token, with prefix reuse and without, on the
// model of BenchmarkBatchedDecode at 1 thread.
func BenchmarkPrefixReuse(b *testing.B) {
	m, err := decoder.New(&decoder.Config{HiddenSize: 512, IntermediateSize: 1408, NumHiddenLayers: 8, NumAttentionHeads: 8,
		NumKeyValueHeads: 8, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256,
		MaxPositionEmbeddings: 512, InitializerRange: 0.02}, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer kernels.SetThreads(kernels.SetThreads(1))
	const streams, system, question = 16, 256, 16
	for _, cache := range []int{-1, 0} {
		name := map[int]string{-1: "off", 0: "on"}[cache]
		b.Run("reuse="+name, func(b *testing.B) {
			var elapsed time.Duration
			for b.Loop() {
				// A new engine each time, so no prefix is kept from before.
				e, err := NewBatched(m, tokenizer.Byte{}, nil, BatchedOptions{MaxBatch: streams, PrefixCache: cache})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				var wg sync.WaitGroup
				for s := range streams {
					ids := make([]int, system+question)
					for i := range ids {
						ids[i] = 'a' + i%26
						if i >= system {
							ids[i] = 'A' + (s+i)%26
						}
					}
					ch, err := e.Submit(context.Background(), Request{Prompt: ids, MaxTokens: 1})
					if err != nil {
						b.Fatal(err)
					}
					wg.Go(func() { collect(ch) })
				}
				wg.Wait()
				elapsed += time.Since(start)
				e.Close(context.Background())
			}
			b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms-to-all-first-tokens")
		})
	}
}
