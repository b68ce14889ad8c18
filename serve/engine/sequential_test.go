package engine

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/generate"
)

func loadTiny(t *testing.T) *convert.Loaded {
	t.Helper()
	l, err := convert.Open("../../convert/testdata/hf/loom-trained", convert.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newTiny(t *testing.T) (*Sequential, *convert.Loaded) {
	l := loadTiny(t)
	s := NewSequential(l.Model, l.Tok, l.Stop, SequentialOptions{})
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, l
}

// collectSeq runs r and returns its events (the last has Finish set).
func collectSeq(t *testing.T, s *Sequential, r Request) []Event {
	t.Helper()
	ch, err := s.Submit(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for ev := range ch {
		evs = append(evs, ev)
	}
	if len(evs) == 0 || evs[len(evs)-1].Finish == "" {
		t.Fatalf("no final event in %+v", evs)
	}
	return evs
}

func text(evs []Event) (string, []int) {
	var b strings.Builder
	var ids []int
	for _, ev := range evs {
		b.WriteString(ev.Text)
		if ev.Token >= 0 {
			ids = append(ids, ev.Token)
		}
	}
	return b.String(), ids
}

func TestSequentialGreedyMatchesGenerate(t *testing.T) {
	s, l := newTiny(t)
	prompt := "The cat"
	res, err := generate.Generate(l.Model, l.Tok, prompt, generate.Options{MaxNewTokens: 12, NoSlide: true, StopTokens: l.Stop}, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := collectSeq(t, s, Request{Prompt: l.Tok.Encode(prompt), MaxTokens: 12, Logprobs: true, TopLogprobs: 2})
	got, ids := text(evs)
	last := evs[len(evs)-1]
	if got != res.Text || !slices.Equal(ids, res.Tokens) || last.Finish != "length" || last.CompletionTokens != 12 || last.PromptTokens != len(l.Tok.Encode(prompt)) {
		t.Fatalf("engine %q %v (%+v), generate %q %v", got, ids, last, res.Text, res.Tokens)
	}
	for _, ev := range evs[:len(evs)-1] {
		if len(ev.Top) != 2 || ev.Top[0].Token != ev.Token || ev.Top[0].Logprob != ev.Logprob || ev.Logprob > 0 {
			t.Fatalf("greedy token %d logprob %v, top %+v", ev.Token, ev.Logprob, ev.Top)
		}
	}
	// top_k 1 and a tiny top_p leave only the most likely token: greedy
	for _, r := range []Request{{Temperature: 1.5, TopK: 1, Seed: 9}, {Temperature: 1.5, TopP: 1e-9, Seed: 9}} {
		r.Prompt, r.MaxTokens = l.Tok.Encode(prompt), 12
		if _, ids := text(collectSeq(t, s, r)); !slices.Equal(ids, res.Tokens) {
			t.Fatalf("top_k %d top_p %v: %v, greedy %v", r.TopK, r.TopP, ids, res.Tokens)
		}
	}
	// a stop string from the middle of that text cuts it there
	stop := res.Text[4:6]
	evs = collectSeq(t, s, Request{Prompt: l.Tok.Encode(prompt), MaxTokens: 12, Stop: []string{stop}})
	got, _ = text(evs)
	if want := res.Text[:strings.Index(res.Text, stop)]; got != want || evs[len(evs)-1].Finish != "stop" {
		t.Fatalf("stop %q: %q (%s), want %q", stop, got, evs[len(evs)-1].Finish, want)
	}
	// a stop token ends it too, without its text
	evs = collectSeq(t, s, Request{Prompt: l.Tok.Encode(prompt), MaxTokens: 12, StopTokens: []int{res.Tokens[3]}})
	if _, ids := text(evs); !slices.Equal(ids, res.Tokens[:slices.Index(res.Tokens, res.Tokens[3])]) || evs[len(evs)-1].Finish != "stop" {
		t.Fatalf("stop token %d: %v, generate %v", res.Tokens[3], ids, res.Tokens)
	}
}

func TestSequentialSeedAndPenalties(t *testing.T) {
	s, l := newTiny(t)
	r := Request{Prompt: l.Tok.Encode("ab"), MaxTokens: 20, Temperature: 1, TopP: 0.9, TopK: 50, Seed: 3}
	a, _ := text(collectSeq(t, s, r))
	b, _ := text(collectSeq(t, s, r))
	r.Seed = 4
	c, _ := text(collectSeq(t, s, r))
	if a != b || a == c {
		t.Fatalf("seed 3: %q and %q; seed 4: %q", a, b, c)
	}
	// a strong frequency penalty at greedy decoding never repeats a token
	// more than the vocabulary forces
	_, plain := text(collectSeq(t, s, Request{Prompt: l.Tok.Encode("ab"), MaxTokens: 30}))
	_, pen := text(collectSeq(t, s, Request{Prompt: l.Tok.Encode("ab"), MaxTokens: 30, FrequencyPenalty: 2, PresencePenalty: 2}))
	distinct := func(ids []int) int { return len(slices.Compact(slices.Sorted(slices.Values(ids)))) }
	if distinct(pen) <= distinct(plain) {
		t.Fatalf("penalties: %d distinct tokens, without: %d", distinct(pen), distinct(plain))
	}
}

// onlyTok allows one token, then says it is complete after n of them.
type onlyTok struct{ id, n, seen int }

func (o *onlyTok) Mask(allowed []bool) {
	for i := range allowed {
		allowed[i] = i == o.id
	}
}
func (o *onlyTok) Accept(id int) error {
	if id != o.id {
		return errors.New("not allowed")
	}
	o.seen++
	return nil
}
func (o *onlyTok) Complete() bool { return o.seen == o.n }

type panics struct{}

func (panics) Mask([]bool)      { panic("constraint bug") }
func (panics) Accept(int) error { return nil }
func (panics) Complete() bool   { return false }

func TestSequentialConstraintAndFaults(t *testing.T) {
	s, l := newTiny(t)
	evs := collectSeq(t, s, Request{Prompt: l.Tok.Encode("x"), MaxTokens: 10, Temperature: 1, Constraint: &onlyTok{id: 'q', n: 3}})
	if got, _ := text(evs); got != "qqq" || evs[len(evs)-1].Finish != "stop" {
		t.Fatalf("constrained: %q %s", got, evs[len(evs)-1].Finish)
	}
	evs = collectSeq(t, s, Request{Prompt: l.Tok.Encode("x"), MaxTokens: 10, Constraint: panics{}})
	if last := evs[len(evs)-1]; last.Finish != "error" || last.Err == nil || !strings.Contains(last.Err.Error(), "constraint bug") {
		t.Fatalf("a panicking request: %+v", last)
	}
	if got, _ := text(collectSeq(t, s, Request{Prompt: l.Tok.Encode("x"), MaxTokens: 3})); len(got) == 0 {
		t.Fatal("no text after a failed request")
	}
	for _, r := range []Request{{MaxTokens: 1}, {Prompt: []int{1}}, {Prompt: []int{1}, MaxTokens: 1, Temperature: -1},
		{Prompt: []int{1}, MaxTokens: 1, TopLogprobs: 21}, {Prompt: []int{1, 999}, MaxTokens: 1}, {Prompt: []int{1}, MaxTokens: 1, FFNWidths: []int{4}}} {
		if _, err := s.Submit(context.Background(), r); err == nil {
			t.Errorf("Submit(%+v) accepted", r)
		}
	}
	if _, err := s.Submit(context.Background(), Request{Prompt: make([]int, s.ContextLen()), MaxTokens: 1}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("a prompt of the whole context: %v; want ErrTooLong", err)
	}
	// a canceled context ends the request
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ch, err := s.Submit(ctx, Request{Prompt: []int{1}, MaxTokens: 50})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range ch {
		n++
	}
	if n > 1 {
		t.Fatalf("%d events after cancellation", n)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(context.Background(), Request{Prompt: []int{1}, MaxTokens: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v; want ErrClosed", err)
	}
}

func TestSequentialEmbed(t *testing.T) {
	s, l := newTiny(t)
	in := [][]int{l.Tok.Encode("hello"), l.Tok.Encode("world!"), l.Tok.Encode("hello")}
	vs, err := s.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if len(v) != l.Model.Config.HiddenSize || math.Abs(n-1) > 1e-5 {
			t.Fatalf("embedding %d: %d dims, norm² %v", i, len(v), n)
		}
	}
	if !slices.Equal(vs[0], vs[2]) || slices.Equal(vs[0], vs[1]) {
		t.Fatal("equal inputs, different embeddings, or different inputs alike")
	}
	if _, err := s.Embed(context.Background(), [][]int{make([]int, s.ContextLen()+1)}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("an input over the context: %v", err)
	}
}
