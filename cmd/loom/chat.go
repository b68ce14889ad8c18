package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/loomml/loom/serve"
	"github.com/loomml/loom/serve/engine"
)

func init() {
	register("chat", "Chat with a model in the terminal: streams the answer, keeps the history (/reset, /system TEXT, /quit); Ctrl-C stops the answer, not the program.", runChat)
}

// chatInput is where loom chat reads the user's lines (tests replace it).
var chatInput io.Reader = os.Stdin

func runChat(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chat", "--model PATH [--system TEXT] [--max-tokens 512] [--temperature 0.7] [--top-p 0.95] [--seed S]", stderr)
	model := fs.String("model", "", "a model directory, a training run's directory or a .gguf file (required)")
	dtype := choice(fs, "dtype", "f32", "in-memory precision of the weights: f32, bf16, f16 or q8_0 (a GGUF file's q8_0/q4_K/q5_K/q6_K matrices stay in their blocks)", "f32", "bf16", "f16", "q8_0")
	adapter := adapterFlag(fs)
	cacheType := cacheTypeFlag(fs)
	system := fs.String("system", "", "a system message to start the conversation with")
	maxTokens := intFlag(fs, "max-tokens", 512, "most tokens of one answer", atLeast(1))
	temp := floatFlag(fs, "temperature", 0.7, "sampling temperature", above(0), sp{0, "greedy decoding"})
	topP := floatFlag(fs, "top-p", 0.95, "sample from the smallest set of tokens with this total probability (1: all)", span{lo: 0, hi: 1, loOpen: true})
	seed := fs.Uint64("seed", 0, "sampling seed of the first answer (each later answer adds 1)")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := loadModel("chat", *model, *threads, *dtype, stderr)
	if err != nil {
		return err
	}
	if err := applyAdapter(l.Model, *adapter, stderr); err != nil {
		return err
	}
	if err := setCacheType(l.Model, *cacheType); err != nil {
		return err
	}
	serverThreads(*threads)
	tmpl, err := chatTemplate(l)
	if err != nil {
		return err
	}
	if tmpl == nil {
		tmpl = serve.PlainTemplate{}
	}
	var stops []string
	if s, ok := tmpl.(serve.StopStringer); ok {
		stops = s.StopStrings()
	}
	eng, err := engines["batched"](l, engineOptions{maxBatch: 1, maxQueue: 1})
	if err != nil {
		return err
	}
	defer eng.Close(context.Background())
	ctxLen := l.Model.MaxPositions()

	// Ctrl-C cancels the answer being written; between answers it ends
	// the program as usual.
	var mu sync.Mutex
	var cancelAnswer context.CancelFunc
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	go func() {
		for range sig {
			mu.Lock()
			c := cancelAnswer
			mu.Unlock()
			if c == nil {
				fmt.Fprintln(stderr)
				os.Exit(exitInterrupted)
			}
			c()
		}
	}()

	var history []map[string]any
	reset := func() {
		history = nil
		if *system != "" {
			history = append(history, map[string]any{"role": "system", "content": *system})
		}
	}
	reset()
	fmt.Fprintf(stderr, "loom chat with %s (%d positions of context): /reset, /system TEXT, /quit; Ctrl-C stops an answer\n", l.Name, ctxLen)
	in := bufio.NewScanner(chatInput)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for turn := 0; ; {
		fmt.Fprint(stdout, "> ")
		if !in.Scan() {
			fmt.Fprintln(stdout)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		switch {
		case line == "":
			continue
		case line == "/quit" || line == "/exit":
			return nil
		case line == "/reset":
			reset()
			fmt.Fprintln(stdout, "(history cleared)")
			continue
		case strings.HasPrefix(line, "/system"):
			*system = strings.TrimSpace(strings.TrimPrefix(line, "/system"))
			reset()
			fmt.Fprintln(stdout, "(new system message; history cleared)")
			continue
		case strings.HasPrefix(line, "/"):
			fmt.Fprintf(stdout, "(unknown command %s: /reset, /system TEXT or /quit)\n", strings.Fields(line)[0])
			continue
		}
		history = append(history, map[string]any{"role": "user", "content": line})
		text, err := tmpl.Render(history, nil, true)
		if err != nil {
			return fmt.Errorf("chat template: %w", err)
		}
		ids := l.Tok.Encode(text)
		if len(ids) >= ctxLen {
			history = history[:len(history)-1]
			fmt.Fprintf(stdout, "(the conversation is %d tokens, more than the model's %d positions: /reset to start again)\n", len(ids), ctxLen)
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		mu.Lock()
		cancelAnswer = cancel
		mu.Unlock()
		events, err := eng.Submit(ctx, engine.Request{Prompt: ids, MaxTokens: min(*maxTokens, ctxLen-len(ids)),
			Temperature: *temp, TopP: *topP, Seed: *seed + uint64(turn), Stop: stops})
		if err != nil {
			cancel()
			return err
		}
		var answer strings.Builder
		for ev := range events {
			fmt.Fprint(stdout, ev.Text)
			answer.WriteString(ev.Text)
			if ev.Finish == "error" && ctx.Err() == nil {
				fmt.Fprintf(stdout, "\n(error: %v)", ev.Err)
			}
		}
		mu.Lock()
		cancelAnswer = nil
		mu.Unlock()
		stopped := ctx.Err() != nil
		cancel()
		if stopped {
			fmt.Fprint(stdout, " (stopped)")
		}
		fmt.Fprintln(stdout)
		history = append(history, map[string]any{"role": "assistant", "content": strings.TrimSpace(answer.String())})
		turn++
	}
}
