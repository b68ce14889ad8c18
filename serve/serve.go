// Package serve is loom's OpenAI-compatible HTTP API over one or more
// engines (package serve/engine): POST /v1/chat/completions,
// /v1/completions and /v1/embeddings, GET /v1/models, /v1/models/{id},
// /health and /metrics, with OpenAI's request and response shapes field for
// field, server-sent-event streaming as OpenAI streams, and OpenAI's error
// object ({"error": {"message", "type", "param", "code"}}) for every
// failure.
//
// Errors: a body that is not JSON, an unknown model, a field of the wrong
// type or out of its range, and a prompt that does not fit the context are
// 400 naming the field in "param"; a body over Options.MaxBody is 413; a
// missing or wrong key when Options.APIKey is set is 401; a full queue is 429
// with Retry-After; a panic while handling one request is 500 for that
// request only. A client that goes away cancels its request in the engine.
//
// Extensions beyond OpenAI's fields: top_k and repetition_penalty (Hugging
// Face semantics) in both completion endpoints.
//
// Differences from OpenAI: an unknown model in a completion or embedding
// request is a 400 naming "model" (GET /v1/models/{id} gives 404); echo,
// suffix and best_of > 1 are refused; tool_choice is accepted and ignored;
// with tools (and a template that parses tool calls) a streamed reply is
// sent whole when it ends, as tool_calls deltas or content. n > 1 runs n
// engine requests seeded seed, seed+1, …; without a seed, a random one.
// Completions' text_offset counts bytes from the start of the prompt.
package serve

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/loomml/loom/serve/engine"
	"github.com/prometheus/client_golang/prometheus"
)

// Tokenizer is what the server needs from a model's tokenizer.
type Tokenizer interface {
	// Encode returns the ids of text as it is (special-token text such as
	// "<|im_start|>" included, as a rendered chat template needs).
	Encode(text string) []int
	// TokenBytes returns the bytes of token id.
	TokenBytes(id int) []byte
}

// Template renders chat messages into a prompt (package chat implements it
// for Hugging Face chat templates). Messages are OpenAI's, as JSON decodes
// them: "role", "content" (a string; text parts are joined), and when given
// "name", "tool_calls", "tool_call_id". Tools are the request's tools
// entries, as given.
type Template interface {
	Render(messages []map[string]any, tools []map[string]any, addGenerationPrompt bool) (string, error)
	// SupportsTools reports whether the template renders tools; a request
	// with tools for a template that does not is a 400 naming "tools".
	SupportsTools() bool
}

// ToolParser is an optional Template method: it splits a reply into its
// text and the tool calls written in the template's format (each with
// "name" and "arguments", a JSON string). No calls: the reply is text.
type ToolParser interface {
	ParseToolCalls(text string) (content string, calls []map[string]any)
}

// StopStringer is an optional Template method: strings that end a reply
// (a turn marker the template writes as text).
type StopStringer interface {
	StopStrings() []string
}

// ConstraintCompiler compiles a response_format ({"type": "json_object"} or
// {"type": "json_schema", "json_schema": {...}}) into a fresh constraint for
// one request (package constrain implements it). An error is a 400 naming
// response_format with the error's text.
type ConstraintCompiler interface {
	Compile(responseFormat json.RawMessage) (engine.Constraint, error)
}

// Model is one entry of /v1/models.
type Model struct {
	// Name is the model's id in requests and /v1/models.
	Name   string
	Engine engine.Engine
	// Tokenizer encodes chat prompts (rendered templates) and decodes
	// tokens.
	Tokenizer Tokenizer
	// EncodePrompt, when not nil, encodes /v1/completions prompts and
	// /v1/embeddings inputs (with the tokenizer's BOS, say); nil:
	// Tokenizer.Encode.
	EncodePrompt func(string) []int
	// Template renders chat messages; nil: PlainTemplate.
	Template Template
	// Constraints compiles response_format; nil: response_format
	// json_object and json_schema are a 400 ("not supported by this
	// server").
	Constraints ConstraintCompiler
	// ContextLen is the positions a request may use (prompt and output);
	// a longer prompt is a 400. 0: the engine decides (ErrTooLong).
	ContextLen int
	// FFNWidths serves a MatFormer at these per-layer widths (an alias
	// such as NAME:ffn=256 sharing the engine of NAME); nil: full model.
	FFNWidths []int
	// Created is the Unix time /v1/models reports (0: when New ran).
	Created int64
}

// Options configure a Server.
type Options struct {
	Models []Model
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// every /v1/ endpoint (/health and /metrics stay open).
	APIKey string
	// MaxBody is the largest request body in bytes (default 8 MiB); a
	// larger one is a 413.
	MaxBody int64
	// Registry receives the metrics (nil: a new registry with the Go and
	// process collectors). /metrics serves it.
	Registry *prometheus.Registry
	// Log receives one line per panic recovered (nil: discarded).
	Log io.Writer
}

// Server is the HTTP handler.
type Server struct {
	opts    Options
	models  map[string]*Model
	order   []string
	mux     *http.ServeMux
	metrics *metrics
}

// New checks the options and returns the server.
func New(o Options) (*Server, error) {
	if len(o.Models) == 0 {
		return nil, errors.New("serve: no models")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	s := &Server{opts: o, models: map[string]*Model{}, mux: http.NewServeMux()}
	now := time.Now().Unix()
	for i := range o.Models {
		m := o.Models[i]
		switch {
		case m.Name == "":
			return nil, fmt.Errorf("serve: model %d has no name", i)
		case m.Engine == nil || m.Tokenizer == nil:
			return nil, fmt.Errorf("serve: model %q needs an engine and a tokenizer", m.Name)
		case s.models[m.Name] != nil:
			return nil, fmt.Errorf("serve: model name %q given twice", m.Name)
		}
		if m.Template == nil {
			m.Template = PlainTemplate{}
		}
		if m.EncodePrompt == nil {
			m.EncodePrompt = m.Tokenizer.Encode
		}
		if m.Created == 0 {
			m.Created = now
		}
		s.models[m.Name] = &m
		s.order = append(s.order, m.Name)
	}
	s.metrics = newMetrics(o.Registry, s)
	s.mux.HandleFunc("POST /v1/chat/completions", s.auth(s.chatCompletions))
	s.mux.HandleFunc("POST /v1/completions", s.auth(s.completions))
	s.mux.HandleFunc("POST /v1/embeddings", s.auth(s.embeddings))
	s.mux.HandleFunc("GET /v1/models", s.auth(s.listModels))
	s.mux.HandleFunc("GET /v1/models/{id...}", s.auth(s.getModel))
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path), code: "unknown_url"})
	})
	return s, nil
}

// ServeHTTP serves one request: the body limit, the recovery from panics
// and the request metrics around the endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			fmt.Fprintf(s.opts.Log, "serve: panic in %s %s: %v\n%s", r.Method, r.URL.Path, p, debug.Stack())
			if !sw.wrote {
				writeError(sw, &apiError{status: http.StatusInternalServerError, typ: "server_error", msg: "internal error while handling this request"})
			} else {
				sw.status = http.StatusInternalServerError
			}
		}
		endpoint := r.Pattern
		if endpoint == "" || endpoint == "/" {
			endpoint = "other"
		}
		s.metrics.requests.WithLabelValues(endpoint, fmt.Sprint(sw.code())).Inc()
	}()
	r.Body = http.MaxBytesReader(sw, r.Body, s.opts.MaxBody)
	s.mux.ServeHTTP(sw, r)
}

// auth requires the API key when one is set.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.opts.APIKey == "" {
		return h
	}
	want := []byte("Bearer " + s.opts.APIKey)
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if got == "" {
			writeError(w, &apiError{status: http.StatusUnauthorized, msg: "missing API key: send it as an Authorization: Bearer KEY header", code: "invalid_api_key"})
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			writeError(w, &apiError{status: http.StatusUnauthorized, msg: "incorrect API key provided", code: "invalid_api_key"})
			return
		}
		h(w, r)
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// apiError is OpenAI's error object with its HTTP status.
type apiError struct {
	status     int
	msg        string
	typ        string // default invalid_request_error
	param      string
	code       string
	retryAfter string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	typ := e.typ
	if typ == "" {
		typ = "invalid_request_error"
	}
	nullable := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	body := map[string]any{"error": map[string]any{"message": e.msg, "type": typ, "param": nullable(e.param), "code": nullable(e.code)}}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own types always marshal
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client may be gone
}

// readJSON reads the body into v, mapping failures to OpenAI errors.
func readJSON(r *http.Request, v any) *apiError {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the request body is larger than this server's limit of %d bytes", mb.Limit), code: "request_too_large"}
		}
		return badRequest("", "could not read the request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return badRequest("", "the request body is empty: send a JSON object")
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			te.Field = strings.TrimPrefix(te.Field, "sampling.") // the shared fields' embedded struct
			if te.Field == "" {
				return badRequest("", "the request body is a JSON %s: want a JSON object", te.Value)
			}
			return badRequest(te.Field, "%s: want %s, got a JSON %s", te.Field, jsonTypeName(te.Type.String()), te.Value)
		case errors.As(err, &se):
			return badRequest("", "the request body is not valid JSON (at byte %d): %v", se.Offset, err)
		}
		return badRequest("", "the request body is not valid JSON: %v", err)
	}
	return nil
}

// jsonTypeName names a Go type as JSON's.
func jsonTypeName(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "an object"
}

// engineError maps an engine's Submit or Embed error.
func engineError(err error, param string) *apiError {
	switch {
	case errors.Is(err, engine.ErrQueueFull):
		return &apiError{status: http.StatusTooManyRequests, typ: "rate_limit_error", code: "rate_limit_exceeded", retryAfter: "1",
			msg: "the server is busy: its request queue is full; retry after a second"}
	case errors.Is(err, engine.ErrTooLong):
		return &apiError{status: http.StatusBadRequest, param: param, code: "context_length_exceeded", msg: err.Error()}
	case errors.Is(err, engine.ErrClosed):
		return &apiError{status: http.StatusServiceUnavailable, typ: "server_error", msg: "the server is shutting down"}
	}
	return &apiError{status: http.StatusBadRequest, param: param, msg: err.Error()}
}

// model looks the request's model up.
func (s *Server) model(name string) (*Model, *apiError) {
	if name == "" {
		return nil, badRequest("model", "you must provide a model parameter (one of %s)", strings.Join(s.order, ", "))
	}
	m := s.models[name]
	if m == nil {
		e := badRequest("model", "the model %q does not exist on this server; it serves %s", name, strings.Join(s.order, ", "))
		e.code = "model_not_found"
		return nil, e
	}
	return m, nil
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) modelObject(m *Model) modelObject {
	return modelObject{ID: m.Name, Object: "model", Created: m.Created, OwnedBy: "loom"}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	data := []modelObject{}
	for _, n := range s.order {
		data = append(data, s.modelObject(s.models[n]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m := s.models[id]
	if m == nil {
		writeError(w, &apiError{status: http.StatusNotFound, param: "model", code: "model_not_found",
			msg: fmt.Sprintf("the model %q does not exist on this server; it serves %s", id, strings.Join(s.order, ", "))})
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject(m))
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	type modelHealth struct {
		ID       string `json:"id"`
		Running  int    `json:"running"`
		Queued   int    `json:"queued"`
		KVBytes  int64  `json:"kv_bytes"`
		KVBudget int64  `json:"kv_budget"`
	}
	var ms []modelHealth
	for _, n := range s.order {
		st := s.models[n].Engine.Stats()
		ms = append(ms, modelHealth{ID: n, Running: st.Running, Queued: st.Queued, KVBytes: st.KVBytes, KVBudget: st.KVBudget})
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "models": ms})
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	return prefix + hex.EncodeToString(b[:])
}
