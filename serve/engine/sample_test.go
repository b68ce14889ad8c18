package engine

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/tokenizer"
)

// only allows the tokens in set; complete after n accepted tokens (then
// only end, if end ≥ 0).
type only struct {
	set      map[int]bool
	n, end   int
	accepted []int
}

func (c *only) Mask(allowed []bool) {
	for i := range allowed {
		if c.Complete() {
			allowed[i] = i == c.end
		} else {
			allowed[i] = c.set[i]
		}
	}
}

func (c *only) Accept(id int) error {
	if !c.set[id] {
		return errors.New("not allowed")
	}
	c.accepted = append(c.accepted, id)
	return nil
}

func (c *only) Complete() bool { return len(c.accepted) >= c.n }

// TestSamplerPick checks each logit transformation on logits whose
// argmax is token 2.
func TestSamplerPick(t *testing.T) {
	logits := []float32{1, 2, 3, 0.5, -1}
	lse := math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3) + math.Exp(0.5) + math.Exp(-1))
	cases := []struct {
		name    string
		r       Request
		counts  map[int]int
		want    int
		logprob float64 // checked when not 0
	}{
		{"greedy", Request{Logprobs: true}, nil, 2, 3 - lse},
		{"repetition in prompt", Request{Prompt: []int{2}, RepetitionPenalty: 2}, nil, 1, 0},
		{"repetition of a negative logit", Request{Prompt: []int{4}, RepetitionPenalty: 100, Logprobs: true}, nil, 2,
			3 - math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3)+math.Exp(0.5)+math.Exp(-100))},
		{"presence", Request{PresencePenalty: 1.5}, map[int]int{2: 1}, 1, 0},
		{"frequency", Request{FrequencyPenalty: 0.6}, map[int]int{2: 2}, 1, 0},
		{"frequency once is not enough", Request{FrequencyPenalty: 0.6}, map[int]int{2: 1}, 2, 0},
		{"negative presence", Request{PresencePenalty: -2}, map[int]int{0: 1}, 0, 0},
		{"constraint", Request{Logprobs: true, Constraint: &only{set: map[int]bool{0: true, 1: true, 3: true}, n: 9}}, nil, 1,
			2 - math.Log(math.Exp(1)+math.Exp(2)+math.Exp(0.5))},
		{"top-k 1", Request{Temperature: 5, TopK: 1}, nil, 2, 0},
		{"top-p 0.5", Request{Temperature: 1, TopP: 0.5}, nil, 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(20) {
				r := c.r
				r.Seed = seed
				s := newSampler(&r)
				for id, n := range c.counts {
					s.counts[id] = n
				}
				id, lp, _, err := s.pick(logits)
				if err != nil || id != c.want {
					t.Fatalf("seed %d: picked %d (%v), want %d", seed, id, err, c.want)
				}
				if c.logprob != 0 && math.Abs(lp-c.logprob) > 1e-9 {
					t.Fatalf("logprob %v, want %v", lp, c.logprob)
				}
			}
		})
	}
	t.Run("nothing allowed", func(t *testing.T) {
		s := newSampler(&Request{Constraint: &only{set: map[int]bool{}, n: 9}})
		if _, _, _, err := s.pick(logits); !errors.Is(err, errNoToken) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("temperature draws every token", func(t *testing.T) {
		s := newSampler(&Request{Temperature: 2, Seed: 1})
		seen := map[int]bool{}
		for range 400 {
			id, _, _, _ := s.pick(logits)
			seen[id] = true
		}
		if len(seen) != len(logits) {
			t.Fatalf("drew only %v", seen)
		}
	})
}

// TestBatchedConstraint: a constrained request emits only allowed tokens
// and stops with "stop" once the constraint is complete.
func TestBatchedConstraint(t *testing.T) {
	e := newTestEngine(t, testModel(t), BatchedOptions{})
	c := &only{set: map[int]bool{'a': true, 'b': true}, n: 6, end: -1}
	got := run(t, e, Request{Prompt: []int{'x'}, MaxTokens: 20, Temperature: 1, Constraint: c})
	if len(got.text) != 6 || strings.Trim(got.text, "ab") != "" || got.last.Finish != "stop" || got.last.CompletionTokens != 6 {
		t.Fatalf("text %q, last event %+v", got.text, got.last)
	}
}

// panicky is a constraint whose Mask panics.
type panicky struct{}

func (panicky) Mask([]bool)      { panic("broken constraint") }
func (panicky) Accept(int) error { return nil }
func (panicky) Complete() bool   { return false }

// TestBatchedPanicFailsOneRequest: a panic while sampling one request
// (in its constraint) ends that request with an error; a request decoding
// alongside finishes, and the engine serves the next one.
func TestBatchedPanicFailsOneRequest(t *testing.T) {
	m := testModel(t)
	e := newTestEngine(t, m, BatchedOptions{})
	release := hold(e)
	first, err := e.Submit(context.Background(), Request{Prompt: []int{1}, MaxTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	collect(first)
	good, err := e.Submit(context.Background(), Request{Prompt: tokenizer.Byte{}.Encode("Hello"), MaxTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := e.Submit(context.Background(), Request{Prompt: []int{2, 3}, MaxTokens: 6, Constraint: panicky{}})
	if err != nil {
		t.Fatal(err)
	}
	release()
	if r := collect(bad); r.last.Finish != "error" || r.last.Err == nil || !strings.Contains(r.last.Err.Error(), "broken constraint") {
		t.Fatalf("the panicking request ended %+v", r.last)
	}
	if r := collect(good); r.last.Finish != "length" || r.last.CompletionTokens != 6 {
		t.Fatalf("the request alongside ended %+v", r.last)
	}
	if r := run(t, e, Request{Prompt: []int{4}, MaxTokens: 3}); r.last.CompletionTokens != 3 {
		t.Fatalf("the next request ended %+v", r.last)
	}
}

// Log-probabilities are those of temperature 1 whatever the request's
// temperature (choose rescales the logits it draws from; the reported
// values must not see that).
func TestLogprobsIgnoreTemperature(t *testing.T) {
	logits := []float32{2, 1, 0.5, -1}
	lse := logSumExp([]float64{2, 1, 0.5, -1})
	for _, temp := range []float64{0, 0.3, 1, 1.7} {
		s := newSampler(&Request{Temperature: temp, Logprobs: true, TopLogprobs: 2, Seed: 3})
		id, lp, top, err := s.pick(logits)
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(logits[id]) - lse; math.Abs(lp-want) > 1e-12 || lp > 0 {
			t.Errorf("temperature %v: token %d logprob %v, want %v", temp, id, lp, want)
		}
		if len(top) != 2 || top[0].Token != 0 || math.Abs(top[0].Logprob-(2-lse)) > 1e-12 || math.Abs(top[1].Logprob-(1-lse)) > 1e-12 {
			t.Errorf("temperature %v: top %+v", temp, top)
		}
	}
}
