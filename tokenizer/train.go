package tokenizer

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/loomml/loom/tokenizer/pretok"
)

// TrainOptions configure BPE training.
type TrainOptions struct {
	VocabSize int      // total ids: special tokens + 256 bytes + merges
	Specials  []string // special tokens (ids 0…), e.g. "<|endoftext|>"
	// Pattern is the pre-tokenizer regex (default: GPT-2's, as HF's
	// ByteLevel pre-tokenizer uses).
	Pattern  string
	Name     string
	Progress func(done, total int) // called as merges are learnt (may be nil)
}

// TrainBPE learns a byte-level BPE vocabulary from text: the text is split
// into words by the pre-tokenizer, words start as bytes, and the most
// frequent adjacent pair (ties: the smaller pair of ids) is merged until the
// vocabulary is full. The result is a Hugging Face tokenizer.json model
// (ByteLevel pre-tokenizer, decoder and post-processor) that transformers
// and tokenizers load, and that SaveHF writes.
func TrainBPE(text []byte, o TrainOptions) (*BPE, error) {
	if o.Pattern == "" {
		o.Pattern = pretok.GPT2Pattern
	}
	base := len(o.Specials) + 256
	if o.VocabSize < base {
		return nil, fmt.Errorf("tokenizer: vocabulary size %d is smaller than the %d special tokens plus 256 bytes", o.VocabSize, len(o.Specials))
	}
	seenSp := map[string]bool{}
	for _, s := range o.Specials {
		if s == "" || seenSp[s] {
			return nil, fmt.Errorf("tokenizer: special token %q is empty or repeated", s)
		}
		seenSp[s] = true
	}
	split, err := pretok.ForPattern(o.Pattern)
	if err != nil {
		return nil, err
	}
	// Word counts.
	counts := map[string]int{}
	split.Split(string(text), func(w string) { counts[w]++ })
	type word struct {
		syms []int
		n    int
	}
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	sort.Strings(keys) // deterministic
	words := make([]word, len(keys))
	for i, w := range keys {
		syms := make([]int, len(w))
		for j := 0; j < len(w); j++ {
			syms[j] = len(o.Specials) + int(w[j])
		}
		words[i] = word{syms, counts[w]}
	}
	// Token bytes by id.
	toks := make([][]byte, 0, o.VocabSize)
	for _, s := range o.Specials {
		toks = append(toks, []byte(s))
	}
	for b := range 256 {
		toks = append(toks, []byte{byte(b)})
	}
	// Pair statistics and where each pair occurs.
	pairs := map[uint64]int{}
	where := map[uint64]map[int]bool{}
	addWord := func(i, sign int) {
		s := words[i].syms
		for j := 0; j+1 < len(s); j++ {
			k := pairKey(s[j], s[j+1])
			pairs[k] += sign * words[i].n
			if sign > 0 {
				if where[k] == nil {
					where[k] = map[int]bool{}
				}
				where[k][i] = true
			}
		}
	}
	for i := range words {
		addWord(i, 1)
	}
	var merges [][2]int
	total := o.VocabSize - base
	// A max-heap of (count, pair) with lazy deletion: an entry is valid
	// while its count equals the pair's current count.
	h := &pairHeap{}
	for k, n := range pairs {
		h.push(pairEntry{n, k})
	}
	changed := map[uint64]bool{}
	for len(toks) < o.VocabSize {
		var best pairEntry
		found := false
		for h.len() > 0 {
			e := h.pop()
			if n := pairs[e.key]; n == e.n && n > 0 {
				best, found = e, true
				break
			}
		}
		if !found {
			break // nothing left to merge
		}
		a, b := int(best.key>>32), int(uint32(best.key))
		id := len(toks)
		toks = append(toks, append(append([]byte(nil), toks[a]...), toks[b]...))
		merges = append(merges, [2]int{a, b})
		affected := where[best.key]
		idxs := make([]int, 0, len(affected))
		for i := range affected {
			idxs = append(idxs, i)
		}
		sort.Ints(idxs)
		clear(changed)
		for _, i := range idxs {
			s := words[i].syms
			for j := 0; j+1 < len(s); j++ {
				changed[pairKey(s[j], s[j+1])] = true
			}
			addWord(i, -1)
			out := s[:0]
			for j := 0; j < len(s); j++ {
				if j+1 < len(s) && s[j] == a && s[j+1] == b {
					out = append(out, id)
					j++
					continue
				}
				out = append(out, s[j])
			}
			words[i].syms = out
			addWord(i, 1)
			for j := 0; j+1 < len(out); j++ {
				changed[pairKey(out[j], out[j+1])] = true
			}
		}
		delete(pairs, best.key)
		delete(where, best.key)
		for k := range changed {
			if n := pairs[k]; n > 0 {
				h.push(pairEntry{n, k})
			} else {
				delete(pairs, k)
				delete(where, k)
			}
		}
		if o.Progress != nil {
			o.Progress(len(merges), total)
		}
	}
	return hfFromTraining(o, toks, merges)
}

// hfFromTraining writes the learnt vocabulary as tokenizer.json and loads it
// back, so a trained tokenizer behaves exactly as its saved file does.
func hfFromTraining(o TrainOptions, toks [][]byte, merges [][2]int) (*BPE, error) {
	vocab := make(map[string]int, len(toks))
	var added []hfAddedToken
	for id, t := range toks {
		if id < len(o.Specials) {
			vocab[string(t)] = id
			added = append(added, hfAddedToken{ID: id, Content: string(t), Special: true})
			continue
		}
		vocab[encodeByteLevel(t)] = id
	}
	ms := make([]string, len(merges))
	for i, m := range merges {
		ms[i] = encodeByteLevel(toks[m[0]]) + " " + encodeByteLevel(toks[m[1]])
	}
	vb, _ := json.Marshal(vocab)
	mb, _ := json.Marshal(ms)
	byteLevel := json.RawMessage(`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`)
	f := hfFile{Version: "1.0", Truncation: json.RawMessage("null"), Padding: json.RawMessage("null"),
		AddedTokens: added, Normalizer: json.RawMessage("null"), PreTokenizer: byteLevel,
		PostProcessor: byteLevel, Decoder: byteLevel,
		Model: hfModel{Type: "BPE", Vocab: vb, Merges: mb}}
	if o.Pattern != pretok.GPT2Pattern {
		pat, _ := json.Marshal(o.Pattern)
		f.PreTokenizer = json.RawMessage(`{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + string(pat) +
			`},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`)
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("bpe%d", len(toks))
	}
	return ParseHF(name, raw)
}

type pairEntry struct {
	n   int
	key uint64
}

// pairHeap orders pairs by count (highest first), then by smaller ids.
type pairHeap struct{ e []pairEntry }

func (h *pairHeap) len() int { return len(h.e) }

func (h *pairHeap) less(i, j int) bool {
	if h.e[i].n != h.e[j].n {
		return h.e[i].n > h.e[j].n
	}
	return h.e[i].key < h.e[j].key
}

func (h *pairHeap) push(e pairEntry) {
	h.e = append(h.e, e)
	for i := len(h.e) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.e[i], h.e[p] = h.e[p], h.e[i]
		i = p
	}
}

func (h *pairHeap) pop() pairEntry {
	top := h.e[0]
	last := len(h.e) - 1
	h.e[0] = h.e[last]
	h.e = h.e[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.e) && h.less(l, m) {
			m = l
		}
		if r < len(h.e) && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.e[i], h.e[m] = h.e[m], h.e[i]
		i = m
	}
	return top
}
