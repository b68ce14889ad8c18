package engine

import (
	"slices"
	"strings"

	"github.com/loomml/loom/generate"
)

// Tokenizer gives the bytes of a token id; the engine assembles them into
// text (tokenizer.BPE and tokenizer.Byte implement it).
type Tokenizer interface {
	TokenBytes(id int) []byte
}

// stream is one request's generation after its prompt: it samples each
// token from the model's logits and turns it into an Event, deciding when
// the request is finished. Sequential and Batched engines share it.
type stream struct {
	r         *Request
	tok       Tokenizer
	sampler   *sampler
	text      *generate.Text
	pending   strings.Builder // text released since the last event
	stops     []int           // the request's stop ids and the model's
	limit     int             // most tokens to generate
	generated int
}

// newStream prepares r (already validated) for a model whose own stop ids
// are stopIDs and whose context holds ctxLen positions.
func newStream(r *Request, tok Tokenizer, stopIDs []int, ctxLen int) *stream {
	st := &stream{r: r, tok: tok, sampler: newSampler(r), limit: min(r.MaxTokens, ctxLen-len(r.Prompt))}
	st.stops = append(slices.Clone(r.StopTokens), stopIDs...)
	st.text = generate.NewText(r.Stop, func(s string) { st.pending.WriteString(s) })
	return st
}

// next samples the token after logits and returns its event; done reports
// that it is the final one. A token that is not final is to be fed back.
func (st *stream) next(logits []float32) (ev Event, done bool) {
	id, lp, top, err := st.sampler.pick(logits)
	if err != nil {
		return st.final(Event{Token: -1, Finish: "error", Err: err}), true
	}
	if slices.Contains(st.stops, id) {
		return st.final(Event{Token: -1, Finish: "stop"}), true
	}
	ev = Event{Token: id}
	if st.r.Logprobs {
		ev.Logprob, ev.Top = lp, top
	}
	if c := st.r.Constraint; c != nil {
		if err := c.Accept(id); err != nil {
			return st.final(Event{Token: -1, Finish: "error", Err: err}), true
		}
	}
	st.generated++
	switch {
	case st.text.Add(st.tok.TokenBytes(id)):
		ev.Finish = "stop"
	case st.r.Constraint != nil && st.r.Constraint.Complete():
		ev.Finish = "stop"
	case st.generated >= st.limit:
		ev.Finish = "length"
	}
	if ev.Finish != "" {
		return st.final(ev), true
	}
	ev.Text = st.pending.String()
	st.pending.Reset()
	return ev, false
}

// final completes ev as the request's last event: the text held back is
// released, the counts set.
func (st *stream) final(ev Event) Event {
	st.text.Finish()
	ev.Text = st.pending.String()
	st.pending.Reset()
	ev.PromptTokens, ev.CompletionTokens = len(st.r.Prompt), st.generated
	return ev
}

// fail is the final event of a request stopped by err (a canceled
// context, a closing engine).
func (st *stream) fail(err error) Event {
	return Event{Token: -1, Finish: "error", Err: err, PromptTokens: len(st.r.Prompt), CompletionTokens: st.generated}
}
