// Package engine runs completion requests against a loaded language model:
// the part of `loom serve` and `loom chat` below HTTP. A request is token
// ids in (the chat template already applied) and a stream of events out:
// text as it becomes complete UTF-8, the token, its log-probability and
// alternatives, and at the end why it finished and the token counts.
//
// Two engines implement Engine: Sequential runs one request at a time (the
// per-request runtime, a baseline), Batched runs continuous batching (every
// decode step is one batched forward over all running sequences; requests
// join and leave between steps; long prompts are prefilled in chunks).
package engine

import (
	"context"
	"errors"
)

// Request is one completion.
type Request struct {
	// Prompt is the token ids to continue (at least one).
	Prompt []int
	// MaxTokens is the most tokens to generate (≥ 1); generation also
	// stops at the model's context length (Finish "length").
	MaxTokens int
	// Sampling. Temperature 0 is greedy decoding; TopK 0 and TopP 1 keep
	// every token. The penalties follow OpenAI (presence, frequency:
	// −2…2, subtracted from logits of tokens already generated) and Hugging
	// Face (repetition: > 1 discourages tokens in prompt and output; 0 or
	// 1 off).
	Temperature                       float64
	TopP                              float64
	TopK                              int
	Seed                              uint64
	PresencePenalty, FrequencyPenalty float64
	RepetitionPenalty                 float64
	// Stop ends generation before any of these strings (not included in
	// the text; Finish "stop"). StopTokens end it after one of these ids
	// (not included in the text); the engine adds the model's own
	// end-of-sequence ids.
	Stop       []string
	StopTokens []int
	// Logprobs asks for each generated token's log-probability (under the
	// distribution after temperature 1, before sampling filters, as OpenAI
	// reports it) and its TopLogprobs most likely alternatives (0–20).
	Logprobs    bool
	TopLogprobs int
	// Constraint, when not nil, restricts which tokens may come next
	// (structured output). The engine calls Mask before each sampling step
	// and Accept after it.
	Constraint Constraint
	// FFNWidths serves a MatFormer model at these per-layer FFN widths
	// (nil: the full model).
	FFNWidths []int
}

// Constraint restricts generation to a language (a JSON schema compiled
// to an automaton over the vocabulary, say).
type Constraint interface {
	// Mask clears allowed[id] for every token that may not come next;
	// allowed has one entry per vocabulary id, all true on entry. When the
	// output is complete, only end-of-sequence tokens should stay allowed.
	Mask(allowed []bool)
	// Accept advances past token id (one that Mask allowed).
	Accept(id int) error
	// Complete reports whether the output so far is a whole sentence of
	// the language (the engine then stops with Finish "stop").
	Complete() bool
}

// Alt is one alternative token and its log-probability.
type Alt struct {
	Token   int
	Logprob float64
}

// Event is what a running request reports, in order. Every event but the
// last carries one generated token; the last has Finish set (and no
// token when Token < 0).
type Event struct {
	// Text is the new text since the previous event: complete UTF-8,
	// with any partial stop string held back until it is known not to be
	// one.
	Text string
	// Token is the generated id (−1 on a final event without a token).
	Token int
	// Logprob and Top are set when the request asked for log-probabilities.
	Logprob float64
	Top     []Alt
	// Finish is "" while running, then "stop" (a stop string or token,
	// or a complete constrained output) or "length" (MaxTokens or the
	// context), or "error" with Err set.
	Finish string
	Err    error
	// PromptTokens and CompletionTokens are set on the final event.
	PromptTokens, CompletionTokens int
}

// Stats is an engine's state for /metrics and /health.
type Stats struct {
	Running, Queued int   // sequences decoding, requests waiting
	KVBytes         int64 // KV memory in use
	KVBudget        int64 // the budget (0: unbounded)
}

// Engine runs requests.
type Engine interface {
	// Submit queues r and returns its events; the channel is closed after
	// the final event. Canceling ctx stops the request within one decode
	// step and frees its slot and KV memory (a final event with Finish
	// "error" and ctx's error may or may not be delivered). Errors:
	// ErrQueueFull (try again later), ErrTooLong (the prompt does not fit
	// the context, or the request can never fit the KV budget) and invalid
	// requests.
	Submit(ctx context.Context, r Request) (<-chan Event, error)
	// Embed returns, for each input, the mean over its positions of the
	// final hidden state (after the final norm), normalised to unit length.
	Embed(ctx context.Context, inputs [][]int) ([][]float32, error)
	// Stats reports the current load.
	Stats() Stats
	// Close stops accepting requests, lets running ones finish (until ctx
	// is done, then cancels them) and releases the engine.
	Close(ctx context.Context) error
}

// Errors Submit returns.
var (
	ErrQueueFull = errors.New("engine: the request queue is full")
	ErrTooLong   = errors.New("engine: the request does not fit")
	ErrClosed    = errors.New("engine: closed")
)
