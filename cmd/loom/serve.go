package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/serve"
	"github.com/loomml/loom/serve/engine"
)

func init() {
	register("serve", "Serve models over HTTP with OpenAI's API: /v1/chat/completions, /v1/completions, /v1/embeddings,\n"+
		"/v1/models, /health and /metrics (Prometheus). Any OpenAI client works against http://ADDR/v1.", runServe)
}

// engineOptions are the engine flags of loom serve.
type engineOptions struct {
	ctx, maxBatch, maxQueue int
	kvMem                   int64
}

// engines builds an engine by --engine name; the first of engineOrder
// present is the default. Adding an engine is one entry here.
var engines = map[string]func(l *convert.Loaded, o engineOptions) (engine.Engine, error){
	"sequential": func(l *convert.Loaded, o engineOptions) (engine.Engine, error) {
		return engine.NewSequential(l.Model, l.Tok, l.Stop, engine.SequentialOptions{MaxQueue: o.maxQueue, ContextLen: o.ctx}), nil
	},
}

// engineHelp says what each engine does, for --help.
var engineHelp = map[string]string{
	"sequential": "one request at a time, the per-request baseline",
	"batched":    "continuous batching, one batched forward per decode step",
}

// engineOrder is the preference for the default --engine.
var engineOrder = []string{"batched", "sequential"}

// chatTemplate returns a model's chat template (nil: serve.PlainTemplate);
// package chat's Hugging Face templates plug in here.
var chatTemplate = func(l *convert.Loaded) (serve.Template, error) { return nil, nil }

// constraints returns the response_format compiler of a model (nil:
// json_object and json_schema are refused); package constrain plugs in
// here.
var constraints = func(l *convert.Loaded) (serve.ConstraintCompiler, error) { return nil, nil }

type modelFlags []string

func (m *modelFlags) String() string     { return strings.Join(*m, ",") }
func (m *modelFlags) Set(v string) error { *m = append(*m, v); return nil }

func runServe(args []string, stdout, stderr io.Writer) error {
	var names []string
	for n := range engines {
		names = append(names, n)
	}
	slices.Sort(names)
	def := names[0]
	for _, n := range engineOrder {
		if engines[n] != nil {
			def = n
			break
		}
	}
	fs := newFlags("serve", "--model PATH | --model NAME=PATH ... [--addr 127.0.0.1:8080] [--dtype f32|bf16|f16|q8_0] [--api-key KEY] [--ctx N] [--max-batch N] [--max-queue N] [--kv-mem BYTES] [--threads N] [--engine "+strings.Join(names, "|")+"]", stderr)
	var models modelFlags
	fs.Var(&models, "model", "a model to serve: a model directory, a training run's directory or a .gguf file, as PATH (named after it) or NAME=PATH; repeat for several")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (port 0: any free port; the address is printed)")
	dtype := choice(fs, "dtype", "f32", "in-memory precision of the weights: f32, bf16, f16 or q8_0 (activations stay f32; a GGUF file's q8_0/q4_K/q5_K/q6_K matrices stay in their blocks)", "f32", "bf16", "f16", "q8_0")
	cacheType := cacheTypeFlag(fs)
	apiKey := fs.String("api-key", "", "require this key (Authorization: Bearer KEY) on /v1/ endpoints")
	ctxLen := intFlag(fs, "ctx", 0, "context length per request, prompt and output", atLeast(1), sp{0, "the model's"})
	maxBatch := intFlag(fs, "max-batch", 16, "most sequences decoding at once (batched engine)", atLeast(1))
	maxQueue := intFlag(fs, "max-queue", 64, "most requests waiting; more get 429 with Retry-After", atLeast(1))
	kvMem := int64Flag(fs, "kv-mem", 0, "KV cache memory budget in bytes (batched engine)", atLeast(1), sp{0, "unbounded"})
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	var help []string
	for _, n := range names {
		help = append(help, n+": "+engineHelp[n])
	}
	engineName := choice(fs, "engine", def, "the engine ("+strings.Join(help, "; ")+")", names...)
	adapter := adapterFlag(fs)
	maxBody := int64Flag(fs, "max-body", 8<<20, "largest request body in bytes; larger gets 413", atLeast(1))
	grace := durationFlag(fs, "shutdown-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long requests in flight may take to finish", between(0, 24*3600))
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(models) == 0 {
		fmt.Fprintln(stderr, "loom serve: --model PATH is required (a model directory, a training run's directory or a .gguf file; NAME=PATH to name it)")
		return errUsage
	}
	if err := checkLoopback(*addr, *apiKey, stderr); err != nil {
		return err
	}
	eo := engineOptions{ctx: *ctxLen, maxBatch: *maxBatch, maxQueue: *maxQueue, kvMem: *kvMem}
	var list []serve.Model
	var opened []engine.Engine
	defer func() {
		for _, e := range opened {
			e.Close(context.Background())
		}
	}()
	for _, spec := range models {
		name, path := "", spec
		if n, p, ok := strings.Cut(spec, "="); ok && n != "" && !strings.ContainsAny(n, `/\`) {
			name, path = n, p
		}
		l, err := loadModel("serve", path, *threads, *dtype, stderr)
		if err != nil {
			return fmt.Errorf("--model %s: %w", spec, err)
		}
		if *adapter != "" && len(models) > 1 {
			return fmt.Errorf("--adapter applies to one --model; with %d models, merge the adapter into its model (loom merge) and serve that", len(models))
		}
		if err := applyAdapter(l.Model, *adapter, stderr); err != nil {
			return err
		}
		for _, n := range nn.Modules(l.Model) {
			if _, ok := n.Module.(*petl.PrefixAttention); ok {
				return fmt.Errorf("--adapter %s: prefix tuning does not run in the server's batches of separate sequences; use it with loom generate or chat", *adapter)
			}
		}
		if err := setCacheType(l.Model, *cacheType); err != nil {
			return err
		}
		serverThreads(*threads)
		if name == "" {
			name = l.Name
		}
		e, err := engines[*engineName](l, eo)
		if err != nil {
			return fmt.Errorf("--model %s: %w", spec, err)
		}
		opened = append(opened, e)
		if p, ok := e.(interface{ PackedBytes() int64 }); ok && p.PackedBytes() > 0 {
			fmt.Fprintf(stderr, "loom serve: %s: weights packed for the matrix kernels: %.1f MB more memory\n", spec, float64(p.PackedBytes())/1e6)
		}
		ms, err := serveModels(name, l, e, eo)
		if err != nil {
			return fmt.Errorf("--model %s: %w", spec, err)
		}
		list = append(list, ms...)
	}
	h, err := serve.New(serve.Options{Models: list, APIKey: *apiKey, MaxBody: *maxBody, Log: stderr})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	var ids []string
	for _, m := range list {
		ids = append(ids, m.Name)
	}
	fmt.Fprintf(stderr, "loom serve: %s engine, models %s\n", *engineName, strings.Join(ids, ", "))
	fmt.Fprintf(stderr, "listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	ctx, stop := interruptible(stderr)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintf(stderr, "loom serve: no longer accepting requests; finishing those in flight (at most %v)\n", *grace)
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "loom serve: requests still running after %v were stopped\n", *grace)
		srv.Close()
	}
	for _, e := range opened {
		e.Close(sctx)
	}
	opened = nil
	fmt.Fprintln(stderr, "loom serve: stopped")
	return nil
}

// serveModels lists a loaded model under name and, for a MatFormer, its
// narrower widths as aliases NAME:ffn=W (W is layer 0's FFN width; every
// layer is at the same fraction of its full width), sharing one engine.
func serveModels(name string, l *convert.Loaded, e engine.Engine, o engineOptions) ([]serve.Model, error) {
	tmpl, err := chatTemplate(l)
	if err != nil {
		return nil, err
	}
	cc, err := constraints(l)
	if err != nil {
		return nil, err
	}
	ctxLen := l.Model.MaxPositions()
	if o.ctx > 0 && o.ctx < ctxLen {
		ctxLen = o.ctx
	}
	enc := withSpecials(l.Tok)
	if l.TokCfg != nil && l.TokCfg.AddBOSToken != nil && !*l.TokCfg.AddBOSToken {
		enc = l.Tok
	}
	base := serve.Model{Name: name, Engine: e, Tokenizer: l.Tok, EncodePrompt: enc.Encode, Template: tmpl, Constraints: cc, ContextLen: ctxLen}
	out := []serve.Model{base}
	if mf := l.Model.Config.Loom.MatFormer; mf != nil {
		for _, g := range mf.Granularities()[1:] {
			ws := make([]int, len(l.Model.Layers))
			for i := range ws {
				ws[i] = l.Model.Config.IntermediateSizeAt(i) / g
			}
			alias := base
			alias.Name = fmt.Sprintf("%s:ffn=%d", name, ws[0])
			alias.FFNWidths = ws
			out = append(out, alias)
		}
	}
	return out, nil
}

// checkLoopback warns when the server listens beyond this machine without
// a key.
func checkLoopback(addr, key string, stderr io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, such as 127.0.0.1:8080: %v", addr, err)
	}
	if key != "" {
		return nil
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	fmt.Fprintf(stderr, "loom serve: warning: --addr %s accepts connections from other machines and no --api-key is set: anyone who can reach it can use the models\n", addr)
	return nil
}
