package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Load returns the tokenizer spec names: a registered name ("byte",
// "cl100k_base", "gpt2", …), the path of a Hugging Face tokenizer.json or
// the path of a sentencepiece model (tokenizer.model; a file ending in
// ".model" or not starting with "{").
// A relative path is looked up in dir (a model directory) first, then in
// the working directory.
func Load(spec, dir string) (Tokenizer, error) {
	if spec == "" {
		spec = "byte"
	}
	if tokenizers.Has(spec) {
		return cached(spec)
	}
	path := spec
	if !filepath.IsAbs(path) && dir != "" {
		if p := filepath.Join(dir, path); fileExists(p) {
			path = p
		}
	}
	if !fileExists(path) {
		return nil, fmt.Errorf("tokenizer: %q is neither a known tokenizer (%s) nor a file", spec, strings.Join(Names(), ", "))
	}
	if strings.HasSuffix(path, ".tiktoken") {
		return nil, fmt.Errorf("tokenizer: %s: a tiktoken rank file needs its pattern and special tokens; use a registered name (%s)", path, strings.Join(Names(), ", "))
	}
	if isSentencePieceFile(path) {
		return LoadSentencePiece(path)
	}
	return LoadHF(path)
}

// isSentencePieceFile reports whether path names a sentencepiece model
// rather than JSON: its name ends in ".model" or its first non-space byte
// is not "{".
func isSentencePieceFile(path string) bool {
	if strings.HasSuffix(path, ".model") {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false // LoadHF reports the error
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	s := strings.TrimLeft(string(buf[:n]), " \t\r\n\ufeff")
	return n > 0 && !strings.HasPrefix(s, "{")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// cached builds each registered tokenizer once (tiktoken vocabularies take
// a moment to load).
var (
	cacheMu sync.Mutex
	built   = map[string]Tokenizer{}
)

func cached(name string) (Tokenizer, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if t, ok := built[name]; ok {
		return t, nil
	}
	t, err := New(name)
	if err != nil {
		return nil, err
	}
	built[name] = t
	return t, nil
}

// Registered reports whether name is a registered tokenizer (rather than
// a file).
func Registered(name string) bool { return tokenizers.Has(name) }
