package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/serve"
	"github.com/loomml/loom/serve/load"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// benchServe serves a model in this process on a loopback port and drives
// it with --clients concurrent streaming completions (package serve/load,
// which speaks only the OpenAI protocol), or drives a server already
// running at --url.
func benchServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagsSummary("bench serve", "[--model PATH | --url URL --name MODEL] [--clients 16] [--requests 64] [--prompt-tokens 32] [--max-tokens 64] [--warmup 1] [--long-prompt N] [--plot FILE.png [--compare NAME=FILE]] [--engine batched] [--threads 1] [--json]", benchSummary("serve"), stderr)
	model := fs.String("model", "", "the model to serve in this process: a model directory, a training run's directory or a .gguf file (default: the random ~25M-parameter Llama of bench decode)")
	url := fs.String("url", "", "drive this already running OpenAI-compatible server instead (its /v1 base URL)")
	name := fs.String("name", "", "with --url: the model name to request")
	apiKey := fs.String("api-key", "", "with --url: the server's API key")
	clients := intFlag(fs, "clients", 16, "concurrent streaming requests", between(1, 1024))
	requests := intFlag(fs, "requests", 0, "requests in all", atLeast(1), sp{0, "4 per client"})
	promptTokens := intFlag(fs, "prompt-tokens", 32, "prompt length in tokens (byte-level prompts: one byte each)", between(1, 1<<16))
	maxTokens := intFlag(fs, "max-tokens", 64, "tokens generated per request", between(1, 1<<16))
	engineName := choice(fs, "engine", "batched", "the engine of an in-process model: batched or sequential", "batched", "sequential")
	maxBatch := intFlag(fs, "max-batch", 16, "most sequences decoding at once (batched engine)", atLeast(1))
	threads := intFlag(fs, "threads", 1, "threads", atLeast(1))
	longPrompt := intFlag(fs, "long-prompt", 0, "also send one request with a prompt of this many tokens once every stream has its first token, and report how long the streams waited for a token while it was prefilled", atLeast(2), sp{0, "none"})
	plotPath := fs.String("plot", "", "write a PNG of the distributions of time to first token and between tokens to this file")
	samples := fs.Bool("samples", false, "keep every latency sample in the JSON (ttft_samples_ms, itl_samples_ms)")
	var compare []string
	fs.Func("compare", "with --plot: also draw this earlier result (JSON with samples, e.g. from serve/testdata/llamacpp_parallel.mjs) as NAME=FILE; repeatable", func(v string) error {
		if _, _, ok := strings.Cut(v, "="); !ok {
			return fmt.Errorf("want NAME=FILE, have %q", v)
		}
		compare = append(compare, v)
		return nil
	})
	warmup := intFlag(fs, "warmup", 1, "rounds of the same load (--clients requests at once) before the measured run, not counted: the server's memory and caches warm, as in a server that has been up for a while", between(0, 100))
	timeout := durationFlag(fs, "timeout", 10*time.Minute, "stop the run after this long (unfinished requests count as errors)", above(0))
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	n := *requests
	if n == 0 {
		n = 4 * *clients
	}
	base, modelName := strings.TrimSuffix(*url, "/"), *name
	if base == "" {
		if err := setThreads(*threads); err != nil {
			return err
		}
		var l *convert.Loaded
		if *model == "" {
			m, _, err := decodeModel("", 2048, tensor.Float32)
			if err != nil {
				return err
			}
			tok, err := tokenizer.Load("byte", "")
			if err != nil {
				return err
			}
			l = &convert.Loaded{Name: "random-25M", Model: m, Tok: tok}
		} else {
			var err error
			if l, err = loadModel("bench serve", *model, *threads, "", stderr); err != nil {
				return err
			}
		}
		serverThreads(*threads)
		eo := engineOptions{maxBatch: *maxBatch, maxQueue: max(64, n)}
		e, err := engines[*engineName](l, eo)
		if err != nil {
			return err
		}
		defer e.Close(context.Background())
		ms, err := serveModels("bench", l, e, eo)
		if err != nil {
			return err
		}
		h, err := serve.New(serve.Options{Models: ms[:1]})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		defer srv.Close()
		base, modelName = "http://"+ln.Addr().String()+"/v1", "bench"
	} else if modelName == "" {
		return fmt.Errorf("--url needs --name, the model to request")
	}
	// A byte-level prompt of the asked length (one token per byte for a
	// byte tokenizer; other tokenizers count their own).
	prompt := strings.Repeat("abcdefghijklmnopqrstuvwxyz012345", *promptTokens/32+1)[:*promptTokens]
	if *warmup > 0 {
		res, err := load.Run(context.Background(), load.Options{URL: base, APIKey: *apiKey, Model: modelName, Prompt: prompt,
			Clients: *clients, Requests: *warmup * *clients, MaxTokens: *maxTokens, Timeout: *timeout})
		if err != nil {
			return err
		}
		if res.Errors > 0 {
			return fmt.Errorf("%d warm-up requests failed, the first with: %s", res.Errors, res.FirstError)
		}
	}
	long := ""
	if *longPrompt > 0 { // another pattern, so that no prefix is shared with the streams' prompt
		long = strings.Repeat("ZYXWVUTSRQPONMLKJIHGFEDCBA987654", *longPrompt/32+1)[:*longPrompt]
	}
	res, err := load.Run(context.Background(), load.Options{URL: base, APIKey: *apiKey, Model: modelName, Prompt: prompt,
		Clients: *clients, Requests: n, MaxTokens: *maxTokens, Timeout: *timeout, LongPrompt: long, Samples: *samples || *plotPath != ""})
	if err != nil {
		return err
	}
	if *plotPath != "" {
		runs, names := []load.Result{res}, []string{"loom"}
		if base != "" && *url != "" {
			names[0] = modelName
		}
		for _, cmp := range compare {
			name, path, _ := strings.Cut(cmp, "=")
			r, err := readResult(path)
			if err != nil {
				return err
			}
			runs, names = append(runs, r), append(names, name)
		}
		c, err := latencyChart(fmt.Sprintf("%d streams, %d-token prompts, %d tokens each", *clients, *promptTokens, *maxTokens), runs, names)
		if err != nil {
			return err
		}
		if err := c.WritePNG(*plotPath); err != nil {
			return err
		}
		if !*samples {
			res.TTFTSamplesMS, res.ITLSamplesMS = nil, nil
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "%d clients, %d requests (%d errors), %d prompt + %.0f generated tokens each: %.1f tokens/s; time to first token p50 %.1f ms, p99 %.1f ms; between tokens p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		res.Clients, res.Requests, res.Errors, res.PromptTokens, res.TokensPerReq, res.TokensPerSec, res.TTFTp50MS, res.TTFTp99MS, res.ITLp50MS, res.ITLp99MS, res.ITLMaxMS)
	if res.DecodeTokensPerSec > 0 {
		fmt.Fprintf(stdout, "decoding alone (once every stream has its first token): %.1f tokens/s\n", res.DecodeTokensPerSec)
	}
	if l := res.Long; l != nil {
		fmt.Fprintf(stdout, "a %d-token prompt arriving meanwhile had its token after %.1f ms; the %d streams running across it waited at most %.1f ms for a token\n", l.PromptTokens, l.TTFTMS, l.Streams, l.StallMaxMS)
	}
	if res.FirstError != "" {
		fmt.Fprintf(stdout, "first error: %s\n", res.FirstError)
	}
	return nil
}
