package tokenizer

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// spmFixture is one NAME.json written by testdata/spm/gen.py.
type spmFixture struct {
	Model     string `json:"model"`
	VocabSize int    `json:"vocab_size"`
	Cases     []struct {
		Text    string   `json:"text"`
		IDs     []int    `json:"ids"`
		Pieces  []string `json:"pieces"`
		Decoded string   `json:"decoded"`
	} `json:"cases"`
	Decodes []struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	} `json:"decodes"`
}

func loadSPMFixture(t *testing.T, name string) (*SentencePiece, *spmFixture) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "spm", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx spmFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadSentencePiece(filepath.Join("testdata", "spm", fx.Model))
	if err != nil {
		t.Fatal(err)
	}
	return tok, &fx
}

var spmModels = []string{"bpe", "unigram", "unigram_nobf"}

// TestSentencePieceFixtures checks Encode and Decode against sentencepiece
// 0.1.97 (EncodeAsIds, EncodeAsPieces, DecodeIds) on every fixture text of
// the BPE and unigram models.
func TestSentencePieceFixtures(t *testing.T) {
	for _, name := range spmModels {
		t.Run(name, func(t *testing.T) {
			tok, fx := loadSPMFixture(t, name)
			if tok.VocabSize() != fx.VocabSize {
				t.Fatalf("VocabSize = %d, want %d", tok.VocabSize(), fx.VocabSize)
			}
			wantAlgo := map[string]spmAlgo{"bpe": spmBPE, "unigram": spmUnigram, "unigram_nobf": spmUnigram}[name]
			if tok.algo != wantAlgo {
				t.Fatalf("algorithm %d, want %d", tok.algo, wantAlgo)
			}
			for _, c := range fx.Cases {
				got := tok.Encode(c.Text)
				if !slices.Equal(got, c.IDs) {
					var pieces []string
					for _, id := range got {
						pieces = append(pieces, tok.pieces[id])
					}
					t.Errorf("Encode(%q) = %v %q, want %v %q", c.Text, got, pieces, c.IDs, c.Pieces)
				}
				for i, id := range c.IDs {
					if i < len(c.Pieces) && id != tok.unk && tok.pieces[id] != c.Pieces[i] {
						t.Errorf("piece of id %d = %q, want %q", id, tok.pieces[id], c.Pieces[i])
					}
				}
				if d := tok.Decode(c.IDs); d != c.Decoded {
					t.Errorf("Decode(%v) = %q, want %q", c.IDs, d, c.Decoded)
				}
			}
			for _, d := range fx.Decodes {
				if got := tok.Decode(d.IDs); got != d.Text {
					t.Errorf("Decode(%v) = %q, want %q", d.IDs, got, d.Text)
				}
			}
		})
	}
}

// TestSentencePieceRoundTrip checks that decoding the encoding gives the
// text back for texts the normaliser keeps (byte fallback models; no
// extra spaces where remove_extra_whitespaces is set).
func TestSentencePieceRoundTrip(t *testing.T) {
	texts := []string{"Hello world", "emoji 🙂👍🏽 and 🦙", "中文字符 日本語", "line one\nline two\n\n", "digits 0123456789", "Zoë a<sep>b"}
	for _, name := range []string{"bpe", "unigram"} {
		tok, _ := loadSPMFixture(t, name)
		for _, s := range texts {
			if got := tok.Decode(tok.Encode(s)); got != s {
				t.Errorf("%s: Decode(Encode(%q)) = %q", name, s, got)
			}
		}
	}
	bpe, _ := loadSPMFixture(t, "bpe") // remove_extra_whitespaces=false keeps every space
	for _, s := range []string{"  two   spaces  ", "trailing ", "\t\ttabs"} {
		if got := bpe.Decode(bpe.Encode(s)); got != s {
			t.Errorf("bpe: Decode(Encode(%q)) = %q", s, got)
		}
	}
}

// TestSentencePieceLlamaVocab checks the GGUF path: the BPE model as a
// "llama" vocabulary (ToVocab, FromVocab) tokenises as llama.cpp's
// llm_tokenizer_spm does. For texts without special-token text that is
// sentencepiece's encoding (the model keeps extra spaces, as Llama's); text
// around user-defined and control tokens is tokenised span by span, each
// with the space prefix, as llama.cpp's tokenizer_st_partition does.
func TestSentencePieceLlamaVocab(t *testing.T) {
	spm, fx := loadSPMFixture(t, "bpe")
	v, err := ToVocab(spm, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Model != "llama" || len(v.Scores) != len(v.Tokens) || len(v.Types) != len(v.Tokens) || v.BOS != 1 || v.EOS != 2 || v.UNK != 0 {
		t.Fatalf("ToVocab = model %q, %d tokens, %d scores, %d types, bos %d eos %d unk %d", v.Model, len(v.Tokens), len(v.Scores), len(v.Types), v.BOS, v.EOS, v.UNK)
	}
	tk, err := FromVocab("bpe.gguf", v)
	if err != nil {
		t.Fatal(err)
	}
	llama := tk.(*SentencePiece)
	for _, c := range fx.Cases {
		want := c.IDs
		if strings.ContainsAny(c.Text, "<") {
			want = nil
			rest := c.Text
			for {
				i, s := llama.nextSpecial(rest, llama.specials)
				if i < 0 {
					want = append(want, spm.Encode(rest)...)
					break
				}
				want = append(want, spm.Encode(rest[:i])...)
				want = append(want, spm.Special(s))
				rest = rest[i+len(s):]
			}
		}
		if got := llama.Encode(c.Text); !slices.Equal(got, want) {
			t.Errorf("llama Encode(%q) = %v, want %v", c.Text, got, want)
		}
		if len(c.IDs) > 0 && !strings.ContainsAny(c.Text, "<") {
			if got := llama.Decode(c.IDs); got != c.Decoded {
				t.Errorf("llama Decode(%v) = %q, want %q", c.IDs, got, c.Decoded)
			}
		}
	}
	// Byte-level input that is not UTF-8 falls back to byte tokens, as
	// llama.cpp's unicode_len_utf8 splits it.
	if got, want := llama.Encode("a\xffb"), []int{llama.match["▁a"], llama.byteIDs[0xff], llama.match["b"]}; !slices.Equal(got, want) {
		t.Errorf("llama Encode(invalid UTF-8) = %v, want %v", got, want)
	}
	if got := llama.Decode(llama.Encode("a\xffb")); got != "a\xffb" {
		t.Errorf("llama round trip of invalid UTF-8 = %q", got)
	}
	// add_bos_token survives the conversion: EncodeAddSpecial puts <s> first.
	if got := llama.EncodeAddSpecial("Hello world"); !v.AddBOS || !slices.Equal(got, append([]int{1}, spm.Encode("Hello world")...)) {
		t.Errorf("EncodeAddSpecial = %v (AddBOS %v)", got, v.AddBOS)
	}
	// The vocabulary survives a second conversion unchanged.
	v2, err := ToVocab(llama, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v2.Tokens, v.Tokens) || !slices.Equal(v2.Scores, v.Scores) || !slices.Equal(v2.Types, v.Types) || *v2.AddSpacePrefix != *v.AddSpacePrefix {
		t.Error("ToVocab(FromVocab(v)) differs from v")
	}
	// Padding to the model's vocab_size adds unused tokens with scores.
	v3, err := ToVocab(spm, 1010)
	if err != nil || len(v3.Scores) != 1010 || v3.Types[1005] != TokenUnused {
		t.Errorf("ToVocab(spm, 1010): %v, %d scores", err, len(v3.Scores))
	}
	// add_space_prefix false: no space before the first word.
	no := false
	v.AddSpacePrefix = &no
	tk, err = FromVocab("bpe.gguf", v)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tk.Encode("Hello world"), llama.Encode(" Hello world")[1:]; len(want) > 0 && slices.Equal(got, llama.Encode("Hello world")) {
		t.Errorf("add_space_prefix false: Encode = %v, same as with the prefix (%v)", got, want)
	}
}

// TestSentencePieceExportRefusals: llama.cpp would tokenise a unigram model
// or one removing extra spaces differently, so ToVocab refuses them.
func TestSentencePieceExportRefusals(t *testing.T) {
	for _, name := range []string{"unigram", "unigram_nobf"} {
		tok, _ := loadSPMFixture(t, name)
		if _, err := ToVocab(tok, 0); err == nil || !strings.Contains(err.Error(), "unigram") {
			t.Errorf("ToVocab(%s) = %v, want an error naming unigram", name, err)
		}
	}
}

// TestLoadSentencePieceFile checks that Load finds a .model file.
func TestLoadSentencePieceFile(t *testing.T) {
	tok, err := Load("bpe.model", filepath.Join("testdata", "spm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.(*SentencePiece); !ok {
		t.Fatalf("Load(bpe.model) = %T", tok)
	}
	// A sentencepiece model under another name is recognised by content.
	data, _ := os.ReadFile(filepath.Join("testdata", "spm", "bpe.model"))
	p := filepath.Join(t.TempDir(), "tok.bin")
	os.WriteFile(p, data, 0o644)
	if tok, err := Load(p, ""); err != nil || tok.VocabSize() != 1000 {
		t.Fatalf("Load(tok.bin) = %v, %v", tok, err)
	}
}

// pb appends protobuf fields for the bad-file tests.
type pb []byte

func (b pb) key(num, wire int) pb {
	return binary.AppendUvarint(slices.Clip(b), uint64(num<<3|wire)) // never share a backing array
}
func (b pb) varint(num int, v uint64) pb {
	return binary.AppendUvarint(b.key(num, wireVarint), v)
}
func (b pb) bytes(num int, s []byte) pb {
	b = binary.AppendUvarint(b.key(num, wireLen), uint64(len(s)))
	return append(b, s...)
}
func (b pb) float(num int, f float32) pb {
	return binary.LittleEndian.AppendUint32(b.key(num, wireI32), math.Float32bits(f))
}

func piece(s string, score float32, typ int) []byte {
	return pb{}.bytes(1, []byte(s)).float(2, score).varint(3, uint64(typ))
}

// TestSentencePieceBadFiles checks that malformed or unsupported model
// files are errors naming the file and the field.
func TestSentencePieceBadFiles(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "spm", "bpe.model"))
	if err != nil {
		t.Fatal(err)
	}
	okPieces := pb{}.bytes(1, piece("<unk>", 0, 2)).bytes(1, piece("a", -1, 1))
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"truncated near the start", good[:100], []string{"truncated"}},
		{"truncated at the end", good[:len(good)-1], []string{"ModelProto"}},
		{"truncated in a varint", append(okPieces.key(2, wireLen), 0x80), []string{"varint"}},
		{"score as varint", pb{}.bytes(1, pb{}.bytes(1, []byte("a")).varint(2, 3)), []string{"ModelProto.pieces[0].score", "want 32-bit"}},
		{"piece as float", pb{}.bytes(1, pb{}.float(1, 1)), []string{"ModelProto.pieces[0].piece", "want length-delimited"}},
		{"pieces as varint", pb{}.varint(1, 7), []string{"ModelProto.pieces[0]", "want length-delimited"}},
		{"model_type as bytes", okPieces.bytes(2, pb{}.bytes(3, []byte("bpe"))), []string{"ModelProto.trainer_spec.model_type"}},
		{"bad piece type", pb{}.bytes(1, piece("a", 0, 9)), []string{"ModelProto.pieces[0].type"}},
		{"word model", okPieces.bytes(2, pb{}.varint(3, 3)), []string{"ModelProto.trainer_spec.model_type", "3"}},
		{"nmt_nfkc charsmap", okPieces.bytes(3, pb{}.bytes(1, []byte("nmt_nfkc")).bytes(2, []byte{1, 2, 3, 4})), []string{"ModelProto.normalizer_spec.precompiled_charsmap", "nmt_nfkc"}},
		{"whitespace as suffix", okPieces.bytes(2, pb{}.varint(24, 1)), []string{"treat_whitespace_as_suffix"}},
		{"byte fallback without bytes", okPieces.bytes(2, pb{}.varint(35, 1)), []string{"ModelProto.pieces", "<0x00>"}},
		{"no unknown piece", pb{}.bytes(1, piece("a", 0, 1)), []string{"UNKNOWN"}},
		{"no pieces", pb{}.bytes(2, pb{}.varint(3, 2)), []string{"ModelProto.pieces is empty"}},
		{"json", []byte(`{"model": {}}`), []string{"x.model"}},
		{"bad byte piece", okPieces.bytes(1, piece("<0xZZ>", 0, 6)), []string{"ModelProto.pieces[2].piece", "<0xNN>"}},
	}
	for _, c := range cases {
		_, err := ParseSentencePiece("x.model", c.data)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range append(c.want, "x.model") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", c.name, err, w)
			}
		}
	}
	if _, err := ParseSentencePiece("x.model", okPieces); err != nil {
		t.Errorf("minimal model: %v", err)
	}
}

// TestSentencePieceBadVocab checks GGUF "llama" vocabularies with missing
// or inconsistent fields.
func TestSentencePieceBadVocab(t *testing.T) {
	toks := []string{"<unk>", "<s>", "</s>", "a"}
	types := []int32{TokenUnknown, TokenControl, TokenControl, TokenNormal}
	cases := []struct {
		name string
		v    Vocab
		want string
	}{
		{"no scores", Vocab{Model: "llama", Tokens: toks, Types: types}, "tokenizer.ggml.scores"},
		{"short scores", Vocab{Model: "llama", Tokens: toks, Types: types, Scores: []float32{0, 0}}, "tokenizer.ggml.scores"},
		{"no types", Vocab{Model: "llama", Tokens: toks, Scores: make([]float32, 4)}, "tokenizer.ggml.token_type"},
		{"bad type", Vocab{Model: "llama", Tokens: toks, Scores: make([]float32, 4), Types: []int32{2, 3, 3, 8}}, "tokenizer.ggml.token_type[3]"},
		{"bad byte token", Vocab{Model: "llama", Tokens: toks, Scores: make([]float32, 4), Types: []int32{2, 3, 3, 6}}, "tokenizer.ggml.tokens[3]"},
		{"no tokens", Vocab{Model: "llama"}, "tokenizer.ggml.tokens"},
		{"unknown model", Vocab{Model: "t5"}, "tokenizer.ggml.model"},
	}
	for _, c := range cases {
		_, err := FromVocab("x.gguf", &c.v)
		if err == nil || !strings.Contains(err.Error(), "x.gguf") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: FromVocab = %v, want an error naming x.gguf and %q", c.name, err, c.want)
		}
	}
	v := Vocab{Model: "llama", Tokens: toks, Types: types, Scores: make([]float32, 4), BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	tok, err := FromVocab("x.gguf", &v)
	if err != nil {
		t.Fatal(err)
	}
	// llama.cpp's defaults: bos 1, eos 2. After <s> the span "a" gets the
	// space prefix; "▁" is no token and there are no byte tokens, so each
	// of its three bytes becomes the unknown token.
	if sp := tok.(*SentencePiece); sp.bos != 1 || sp.eos != 2 || sp.unk != 0 {
		t.Errorf("defaults: bos %d eos %d unk %d", sp.bos, sp.eos, sp.unk)
	}
	if got := tok.Encode("<s>a"); !slices.Equal(got, []int{1, 0, 0, 0, 3}) {
		t.Errorf("Encode(<s>a) = %v, want [1 0 0 0 3] (<s>, 3 × unknown for the bytes of ▁, a)", got)
	}
}

// TestSentencePieceLlamaCpp checks the GGUF path against llama.cpp itself:
// bpe_llamacpp.json holds node-llama-cpp 3.21.1's (libllama's)
// llama_tokenize of every fixture text for bpe.model's vocabulary as a GGUF
// "llama" vocabulary, without and with special-token parsing, and its
// llama_detokenize of sentencepiece's ids (testdata/spm/gen_llamacpp.py).
func TestSentencePieceLlamaCpp(t *testing.T) {
	spm, _ := loadSPMFixture(t, "bpe")
	v, err := ToVocab(spm, 0)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := FromVocab("bpe.gguf", v)
	if err != nil {
		t.Fatal(err)
	}
	llama := tk.(*SentencePiece)
	raw, err := os.ReadFile(filepath.Join("testdata", "spm", "bpe_llamacpp.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []struct {
			Text       string `json:"text"`
			IDs        []int  `json:"ids"`
			IDsSpecial []int  `json:"ids_special"`
			Decoded    string `json:"decoded"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	bpeFx := map[string][]int{}
	_, sfx := loadSPMFixture(t, "bpe")
	for _, c := range sfx.Cases {
		bpeFx[c.Text] = c.IDs
	}
	if len(fx.Cases) != len(sfx.Cases) {
		t.Fatalf("%d llama.cpp cases, %d sentencepiece cases", len(fx.Cases), len(sfx.Cases))
	}
	for _, c := range fx.Cases {
		if got := llama.encodeLlama(c.Text, false, nil); !slices.Equal(got, c.IDs) {
			t.Errorf("llama_tokenize(%q, parse_special=false): loom %v, llama.cpp %v", c.Text, got, c.IDs)
		}
		if got := llama.Encode(c.Text); !slices.Equal(got, c.IDsSpecial) {
			t.Errorf("llama_tokenize(%q, parse_special=true): loom %v, llama.cpp %v", c.Text, got, c.IDsSpecial)
		}
		if got := llama.Decode(bpeFx[c.Text]); got != c.Decoded {
			t.Errorf("llama_detokenize(%v): loom %q, llama.cpp %q", bpeFx[c.Text], got, c.Decoded)
		}
	}
}

// FuzzParseSentencePiece checks that no model file makes parsing, encoding
// or decoding panic.
func FuzzParseSentencePiece(f *testing.F) {
	for _, name := range spmModels {
		data, err := os.ReadFile(filepath.Join("testdata", "spm", name+".model"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 2000)], "a <sep> b\xff 🙂")
		f.Add(data, " x  y\n")
	}
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		tok, err := ParseSentencePiece("f.model", data)
		if err != nil {
			if !strings.Contains(err.Error(), "f.model") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		ids := tok.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("Encode(%q) gave id %d outside [0, %d)", text, id, tok.VocabSize())
			}
		}
		tok.Decode(append(ids, -1, tok.VocabSize()))
		tok.EncodeSpecial(text)
	})
}
