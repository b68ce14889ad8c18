package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/loomml/loom/tensor"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/generate"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
)

const testCtx = 96

// testModel is a small random Llama over bytes with grouped-query
// attention; a wide initialisation keeps its logits far from ties.
func testModel(t testing.TB) *decoder.Model {
	t.Helper()
	m, err := decoder.New(&decoder.Config{HiddenSize: 48, IntermediateSize: 96, NumHiddenLayers: 2, NumAttentionHeads: 4,
		NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256,
		MaxPositionEmbeddings: testCtx, InitializerRange: 0.5}, 11)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wideModel is a small random Llama whose every matrix is large enough
// (n·k ≥ 16384) for a decode step's products to take the kernels'
// batch-invariant path.
func wideModel(t testing.TB) *decoder.Model {
	t.Helper()
	m, err := decoder.New(&decoder.Config{HiddenSize: 128, IntermediateSize: 256, NumHiddenLayers: 2, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: testCtx, InitializerRange: 0.2}, 5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// batchInvariant reports whether the engine's products are batch-invariant:
// the kernel in use packs weights (the assembly kernels).
func batchInvariant() bool { return kernels.PackWeight([]float32{1}, 1, 1, 1) != nil }

func newTestEngine(t testing.TB, m *decoder.Model, o BatchedOptions) *Batched {
	t.Helper()
	e, err := NewBatched(m, tokenizer.Byte{}, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// result is a request's events gathered.
type result struct {
	text   string
	tokens []int
	events []Event
	last   Event
}

func collect(ch <-chan Event) result {
	var r result
	var sb strings.Builder
	for ev := range ch {
		sb.WriteString(ev.Text)
		if ev.Token >= 0 {
			r.tokens = append(r.tokens, ev.Token)
		}
		r.events = append(r.events, ev)
		r.last = ev
	}
	r.text = sb.String()
	return r
}

func run(t testing.TB, e Engine, r Request) result {
	t.Helper()
	ch, err := e.Submit(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return collect(ch)
}

// prompts are of different lengths (1 to 30 bytes).
var prompts = []string{"a", "Hello", "The quick brown fox", "0123456789", "xy", "once upon a time, there was", "Zz", "abcdefghijklmnopqrstuvwxyz1234"}

func greedy(t testing.TB, m *decoder.Model, prompt string, n int) generate.Result {
	t.Helper()
	res, err := generate.Generate(m, tokenizer.Byte{}, prompt, generate.Options{MaxNewTokens: n, NoSlide: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBatchedGreedyMatchesGenerate: greedy outputs equal generate's, for
// each prompt alone and for all eight submitted together (prompts
// prefilled in chunks of 4 while the others decode).
func TestBatchedGreedyMatchesGenerate(t *testing.T) {
	m := testModel(t)
	const n = 24
	want := make([]generate.Result, len(prompts))
	for i, p := range prompts {
		want[i] = greedy(t, m, p, n)
	}
	check := func(t *testing.T, i int, got result) {
		t.Helper()
		if got.text != want[i].Text || fmt.Sprint(got.tokens) != fmt.Sprint(want[i].Tokens) {
			t.Errorf("prompt %q: got %q %v, generate gives %q %v", prompts[i], got.text, got.tokens, want[i].Text, want[i].Tokens)
		}
		if got.last.Finish != "length" || got.last.CompletionTokens != n || got.last.PromptTokens != len(prompts[i]) {
			t.Errorf("prompt %q: final event %+v", prompts[i], got.last)
		}
	}
	t.Run("alone", func(t *testing.T) {
		e := newTestEngine(t, m, BatchedOptions{})
		for i, p := range prompts {
			check(t, i, run(t, e, Request{Prompt: tokenizer.Byte{}.Encode(p), MaxTokens: n}))
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		e := newTestEngine(t, m, BatchedOptions{PrefillChunk: 4})
		chans := make([]<-chan Event, len(prompts))
		for i, p := range prompts {
			ch, err := e.Submit(context.Background(), Request{Prompt: tokenizer.Byte{}.Encode(p), MaxTokens: n})
			if err != nil {
				t.Fatal(err)
			}
			chans[i] = ch
		}
		res := make([]result, len(prompts))
		var wg sync.WaitGroup
		for i, ch := range chans {
			wg.Go(func() { res[i] = collect(ch) })
		}
		wg.Wait()
		for i := range prompts {
			check(t, i, res[i])
		}
	})
}

// TestBatchedSeed: a sampled request gives the same text for the same seed
// alone and under load (seven other requests decoding in the same
// batches, their prompts prefilled in the same forward passes), and another
// text for another seed. With packed weights every step is batch-invariant,
// so the log-probabilities under load are the same bits as alone.
func TestBatchedSeed(t *testing.T) {
	m := wideModel(t)
	e := newTestEngine(t, m, BatchedOptions{})
	req := func(seed uint64) Request {
		return Request{Prompt: tokenizer.Byte{}.Encode("Hello"), MaxTokens: 30, Temperature: 0.9, TopP: 0.95, TopK: 50, Seed: seed, Logprobs: true}
	}
	a, b := run(t, e, req(42)), run(t, e, req(42))
	if a.text != b.text {
		t.Fatalf("same seed, different texts: %q, %q", a.text, b.text)
	}
	if c := run(t, e, req(43)); c.text == a.text {
		t.Fatalf("seeds 42 and 43 both give %q", a.text)
	}
	var chans []<-chan Event
	for i, p := range prompts[1:] {
		r := req(uint64(i))
		r.Prompt = tokenizer.Byte{}.Encode(p)
		ch, err := e.Submit(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	ch, err := e.Submit(context.Background(), req(42))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, c := range chans {
		wg.Go(func() { collect(c) })
	}
	loaded := collect(ch)
	wg.Wait()
	if loaded.text != a.text {
		t.Fatalf("seed 42 under load gives %q, alone %q", loaded.text, a.text)
	}
	if batchInvariant() {
		for i, ev := range loaded.events {
			if ev.Logprob != a.events[i].Logprob {
				t.Fatalf("token %d: log-probability %v under load, %v alone", i, ev.Logprob, a.events[i].Logprob)
			}
		}
	}
}

// TestBatchedFinish covers the ways a request ends.
func TestBatchedFinish(t *testing.T) {
	m := testModel(t)
	e := newTestEngine(t, m, BatchedOptions{Ctx: 40})
	prompt := tokenizer.Byte{}.Encode("Hello")
	full := greedy(t, m, "Hello", 40)
	// A stop string from the middle of the greedy text, and a stop token:
	// the first occurrence of the 6th token.
	stop := full.Text[8:11]
	stopTok := full.Tokens[5]
	cases := []struct {
		name         string
		r            Request
		text, finish string
		completion   int
	}{
		{"max tokens", Request{Prompt: prompt, MaxTokens: 7}, full.Text[:7], "length", 7},
		{"context", Request{Prompt: prompt, MaxTokens: 100}, full.Text[:40-5], "length", 35},
		{"huge max tokens", Request{Prompt: prompt, MaxTokens: math.MaxInt}, full.Text[:40-5], "length", 35},
		{"stop string", Request{Prompt: prompt, MaxTokens: 30, Stop: []string{"never there", stop}}, full.Text[:strings.Index(full.Text, stop)], "stop", -1},
		{"stop token", Request{Prompt: prompt, MaxTokens: 30, StopTokens: []int{stopTok}}, full.Text[:strings.IndexByte(full.Text, byte(stopTok))], "stop", strings.IndexByte(full.Text, byte(stopTok))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, e, c.r)
			if got.text != c.text || got.last.Finish != c.finish {
				t.Fatalf("got %q finish %q, want %q finish %q", got.text, got.last.Finish, c.text, c.finish)
			}
			if c.completion >= 0 && got.last.CompletionTokens != c.completion {
				t.Fatalf("completion tokens %d, want %d", got.last.CompletionTokens, c.completion)
			}
			for _, ev := range got.events[:len(got.events)-1] {
				if ev.Finish != "" || ev.Token < 0 {
					t.Fatalf("event before the last: %+v", ev)
				}
			}
		})
	}
}

// TestBatchedLogprobs: the chosen greedy token is the most likely
// alternative, alternatives come most likely first, and probabilities are
// at most 1.
func TestBatchedLogprobs(t *testing.T) {
	e := newTestEngine(t, testModel(t), BatchedOptions{})
	got := run(t, e, Request{Prompt: []int{1, 2, 3}, MaxTokens: 5, Logprobs: true, TopLogprobs: 4})
	for _, ev := range got.events {
		if len(ev.Top) != 4 || ev.Top[0].Token != ev.Token || ev.Top[0].Logprob != ev.Logprob || ev.Logprob > 0 {
			t.Fatalf("event %+v", ev)
		}
		for i := 1; i < len(ev.Top); i++ {
			if ev.Top[i].Logprob > ev.Top[i-1].Logprob {
				t.Fatalf("alternatives out of order: %+v", ev.Top)
			}
		}
	}
}

// hold makes e's scheduler stop after its first step until release is
// called, so a test can look at a request while it is surely running.
// Call it before the first Submit.
func hold(e *Batched) (release func()) {
	gate := make(chan struct{})
	var once sync.Once
	e.step = func(int, int) { once.Do(func() { <-gate }) }
	return sync.OnceFunc(func() { close(gate) })
}

// waitFirst returns once ch's first event has arrived (the request runs).
func waitFirst(t *testing.T, ch <-chan Event) {
	t.Helper()
	if ev, ok := <-ch; !ok || ev.Finish != "" {
		t.Fatalf("first event %+v (open %v)", ev, ok)
	}
}

// TestBatchedCancelFreesSlot: canceling a running request ends its stream
// with the context's error and frees its slot and memory, so the request
// waiting behind it runs.
func TestBatchedCancelFreesSlot(t *testing.T) {
	m := testModel(t)
	e := newTestEngine(t, m, BatchedOptions{MaxBatch: 1})
	release := hold(e)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	long, err := e.Submit(ctx, Request{Prompt: []int{5, 6}, MaxTokens: 90})
	if err != nil {
		t.Fatal(err)
	}
	waitFirst(t, long)
	next, err := e.Submit(context.Background(), Request{Prompt: tokenizer.Byte{}.Encode("Hello"), MaxTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Running != 1 || s.Queued != 1 || s.KVBytes != 92*e.kvPerPos {
		t.Fatalf("stats while running %+v", s)
	}
	cancel()
	release()
	got := collect(long)
	if !errors.Is(got.last.Err, context.Canceled) || got.last.Finish != "error" {
		t.Fatalf("canceled request's last event %+v", got.last)
	}
	if r := collect(next); r.text != greedy(t, m, "Hello", 4).Text {
		t.Fatalf("next request gives %q", r.text)
	}
	if s := e.Stats(); s.Running != 0 || s.Queued != 0 || s.KVBytes != 0 {
		t.Fatalf("stats after %+v", s)
	}
}

// TestBatchedQueueFull: with one slot and a queue of one, a third request
// is refused with ErrQueueFull.
func TestBatchedQueueFull(t *testing.T) {
	e := newTestEngine(t, testModel(t), BatchedOptions{MaxBatch: 1, MaxQueue: 1})
	defer hold(e)()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := e.Submit(ctx, Request{Prompt: []int{1}, MaxTokens: 90})
	if err != nil {
		t.Fatal(err)
	}
	waitFirst(t, first)
	if _, err := e.Submit(ctx, Request{Prompt: []int{1}, MaxTokens: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Submit(ctx, Request{Prompt: []int{1}, MaxTokens: 2}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third request: %v, want ErrQueueFull", err)
	}
}

// TestBatchedTooLong: a prompt that fills the context, or a request whose
// keys and values exceed the whole budget, is refused at Submit.
func TestBatchedTooLong(t *testing.T) {
	m := testModel(t)
	per := kvBytesPerPosition(m)
	e := newTestEngine(t, m, BatchedOptions{Ctx: 32, KVBudget: 20 * per})
	cases := []struct {
		r    Request
		want string
	}{
		{Request{Prompt: make([]int, 32), MaxTokens: 1}, "the prompt has 32 tokens and the context 32 positions"},
		{Request{Prompt: make([]int, 10), MaxTokens: 11}, fmt.Sprintf("21 positions of keys and values take %d bytes, more than the budget of %d", 21*per, 20*per)},
	}
	for _, c := range cases {
		_, err := e.Submit(context.Background(), c.r)
		if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want ErrTooLong saying %q", err, c.want)
		}
	}
	if r := run(t, e, Request{Prompt: make([]int, 10), MaxTokens: 10}); r.last.CompletionTokens != 10 {
		t.Fatalf("a request that fits: %+v", r.last)
	}
}

// TestBatchedKVBudgetWaits: two requests that fit the budget only one at a
// time run one after the other, the second waiting in the queue.
func TestBatchedKVBudgetWaits(t *testing.T) {
	m := testModel(t)
	per := kvBytesPerPosition(m)
	e := newTestEngine(t, m, BatchedOptions{KVBudget: 60 * per})
	release := hold(e)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	first, err := e.Submit(ctx, Request{Prompt: []int{1, 2}, MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	waitFirst(t, first)
	second, err := e.Submit(context.Background(), Request{Prompt: tokenizer.Byte{}.Encode("xy"), MaxTokens: 30})
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Running != 1 || s.Queued != 1 || s.KVBytes != 42*per || s.KVBudget != 60*per {
		t.Fatalf("stats %+v", s)
	}
	cancel()
	release()
	collect(first)
	if r := collect(second); r.text != greedy(t, m, "xy", 30).Text {
		t.Fatalf("second request gives %q", r.text)
	}
}

// TestBatchedClose: Close lets running and queued requests finish and
// then refuses new ones; Close with an ended context cancels them.
func TestBatchedClose(t *testing.T) {
	m := testModel(t)
	t.Run("drain", func(t *testing.T) {
		e := newTestEngine(t, m, BatchedOptions{MaxBatch: 2})
		var chans []<-chan Event
		for i := range 4 {
			ch, err := e.Submit(context.Background(), Request{Prompt: []int{i + 1}, MaxTokens: 10})
			if err != nil {
				t.Fatal(err)
			}
			chans = append(chans, ch)
		}
		var wg sync.WaitGroup
		res := make([]result, len(chans))
		for i, ch := range chans {
			wg.Go(func() { res[i] = collect(ch) })
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for i, r := range res {
			if r.last.Finish != "length" || r.last.CompletionTokens != 10 {
				t.Errorf("request %d ended %+v", i, r.last)
			}
		}
		if _, err := e.Submit(context.Background(), Request{Prompt: []int{1}, MaxTokens: 1}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Submit after Close: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e := newTestEngine(t, m, BatchedOptions{MaxBatch: 1})
		release := hold(e)
		ch, err := e.Submit(context.Background(), Request{Prompt: []int{1}, MaxTokens: 90})
		if err != nil {
			t.Fatal(err)
		}
		waitFirst(t, ch)
		go func() { // let the scheduler go once Close has given up waiting
			for {
				e.mu.Lock()
				aborted := e.abort != nil
				e.mu.Unlock()
				if aborted {
					release()
					return
				}
				runtime.Gosched()
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := e.Close(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close: %v", err)
		}
		if r := collect(ch); !errors.Is(r.last.Err, ErrClosed) {
			t.Fatalf("last event %+v", r.last)
		}
	})
}

// TestBatchedEmbed: embeddings have unit length, equal the normalised mean
// of the final hidden states, and do not depend on the other inputs.
func TestBatchedEmbed(t *testing.T) {
	m := testModel(t)
	e := newTestEngine(t, m, BatchedOptions{})
	in := [][]int{{1, 2, 3}, {200}, tokenizer.Byte{}.Encode("The quick brown fox")}
	got, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-5 || len(v) != 48 {
			t.Fatalf("embedding %d: squared norm %v, %d values", i, n, len(v))
		}
	}
	// Input 0 by hand.
	var h []float32
	autograd.NoGrad(func() { h = m.Hidden(nil, in[0], 1, 3).Value.Contiguous().F32() })
	var norm float64
	mean := make([]float64, 48)
	for d := range mean {
		mean[d] = (float64(h[d]) + float64(h[48+d]) + float64(h[96+d])) / 3
		norm += mean[d] * mean[d]
	}
	for d := range mean {
		if w := mean[d] / math.Sqrt(norm); math.Abs(float64(got[0][d])-w) > 1e-6 {
			t.Fatalf("value %d: %v, want %v", d, got[0][d], w)
		}
	}
	alone, err := e.Embed(context.Background(), in[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(alone[0]) != fmt.Sprint(got[1]) {
		t.Fatal("an embedding depends on the other inputs")
	}
	if _, err := e.Embed(context.Background(), [][]int{{1}, {}}); err == nil || !strings.Contains(err.Error(), "input 1 is empty") {
		t.Fatalf("empty input: %v", err)
	}
}

// TestRequestValidate: each field out of range is named.
func TestRequestValidate(t *testing.T) {
	ok := Request{Prompt: []int{1}, MaxTokens: 1}
	cases := []struct {
		mod  func(*Request)
		want string
	}{
		{func(r *Request) { r.Prompt = nil }, "Prompt is empty"},
		{func(r *Request) { r.Prompt = []int{300} }, "Prompt[0] is token 300"},
		{func(r *Request) { r.MaxTokens = 0 }, "MaxTokens 0"},
		{func(r *Request) { r.Temperature = math.NaN() }, "Temperature NaN"},
		{func(r *Request) { r.TopP = 1.5 }, "TopP 1.5"},
		{func(r *Request) { r.TopK = -1 }, "TopK -1"},
		{func(r *Request) { r.PresencePenalty = 3 }, "PresencePenalty 3"},
		{func(r *Request) { r.FrequencyPenalty = -2.5 }, "FrequencyPenalty -2.5"},
		{func(r *Request) { r.RepetitionPenalty = -1 }, "RepetitionPenalty -1"},
		{func(r *Request) { r.TopLogprobs = 21 }, "TopLogprobs 21"},
		{func(r *Request) { r.StopTokens = []int{-1} }, "StopTokens[0] is token -1"},
	}
	e := newTestEngine(t, testModel(t), BatchedOptions{})
	for _, c := range cases {
		r := ok
		c.mod(&r)
		if _, err := e.Submit(context.Background(), r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error saying %q", err, c.want)
		}
	}
}

// TestBatchedChunkedPrefill: a long prompt is prefilled PrefillStep
// tokens per step, and every one of those steps also decodes the stream
// already running; the long request's output is still generate's.
func TestBatchedChunkedPrefill(t *testing.T) {
	m := testModel(t)
	e := newTestEngine(t, m, BatchedOptions{PrefillChunk: 4, PrefillStep: 4})
	type step struct{ prefilled, decoded int }
	var mu sync.Mutex
	var steps []step
	submitted := make(chan struct{})
	e.step = func(p, d int) {
		mu.Lock()
		steps = append(steps, step{p, d})
		first := len(steps) == 1
		mu.Unlock()
		if first { // the running request waits for the long one to arrive
			<-submitted
		}
	}
	running, err := e.Submit(context.Background(), Request{Prompt: []int{1}, MaxTokens: 60})
	if err != nil {
		t.Fatal(err)
	}
	waitFirst(t, running)
	long := strings.Repeat("a long prompt ", 3)[:40]
	ch, err := e.Submit(context.Background(), Request{Prompt: tokenizer.Byte{}.Encode(long), MaxTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	close(submitted)
	got := collect(ch)
	collect(running)
	if want := greedy(t, m, long, 5).Text; got.text != want {
		t.Fatalf("long prompt gives %q, want %q", got.text, want)
	}
	mu.Lock()
	defer mu.Unlock()
	chunks := 0
	for _, s := range steps {
		if s.prefilled > 0 && s.prefilled != 1 { // the running request's own 1-token prompt aside
			chunks++
			if s.prefilled != 4 || s.decoded < 1 {
				t.Fatalf("a prefill step of %d tokens decoded %d sequences (steps %v)", s.prefilled, s.decoded, steps)
			}
		}
	}
	if chunks != 10 {
		t.Fatalf("%d prefill chunks of 4 for a 40-token prompt (steps %v)", chunks, steps)
	}
}

// TestBatchedPrefixReuse: prompts that share whole chunks with an earlier
// prompt (kept after it finished, or running in the same burst) copy their
// keys and values instead of computing them, and give the same bits as
// without reuse (in a burst, on batch-invariant kernels); with float32 and
// float16 key/value caches.
func TestBatchedPrefixReuse(t *testing.T) {
	for _, cdt := range []tensor.DType{tensor.Float32, tensor.Float16} {
		t.Run(cdt.String(), func(t *testing.T) { testPrefixReuse(t, cdt) })
	}
}

func testPrefixReuse(t *testing.T, cdt tensor.DType) {
	m := wideModel(t)
	if err := m.SetCacheDType(cdt); err != nil {
		t.Fatal(err)
	}
	system := "You are a helpful assistant. Be brief!" // 38 bytes: two chunks of 16
	questions := []string{"Question one?", "What now?", "Why", "Tell me more, please."}
	req := func(q string) Request {
		return Request{Prompt: tokenizer.Byte{}.Encode(system + q), MaxTokens: 8, Logprobs: true}
	}
	// Without reuse.
	plain := newTestEngine(t, m, BatchedOptions{PrefillChunk: 16, PrefixCache: -1})
	want := make([]result, len(questions))
	for i, q := range questions {
		want[i] = run(t, plain, req(q))
	}
	if n, _ := plain.PrefixReuse(); n != 0 {
		t.Fatalf("PrefixCache −1 reused %d prefixes", n)
	}
	same := func(t *testing.T, i int, got result) {
		t.Helper()
		for j, ev := range got.events {
			w := want[i].events[j]
			if ev.Token != w.Token || ev.Logprob != w.Logprob && (batchInvariant() || math.Abs(ev.Logprob-w.Logprob) > 1e-4) {
				t.Fatalf("question %d token %d: %d (%v) with reuse, %d (%v) without", i, j, ev.Token, ev.Logprob, want[i].events[j].Token, want[i].events[j].Logprob)
			}
		}
	}
	// count returns the prompt tokens prefilled so far (every prefill step
	// of a request runs before its last event, so once the requests are
	// done the count is whole; the scheduler may still be in a later step,
	// hence the lock).
	count := func(e *Batched) func() int {
		var mu sync.Mutex
		total := 0
		e.step = func(p, _ int) {
			mu.Lock()
			total += p
			mu.Unlock()
		}
		return func() int {
			mu.Lock()
			defer mu.Unlock()
			return total
		}
	}
	t.Run("one after another", func(t *testing.T) {
		e := newTestEngine(t, m, BatchedOptions{PrefillChunk: 16})
		prefilled := count(e)
		for i, q := range questions {
			same(t, i, run(t, e, req(q)))
		}
		n, pos := e.PrefixReuse()
		if n != 3 || pos != 3*32 {
			t.Fatalf("reused %d prefixes, %d positions; want 3, 96", n, pos)
		}
		if full := 4*len(system) + len(strings.Join(questions, "")); prefilled() != full-96 {
			t.Fatalf("prefilled %d tokens, want %d", prefilled(), full-96)
		}
	})
	t.Run("burst", func(t *testing.T) {
		e := newTestEngine(t, m, BatchedOptions{PrefillChunk: 16})
		release := hold(e)
		first, err := e.Submit(context.Background(), Request{Prompt: []int{1}, MaxTokens: 1})
		if err != nil {
			t.Fatal(err)
		}
		collect(first) // the scheduler now waits in its first step
		chans := make([]<-chan Event, len(questions))
		for i, q := range questions {
			if chans[i], err = e.Submit(context.Background(), req(q)); err != nil {
				t.Fatal(err)
			}
		}
		release()
		for i, ch := range chans {
			same(t, i, collect(ch))
		}
		if n, pos := e.PrefixReuse(); n != 3 || pos != 3*32 {
			t.Fatalf("reused %d prefixes, %d positions; want 3, 96", n, pos)
		}
	})
}

// TestBatchedMatFormerWidths: requests at different FFN widths of one
// MatFormer decode side by side, each giving what generate gives at its
// width; widths out of range are refused.
func TestBatchedMatFormerWidths(t *testing.T) {
	m, err := decoder.New(&decoder.Config{HiddenSize: 48, IntermediateSize: 96, NumHiddenLayers: 2, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: testCtx, InitializerRange: 0.5,
		Loom: decoder.Options{MatFormer: &decoder.MatFormer{Factor: 4}}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	widths := [][]int{nil, {48, 24}, {96, 48}}
	want := make([]string, len(widths))
	for i, w := range widths {
		if w == nil {
			w = []int{96, 96}
		}
		if err := m.SetFFNWidths(w); err != nil {
			t.Fatal(err)
		}
		want[i] = greedy(t, m, "Hello", 12).Text
	}
	if want[0] == want[1] {
		t.Fatal("the widths do not change the output; the test cannot tell them apart")
	}
	e := newTestEngine(t, m, BatchedOptions{})
	chans := make([]<-chan Event, len(widths))
	for i, w := range widths {
		if chans[i], err = e.Submit(context.Background(), Request{Prompt: tokenizer.Byte{}.Encode("Hello"), MaxTokens: 12, FFNWidths: w}); err != nil {
			t.Fatal(err)
		}
	}
	for i, ch := range chans {
		if got := collect(ch).text; got != want[i] {
			t.Errorf("widths %v: %q, want %q", widths[i], got, want[i])
		}
	}
	for _, c := range []struct {
		w    []int
		want string
	}{{[]int{48}, "FFNWidths has 1 widths, the model 2 layers"}, {[]int{48, 97}, "FFNWidths[1] is 97; want 1 … 96"}} {
		if _, err := e.Submit(context.Background(), Request{Prompt: []int{1}, MaxTokens: 1, FFNWidths: c.w}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("widths %v: %v, want %q", c.w, err, c.want)
		}
	}
}
