package tokenizer

import (
	"container/heap"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// spmAlgo is how a SentencePiece vocabulary segments text.
type spmAlgo int

const (
	// spmUnigram is sentencepiece's unigram model: the segmentation of
	// highest total score (unigram_model.cc, Model::EncodeOptimized).
	spmUnigram spmAlgo = iota
	// spmBPE is sentencepiece's BPE model: adjacent symbols merged
	// highest score first (bpe_model.cc, Model::SampleEncode without
	// sampling).
	spmBPE
	// spmLlama is llama.cpp's tokenizer for GGUF "llama" vocabularies
	// (llama-vocab.cpp, llm_tokenizer_spm_session::tokenize and the
	// LLAMA_VOCAB_TYPE_SPM case of llama_vocab::impl::tokenize).
	spmLlama
)

// spaceSymbol is U+2581, the character SentencePiece writes for a space.
const spaceSymbol = "\u2581"

// SentencePiece is a SentencePiece tokenizer: a vocabulary of pieces with
// scores and types, segmented as sentencepiece does for a tokenizer.model
// (unigram or BPE; LoadSentencePiece) or as llama.cpp does for a GGUF
// "llama" vocabulary (FromVocab). Spaces are pieces' "▁" (U+2581); bytes no
// piece covers become <0xNN> byte tokens when the vocabulary has them
// (byte fallback), else the unknown token.
type SentencePiece struct {
	name   string
	algo   spmAlgo
	pieces []string  // the vocabulary's text of each id, "▁" for spaces
	scores []float32 // one per id
	types  []int32   // one per id: TokenNormal … TokenByte
	// match holds the pieces the segmenter may produce: for sentencepiece
	// the normal, user-defined and unused ones (model_interface.cc,
	// pieces_), for llama.cpp every token (llama_vocab::text_to_token).
	match map[string]int
	// reserved holds the pieces of the other types (control, unknown,
	// byte): PieceToId finds them, the segmenter does not.
	reserved map[string]int
	byteIDs  [256]int // id of <0xNN>, or -1
	maxLen   int      // longest piece in match, in bytes

	unk, bos, eos, pad int
	addBOS, addEOS     bool // EncodeAddSpecial puts bos before, eos after
	byteFallback       bool
	addDummyPrefix     bool // add_dummy_prefix; llama.cpp: add_space_prefix
	removeExtraWS      bool // remove_extra_whitespaces
	unkSurface         string
	minScore, maxScore float32 // over normal pieces (unigram)

	// userDefined are the user-defined pieces, longest first: sentencepiece
	// keeps them whole (its PrefixMatcher); llama.cpp cuts them out of the
	// text before segmenting.
	userDefined []string
	// specials are the control, unknown and user-defined pieces that
	// EncodeSpecial (and for llama.cpp vocabularies Encode) recognises in
	// text, longest first.
	specials []string

	bytes [][]byte // TokenBytes of each id
}

// LoadSentencePiece reads a sentencepiece model file (tokenizer.model: a
// serialised ModelProto, sentencepiece_model.proto).
func LoadSentencePiece(path string) (*SentencePiece, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseSentencePiece(filepath.Base(path), data)
}

// ParseSentencePiece builds a tokenizer from a serialised sentencepiece
// ModelProto; name is used in errors and as its name. Unigram and BPE
// models are supported with the normalisation sentencepiece applies
// without a precompiled charsmap (the "identity" rule: spaces → "▁",
// add_dummy_prefix, remove_extra_whitespaces, invalid UTF-8 → U+FFFD);
// a normalizer_spec.precompiled_charsmap (nmt_nfkc and other rules),
// normalization_rule_tsv, a denormalizer, treat_whitespace_as_suffix and
// WORD/CHAR models are errors naming the field.
func ParseSentencePiece(name string, data []byte) (*SentencePiece, error) {
	m, err := parseModelProto(name, data)
	if err != nil {
		return nil, err
	}
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: %s: %s", name, field, fmt.Sprintf(format, args...))
	}
	switch {
	case len(m.charsmap) > 0:
		return nil, fail("ModelProto.normalizer_spec.precompiled_charsmap", "normalizer %q has a precompiled charsmap (%d bytes), which loom does not implement (want an identity normalizer with no charsmap)", m.normalizerName, len(m.charsmap))
	case len(m.ruleTSV) > 0:
		return nil, fail("ModelProto.normalizer_spec.normalization_rule_tsv", "custom normalisation rules are not supported")
	case len(m.denormCharsmap) > 0 || len(m.denormRuleTSV) > 0:
		return nil, fail("ModelProto.denormalizer_spec", "denormalisation is not supported")
	case m.treatWSAsSuffix:
		return nil, fail("ModelProto.trainer_spec.treat_whitespace_as_suffix", "true is not supported")
	case !m.escapeWS:
		return nil, fail("ModelProto.normalizer_spec.escape_whitespaces", "false is not supported")
	}
	t := &SentencePiece{name: name, unk: -1, bos: -1, eos: -1, pad: -1, addBOS: true, byteFallback: m.byteFallback,
		addDummyPrefix: m.addDummyPrefix, removeExtraWS: m.removeExtraWS, unkSurface: m.unkSurface}
	switch m.modelType {
	case 1:
		t.algo = spmUnigram
	case 2:
		t.algo = spmBPE
	default:
		return nil, fail("ModelProto.trainer_spec.model_type", "%d is not supported (want 1 UNIGRAM or 2 BPE)", m.modelType)
	}
	for _, p := range m.pieces {
		t.pieces = append(t.pieces, p.piece)
		t.scores = append(t.scores, p.score)
		t.types = append(t.types, p.typ)
	}
	if err := t.index(func(id int, what, format string, args ...any) error {
		return fail(fmt.Sprintf("ModelProto.pieces[%d].%s", id, what), format, args...)
	}); err != nil {
		return nil, err
	}
	if t.unk < 0 {
		return nil, fail("ModelProto.pieces", "no piece has type UNKNOWN")
	}
	for _, sp := range []struct {
		id  int
		dst *int
	}{{m.bos, &t.bos}, {m.eos, &t.eos}, {m.pad, &t.pad}} {
		if sp.id >= 0 && sp.id < len(t.pieces) {
			*sp.dst = sp.id
		}
	}
	if t.byteFallback {
		for b, id := range t.byteIDs {
			if id < 0 {
				return nil, fail("ModelProto.pieces", "trainer_spec.byte_fallback is set but piece <0x%02X> is missing", b)
			}
		}
	}
	t.finish()
	return t, nil
}

// index fills match, reserved, byteIDs and the special lists from pieces
// and types, checking them.
func (t *SentencePiece) index(fail func(id int, what, format string, args ...any) error) error {
	t.match = make(map[string]int, len(t.pieces))
	t.reserved = map[string]int{}
	for i := range t.byteIDs {
		t.byteIDs[i] = -1
	}
	first := true
	for id, p := range t.pieces {
		typ := t.types[id]
		if typ < TokenNormal || typ > TokenByte {
			return fail(id, "type", "%d is not a token type (want 1 … 6)", typ)
		}
		if p == "" && typ != TokenUnused {
			return fail(id, "piece", "empty")
		}
		switch typ {
		case TokenNormal:
			if first || t.scores[id] < t.minScore {
				t.minScore = t.scores[id]
			}
			if first || t.scores[id] > t.maxScore {
				t.maxScore = t.scores[id]
			}
			first = false
		case TokenUnknown:
			if t.unk < 0 {
				t.unk = id
			}
			t.specials = append(t.specials, p)
		case TokenControl:
			t.specials = append(t.specials, p)
		case TokenUserDefined:
			t.userDefined = append(t.userDefined, p)
			t.specials = append(t.specials, p)
		case TokenByte:
			b, ok := byteFallbackToken(p)
			if !ok {
				return fail(id, "piece", "%q has type BYTE but is not <0xNN>", p)
			}
			if t.byteIDs[b] < 0 {
				t.byteIDs[b] = id
			}
		}
		matchable := typ == TokenNormal || typ == TokenUserDefined || typ == TokenUnused
		if t.algo == spmLlama {
			matchable = true
		}
		if matchable {
			if _, dup := t.match[p]; !dup {
				t.match[p] = id
				t.maxLen = max(t.maxLen, len(p))
			}
		} else if _, dup := t.reserved[p]; !dup {
			t.reserved[p] = id
		}
	}
	longestFirst := func(s []string) {
		sort.SliceStable(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	}
	longestFirst(t.userDefined)
	longestFirst(t.specials)
	return nil
}

// finish computes TokenBytes for every id.
func (t *SentencePiece) finish() {
	t.bytes = make([][]byte, len(t.pieces))
	for id, p := range t.pieces {
		switch t.types[id] {
		case TokenByte:
			b, _ := byteFallbackToken(p)
			t.bytes[id] = []byte{b}
		case TokenControl, TokenUnused:
			t.bytes[id] = []byte{}
		case TokenUnknown:
			if t.algo == spmLlama {
				t.bytes[id] = []byte("\u2585") // llama_vocab::impl::token_to_piece
			} else {
				t.bytes[id] = []byte(t.unkSurface)
			}
		case TokenUserDefined:
			if t.algo == spmLlama {
				t.bytes[id] = []byte(p) // llama.cpp copies user-defined text as it is
				break
			}
			fallthrough
		default:
			t.bytes[id] = []byte(strings.ReplaceAll(p, spaceSymbol, " "))
		}
	}
}

// Name returns the tokenizer's name (its file's name).
func (t *SentencePiece) Name() string { return t.name }

// VocabSize returns the number of pieces.
func (t *SentencePiece) VocabSize() int { return len(t.pieces) }

// EOS returns the end-of-sequence id, or -1.
func (t *SentencePiece) EOS() int { return t.eos }

// BOS returns the beginning-of-sequence id, or -1.
func (t *SentencePiece) BOS() int { return t.bos }

// Special returns the id of a control, unknown or user-defined piece, or
// -1.
func (t *SentencePiece) Special(content string) int {
	for _, s := range t.specials {
		if s == content {
			if id, ok := t.reserved[s]; ok {
				return id
			}
			return t.match[s]
		}
	}
	return -1
}

// TokenBytes returns the text of id: "▁" becomes a space, a byte token its
// byte, control and unused tokens nothing, the unknown token
// sentencepiece's unk_surface (" ⁇ ") or for a GGUF vocabulary llama.cpp's
// "▅". An id outside the vocabulary gives U+FFFD.
func (t *SentencePiece) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.bytes) {
		return replacement
	}
	return t.bytes[id]
}

// Decode returns the text of ids: their TokenBytes, with the space of the
// dummy prefix removed. For a tokenizer.model (sentencepiece_processor.cc,
// Decode and its DecodeSentencePiece, when add_dummy_prefix or
// remove_extra_whitespaces is set): at the start of the text a normal,
// user-defined or unused piece loses one leading space; the start ends
// with the first piece that gives text or, without
// remove_extra_whitespaces, with the first piece that lost its space (so
// with remove_extra_whitespaces every leading "▁" piece is dropped). For
// a GGUF vocabulary with add_space_prefix, the first token loses one
// leading space (llama_vocab::impl::detokenize). Unlike sentencepiece,
// byte tokens that do not form valid UTF-8 are returned as they are
// rather than as U+FFFD.
func (t *SentencePiece) Decode(ids []int) string {
	var sb strings.Builder
	bos := true // at the start: the dummy-prefix space is still to be removed
	for i, id := range ids {
		b := t.TokenBytes(id)
		if t.algo == spmLlama {
			if i == 0 && t.addDummyPrefix && len(b) > 0 && b[0] == ' ' {
				b = b[1:]
			}
			sb.Write(b)
			continue
		}
		consumed := false
		if bos && id >= 0 && id < len(t.types) && (t.addDummyPrefix || t.removeExtraWS) {
			switch t.types[id] {
			case TokenNormal, TokenUserDefined, TokenUnused:
				if len(b) > 0 && b[0] == ' ' {
					b, consumed = b[1:], !t.removeExtraWS
				}
			}
		}
		if bos && (len(b) > 0 || consumed) {
			bos = false
		}
		sb.Write(b)
	}
	return sb.String()
}

// Encode returns the ids of text. For a tokenizer.model it gives
// sentencepiece's EncodeAsIds: user-defined pieces are kept whole, control
// piece text ("<s>") is ordinary text. For a GGUF vocabulary it gives
// llama.cpp's llama_tokenize with parse_special: control, unknown and
// user-defined token text is cut out first and becomes its id, and each
// remaining span gets the space prefix if it starts the text or follows
// such a token.
func (t *SentencePiece) Encode(text string) []int {
	if t.algo == spmLlama {
		return t.encodeLlama(text, true, nil)
	}
	return t.encodeSPM(text, nil)
}

// EncodeAddSpecial is Encode with the BOS id before (and for a GGUF
// vocabulary with add_eos_token, the EOS id after): as llama.cpp's
// llama_tokenize with add_special for GGUF (tokenizer.ggml.add_bos_token,
// add_eos_token), and as transformers' LlamaTokenizer/GemmaTokenizer
// (add_bos_token true, add_eos_token false) for a tokenizer.model.
func (t *SentencePiece) EncodeAddSpecial(text string) []int {
	var out []int
	if t.addBOS && t.bos >= 0 {
		out = append(out, t.bos)
	}
	out = append(out, t.Encode(text)...)
	if t.addEOS && t.eos >= 0 {
		out = append(out, t.eos)
	}
	return out
}

// EncodeSpecial returns the ids of text with control, unknown and
// user-defined token text recognised as those tokens.
func (t *SentencePiece) EncodeSpecial(text string) []int {
	if t.algo == spmLlama {
		return t.encodeLlama(text, true, nil)
	}
	var out []int
	for text != "" {
		i, s := t.nextSpecial(text, t.specials)
		if i < 0 {
			break
		}
		out = t.encodeSPM(text[:i], out)
		out = append(out, t.Special(s))
		text = text[i+len(s):]
	}
	return t.encodeSPM(text, out)
}

// nextSpecial finds the leftmost of list in text (the longest one at
// that position); -1 if none occurs.
func (t *SentencePiece) nextSpecial(text string, list []string) (int, string) {
	best, which := -1, ""
	for _, s := range list {
		if i := strings.Index(text, s); i >= 0 && (best < 0 || i < best) {
			best, which = i, s
		}
	}
	return best, which
}

// normalize applies sentencepiece's normaliser without a charsmap
// (normalizer.cc, Normalizer::Normalize): invalid UTF-8 bytes become
// U+FFFD, user-defined pieces are copied whole, leading, trailing and
// repeated spaces are removed when remove_extra_whitespaces is set, a
// "▁" is prepended when add_dummy_prefix is set and the text is not
// empty, and spaces become "▁".
func (t *SentencePiece) normalize(text string) string {
	var sb strings.Builder
	if t.removeExtraWS {
		text = strings.TrimLeft(text, " ")
	}
	if text == "" {
		return ""
	}
	if t.addDummyPrefix {
		sb.WriteString(spaceSymbol)
	}
	prevSpace := t.removeExtraWS
	for text != "" {
		var unit string
		if ud := t.prefixUserDefined(text); ud != "" {
			unit, text = ud, text[len(ud):]
		} else {
			r, n := utf8.DecodeRuneInString(text)
			unit, text = text[:n], text[n:]
			if r == utf8.RuneError && n == 1 {
				unit = "\uFFFD"
			}
		}
		if prevSpace {
			unit = strings.TrimLeft(unit, " ")
		}
		if unit != "" {
			sb.WriteString(strings.ReplaceAll(unit, " ", spaceSymbol))
			prevSpace = strings.HasSuffix(unit, " ")
		}
		if !t.removeExtraWS {
			prevSpace = false
		}
	}
	s := sb.String()
	if t.removeExtraWS {
		for strings.HasSuffix(s, spaceSymbol) {
			s = strings.TrimSuffix(s, spaceSymbol)
		}
	}
	return s
}

// prefixUserDefined returns the longest user-defined piece text starts
// with, or "".
func (t *SentencePiece) prefixUserDefined(text string) string {
	for _, s := range t.userDefined { // longest first
		if strings.HasPrefix(text, s) {
			return s
		}
	}
	return ""
}

// encodeSPM appends sentencepiece's ids for text (normalised, segmented,
// unknown pieces turned into byte tokens when byte_fallback is set:
// sentencepiece_processor.cc, Encode).
func (t *SentencePiece) encodeSPM(text string, out []int) []int {
	norm := t.normalize(text)
	if norm == "" {
		return out
	}
	var segs []string
	if t.algo == spmUnigram {
		segs = t.viterbi(norm)
	} else {
		segs = t.mergeBPE(norm, true)
	}
	for _, s := range segs {
		id := t.pieceToID(s)
		if id == t.unk && t.byteFallback {
			for i := 0; i < len(s); i++ {
				out = append(out, t.byteIDs[s[i]])
			}
			continue
		}
		out = append(out, id)
	}
	return out
}

// pieceToID is sentencepiece's PieceToId: a reserved piece, else a
// matchable one, else the unknown id.
func (t *SentencePiece) pieceToID(s string) int {
	if id, ok := t.reserved[s]; ok {
		return id
	}
	if id, ok := t.match[s]; ok {
		return id
	}
	return t.unk
}

// viterbi returns the segmentation of norm with the highest total score
// (unigram_model.cc, Model::EncodeOptimized): a piece scores its score, a
// user-defined piece len·max_score − 0.1, a character no piece starts
// with min_score − 10 as an unknown piece; unused pieces are skipped;
// consecutive unknown characters become one unknown piece (as
// sentencepiece's result shows: "中文" is one <unk>, not two). The
// arithmetic follows the reference's float and double types so that ties
// break the same way: among equal scores the first path found (earlier
// start, then shorter piece) is kept.
func (t *SentencePiece) viterbi(norm string) []string {
	type node struct {
		start int
		score float32
	}
	n := len(norm)
	best := make([]node, n+1)
	for i := range best {
		best[i].start = -1
	}
	best[0].start = 0
	unkScore := t.minScore - 10
	for start := 0; start < n; {
		_, mblen := utf8.DecodeRuneInString(norm[start:])
		till := best[start].score
		single := false
		for end := start + 1; end <= n && end-start <= t.maxLen; end++ {
			id, ok := t.match[norm[start:end]]
			if !ok || t.types[id] == TokenUnused {
				continue
			}
			var score float64
			if t.types[id] == TokenUserDefined {
				score = float64(float32(end-start)*t.maxScore) - 0.1
			} else {
				score = float64(t.scores[id])
			}
			cand := score + float64(till)
			if best[end].start < 0 || cand > float64(best[end].score) {
				best[end] = node{start, float32(cand)}
			}
			if end-start == mblen {
				single = true
			}
		}
		if !single {
			cand := unkScore + till
			if e := start + mblen; best[e].start < 0 || cand > best[e].score {
				best[e] = node{start, cand}
			}
		}
		start += mblen
	}
	var segs []string
	prevUnk := false
	for end := n; end > 0; end = best[end].start {
		seg := norm[best[end].start:end]
		_, known := t.match[seg]
		if !known && prevUnk {
			segs[len(segs)-1] = seg + segs[len(segs)-1] // consecutive unknown characters form one unknown piece
			continue
		}
		segs = append(segs, seg)
		prevUnk = !known
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return segs
}

// spmSymbol is one symbol of the merge loop: text[start:start+n], linked
// to its neighbours.
type spmSymbol struct {
	start, n   int
	prev, next int
	freeze     bool
}

// spmBigram is a candidate merge of two adjacent symbols.
type spmBigram struct {
	left, right int
	score       float32
	size        int
}

// bigramQueue pops the highest score first and, among equal scores, the
// leftmost (bpe_model.cc SymbolPairComparator; llama.cpp
// llm_bigram_spm::comparator).
type bigramQueue []spmBigram

func (q bigramQueue) Len() int { return len(q) }
func (q bigramQueue) Less(i, j int) bool {
	return q[i].score > q[j].score || (q[i].score == q[j].score && q[i].left < q[j].left)
}
func (q bigramQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bigramQueue) Push(x any)   { *q = append(*q, x.(spmBigram)) }
func (q *bigramQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// mergeBPE splits text into characters (user-defined pieces whole and
// frozen when freezeUD) and merges adjacent symbols whose concatenation
// is a matchable piece, highest score first, until none is left
// (bpe_model.cc Model::SampleEncode; llama.cpp
// llm_tokenizer_spm_session::tokenize). Merged pieces of type UNUSED are
// split back into the symbols they came from (resegment).
func (t *SentencePiece) mergeBPE(text string, freezeUD bool) []string {
	var syms []spmSymbol
	for off := 0; off < len(text); {
		n, freeze := 0, false
		if freezeUD {
			if ud := t.prefixUserDefined(text[off:]); ud != "" {
				n, freeze = len(ud), true
			}
		}
		if n == 0 {
			n = utf8SeqLen(text[off])
			n = min(n, len(text)-off)
		}
		syms = append(syms, spmSymbol{start: off, n: n, prev: len(syms) - 1, next: len(syms) + 1, freeze: freeze})
		off += n
	}
	if len(syms) == 0 {
		return nil
	}
	syms[len(syms)-1].next = -1
	q := &bigramQueue{}
	revMerge := map[string][2]string{}
	add := func(l, r int) {
		if l < 0 || r < 0 || syms[l].freeze || syms[r].freeze {
			return
		}
		s := text[syms[l].start : syms[l].start+syms[l].n+syms[r].n]
		id, ok := t.match[s]
		if !ok {
			return
		}
		heap.Push(q, spmBigram{left: l, right: r, score: t.scores[id], size: len(s)})
		if t.types[id] == TokenUnused && t.algo != spmLlama {
			revMerge[s] = [2]string{text[syms[l].start : syms[l].start+syms[l].n], text[syms[r].start : syms[r].start+syms[r].n]}
		}
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(q).(spmBigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		add(l.prev, b.left)
		add(b.left, l.next)
	}
	var segs []string
	var reseg func(s string)
	reseg = func(s string) {
		if p, ok := revMerge[s]; ok {
			reseg(p[0])
			reseg(p[1])
			return
		}
		segs = append(segs, s)
	}
	for i := 0; i >= 0; i = syms[i].next {
		reseg(text[syms[i].start : syms[i].start+syms[i].n])
	}
	return segs
}

// utf8SeqLen is the length of the UTF-8 sequence lead byte b starts, as
// llama.cpp's unicode_len_utf8 computes it (1 for a byte that cannot lead).
func utf8SeqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b>>5 == 0x6:
		return 2
	case b>>4 == 0xE:
		return 3
	case b>>3 == 0x1E:
		return 4
	}
	return 1
}

// encodeLlama appends llama.cpp's ids for text: special token text cut
// out (control and unknown ones only when parseSpecial; tokenizer_st_partition),
// each other span prefixed with a space when add_space_prefix is set and
// it starts the text or follows a special token, spaces escaped to "▁",
// merged, and symbols that are no token emitted as byte tokens
// (llm_tokenizer_spm_session::resegment, llama_vocab::byte_to_token).
func (t *SentencePiece) encodeLlama(text string, parseSpecial bool, out []int) []int {
	list := t.specials
	if !parseSpecial {
		list = t.userDefined
	}
	prevSpecial := true
	for text != "" {
		i, s := t.nextSpecial(text, list)
		seg := text
		if i >= 0 {
			seg = text[:i]
		}
		if seg != "" {
			if t.addDummyPrefix && prevSpecial {
				seg = " " + seg
			}
			out = t.mergeLlama(strings.ReplaceAll(seg, " ", spaceSymbol), out)
			prevSpecial = false
		}
		if i < 0 {
			break
		}
		out = append(out, t.Special(s))
		prevSpecial = true
		text = text[i+len(s):]
	}
	return out
}

func (t *SentencePiece) mergeLlama(text string, out []int) []int {
	for _, s := range t.mergeBPE(text, false) {
		if id, ok := t.match[s]; ok {
			out = append(out, id)
			continue
		}
		for i := 0; i < len(s); i++ {
			out = append(out, t.byteToken(s[i]))
		}
	}
	return out
}

// byteToken is llama.cpp's byte_to_token for SentencePiece vocabularies:
// the <0xNN> token, else the token that is the byte itself, else (where
// llama.cpp would fail) the unknown token.
func (t *SentencePiece) byteToken(b byte) int {
	if id := t.byteIDs[b]; id >= 0 {
		return id
	}
	if id, ok := t.match[string([]byte{b})]; ok {
		return id
	}
	return t.unk
}

// fromLlamaVocab builds llama.cpp's tokenizer for a GGUF "llama"
// vocabulary. Missing bos/eos/unknown ids take llama.cpp's defaults for
// SentencePiece vocabularies (1, 2 and 0; llama_vocab::impl::load) when
// the vocabulary has those ids.
func fromLlamaVocab(name string, v *Vocab) (*SentencePiece, error) {
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: %s: %s", name, field, fmt.Sprintf(format, args...))
	}
	n := len(v.Tokens)
	if n == 0 {
		return nil, fail("tokenizer.ggml.tokens", "no tokens")
	}
	if len(v.Scores) != n {
		return nil, fail("tokenizer.ggml.scores", "%d scores for %d tokens (a \"llama\" vocabulary needs one score per token)", len(v.Scores), n)
	}
	if len(v.Types) != n {
		return nil, fail("tokenizer.ggml.token_type", "%d token types for %d tokens", len(v.Types), n)
	}
	t := &SentencePiece{name: name, algo: spmLlama, pieces: v.Tokens, scores: v.Scores, types: v.Types,
		unk: -1, bos: v.BOS, eos: v.EOS, pad: v.PAD, addBOS: v.AddBOS, addEOS: v.AddEOS, byteFallback: true, addDummyPrefix: true}
	if v.AddSpacePrefix != nil {
		t.addDummyPrefix = *v.AddSpacePrefix
	}
	if err := t.index(func(id int, what, format string, args ...any) error {
		field := map[string]string{"type": "tokenizer.ggml.token_type", "piece": "tokenizer.ggml.tokens"}[what]
		return fail(fmt.Sprintf("%s[%d]", field, id), format, args...)
	}); err != nil {
		return nil, err
	}
	defaults := []struct {
		dst *int
		id  int
	}{{&t.bos, 1}, {&t.eos, 2}}
	if v.UNK >= 0 {
		t.unk = v.UNK
	} else if t.unk < 0 && n > 0 {
		defaults = append(defaults, struct {
			dst *int
			id  int
		}{&t.unk, 0})
	}
	for _, d := range defaults {
		if *d.dst < 0 && d.id < n {
			*d.dst = d.id
		}
	}
	t.finish()
	return t, nil
}

// toVocab returns t as a GGUF "llama" vocabulary. llama.cpp segments such
// a vocabulary with BPE merges and does not remove extra spaces, so a
// unigram model or one with remove_extra_whitespaces would tokenise
// differently there and is refused.
func (t *SentencePiece) toVocab() (*Vocab, error) {
	if t.algo == spmUnigram {
		return nil, fmt.Errorf("tokenizer: %s is a unigram SentencePiece model; llama.cpp's \"llama\" vocabulary merges pieces as BPE and would tokenise differently", t.name)
	}
	if t.algo == spmBPE && t.removeExtraWS {
		return nil, fmt.Errorf("tokenizer: %s: normalizer_spec.remove_extra_whitespaces is set; llama.cpp keeps extra spaces and would tokenise differently", t.name)
	}
	asp := t.addDummyPrefix
	v := &Vocab{Model: "llama", Pre: "default", Tokens: append([]string(nil), t.pieces...),
		Scores: append([]float32(nil), t.scores...), Types: append([]int32(nil), t.types...),
		BOS: t.bos, EOS: t.eos, UNK: t.unk, PAD: t.pad, AddBOS: t.addBOS && t.bos >= 0, AddEOS: t.addEOS && t.eos >= 0, AddSpacePrefix: &asp}
	return v, nil
}
