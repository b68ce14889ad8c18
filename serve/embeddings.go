package serve

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
)

type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat *string         `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

type embeddingObject struct {
	Object    string `json:"object"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32s
	Index     int    `json:"index"`
}

// embeddings returns, for each input, the engine's embedding: the mean of
// the final hidden states (after the final norm) over the input's
// positions, normalised to unit length. encoding_format base64 is the
// little-endian float32 bytes in standard base64, as the OpenAI SDKs decode
// it.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if e := readJSON(r, &req); e != nil {
		writeError(w, e)
		return
	}
	m, e := s.model(req.Model)
	if e != nil {
		writeError(w, e)
		return
	}
	format := "float"
	if req.EncodingFormat != nil {
		format = *req.EncodingFormat
	}
	if format != "float" && format != "base64" {
		writeError(w, badRequest("encoding_format", "encoding_format is %q: want float or base64", format))
		return
	}
	inputs, e := parseInputs(req.Input, "input", m.EncodePrompt)
	if e != nil {
		writeError(w, e)
		return
	}
	total := 0
	for i, in := range inputs {
		if len(in) == 0 {
			writeError(w, badRequest("input", "input[%d] is empty: every input needs at least one token", i))
			return
		}
		if c := m.ContextLen; c > 0 && len(in) > c {
			e := badRequest("input", "input[%d] has %d tokens: this model's maximum context length is %d", i, len(in), c)
			e.code = "context_length_exceeded"
			writeError(w, e)
			return
		}
		total += len(in)
	}
	vecs, err := m.Engine.Embed(r.Context(), inputs)
	if err != nil {
		writeError(w, engineError(err, "input"))
		return
	}
	if req.Dimensions != nil && len(vecs) > 0 && *req.Dimensions != len(vecs[0]) {
		writeError(w, badRequest("dimensions", "dimensions is %d: this model's embeddings have %d", *req.Dimensions, len(vecs[0])))
		return
	}
	data := make([]embeddingObject, len(vecs))
	for i, v := range vecs {
		data[i] = embeddingObject{Object: "embedding", Index: i, Embedding: v}
		if format == "base64" {
			b := make([]byte, 4*len(v))
			for k, x := range v {
				binary.LittleEndian.PutUint32(b[4*k:], math.Float32bits(x))
			}
			data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": m.Name,
		"usage": map[string]int{"prompt_tokens": total, "total_tokens": total}})
}
