package eval

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// Task names.
const (
	TaskContinuation = "continuation"
	TaskLastWord     = "lastword"
)

// Item construction parameters.
const (
	taskChoices    = 4  // choices per item
	taskContext    = 96 // most context tokens an item keeps
	minTaskContext = 32 // fewest context tokens an item may have
	contMinLen     = 16 // continuation choices have contMinLen…contMaxLen tokens
	contMaxLen     = 24
	lastWordPool   = 20 // lastword distractors come from this many frequent words
)

// LM is a language model as evaluation uses it: *decoder.Model and
// anything with the same forward pass (a pruned model, a wrapper, another
// family) will do. Forward returns next-token logits [B, T, V] for ids
// [B·T]; evaluation calls it with a nil Ctx (evaluation mode, position 0,
// no cache) inside autograd.NoGrad.
type LM interface {
	Forward(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var
	MaxPositions() int
	VocabSize() int
}

// Item is one multiple-choice question: which of Choices follows Context.
type Item struct {
	Context []int   `json:"context"`
	Choices [][]int `json:"choices"`
	Answer  int     `json:"answer"` // index into Choices of the true one
	// ChoiceBytes is the byte length of each choice's text, the divisor of
	// AccuracyNorm (nil: token counts are used).
	ChoiceBytes []int `json:"choice_bytes,omitempty"`
}

// Task is a set of items of one kind.
type Task struct {
	Name   string
	Items  []Item
	Chance float64 // expected accuracy of guessing: the mean of 1/len(Choices)
}

// TaskResult is a model's score on a task.
type TaskResult struct {
	Task  string `json:"task"`
	Items int    `json:"items"`
	// Accuracy is the headline: the fraction of items whose true choice has
	// the highest total log-probability (exact ties share the credit).
	Accuracy float64 `json:"accuracy"`
	// AccuracyNorm ranks choices by log-probability per byte instead.
	AccuracyNorm float64 `json:"accuracy_norm"`
	Chance       float64 `json:"chance"`
	// StdErr is the binomial standard error of Accuracy,
	// sqrt(acc·(1−acc)/items).
	StdErr float64 `json:"stderr"`
}

// TaskOptions control Task.Evaluate.
type TaskOptions struct {
	Batch    int           // sequences (context + one choice) per forward pass (default 8)
	Progress *progress.Bar // advanced by the number of sequences scored
}

// TaskNames returns the names BuildTask accepts.
func TaskNames() []string { return []string{TaskContinuation, TaskLastWord} }

// ParseTasks splits a comma-separated list of task names (as a --tasks flag
// gives it), rejecting unknown and repeated names. An empty list is nil.
func ParseTasks(list string) ([]string, error) {
	var names []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			continue
		case !slices.Contains(TaskNames(), f):
			return nil, fmt.Errorf("unknown task %q (known: %s)", f, strings.Join(TaskNames(), ", "))
		case slices.Contains(names, f):
			return nil, fmt.Errorf("task %q is listed twice", f)
		}
		names = append(names, f)
	}
	return names, nil
}

// HeldOutText returns the part of text that training does not see: the
// text of the last valFraction of its tokens under tok, split exactly as
// data.Prepare splits them (the first int(n·(1−valFraction)) tokens train).
func HeldOutText(text []byte, tok tokenizer.Tokenizer, valFraction float64) []byte {
	ids := tok.Encode(string(text))
	nTrain := data.TrainTokens(len(ids), valFraction)
	return []byte(tok.Decode(ids[nTrain:]))
}

// BuildTask builds n items of the named task from text (a text the model
// was not trained on, such as HeldOutText), tokenized by tok, choosing
// passages, distractors and answer positions with a generator seeded by
// seed. The same arguments give the same task, and the first m items for n
// are the items for m < n. It fails, naming the task, when the text does
// not yield n items. Every item has 4 choices of equal token count, so
// chance is 0.25:
//
//   - "continuation": a passage (up to 96 tokens) ending at a word or line
//     boundary, and 4 continuations of 16–24 tokens (drawn per item): the
//     true next span and 3 spans from elsewhere in the text that start at
//     the same kind of boundary (a space before a word, or a line start)
//     and overlap neither the item's passage nor its true continuation.
//     True continuations of different items do not overlap.
//   - "lastword": the text up to the last word of a line (a line ending in
//     a word, optionally followed by closing punctuation other than a
//     colon, so speaker labels do not count), and 4 words, each written
//     with a leading space and followed by the line's real ending (its
//     punctuation and newline), the same for every choice: the true word
//     and 3 drawn from the 20 most frequent words of the text (by count;
//     one spelling per word regardless of case) whose choice has as many
//     tokens as the true one, none equal to it but for case. The shared
//     ending marks where the word stops, so a distractor that is a prefix
//     of the answer ("the" for "thee") cannot win by leaving the word
//     open; the equal token count removes the bias of summed
//     log-probabilities towards short words.
func BuildTask(name string, text []byte, tok tokenizer.Tokenizer, n int, seed uint64) (Task, error) {
	if n < 1 {
		return Task{}, fmt.Errorf("task %s: %d items requested, want at least 1", name, n)
	}
	var (
		items  []Item
		usable int
		unit   string
	)
	switch name {
	case TaskContinuation:
		items, usable = buildContinuation(text, tok, n, seed)
		unit = "word or line boundaries with a passage before and a continuation after"
	case TaskLastWord:
		items, usable = buildLastWord(text, tok, n, seed)
		unit = "lines ending in a word"
	default:
		return Task{}, fmt.Errorf("unknown task %q (known: %s)", name, strings.Join(TaskNames(), ", "))
	}
	if len(items) < n {
		return Task{}, fmt.Errorf("task %s: the text (%d bytes) yields only %d items (from %d %s), %d requested; use a longer text or fewer items",
			name, len(text), len(items), usable, unit, n)
	}
	t := Task{Name: name, Items: items}
	for _, it := range items {
		t.Chance += 1 / float64(len(it.Choices))
	}
	t.Chance /= float64(len(items))
	return t, nil
}

// buildContinuation returns up to n continuation items and the number of
// candidate positions it drew them from.
func buildContinuation(text []byte, tok tokenizer.Tokenizer, n int, seed uint64) ([]Item, int) {
	ids := tok.Encode(string(text))
	off := make([]int, len(ids)+1) // byte offset of each token in dec
	var dec []byte
	for i, id := range ids {
		off[i] = len(dec)
		dec = append(dec, tok.TokenBytes(id)...)
	}
	off[len(ids)] = len(dec)
	// Boundaries: tokens that start a word after a space (kind 1) or a line
	// (kind 2) and leave room for the longest continuation.
	kind := make([]uint8, len(ids))
	var byKind [3][]int
	var cands []int
	for i := 1; i+contMaxLen <= len(ids); i++ {
		k := boundaryKind(dec, off[i])
		if k == 0 {
			continue
		}
		kind[i] = k
		byKind[k] = append(byKind[k], i)
		if i >= minTaskContext {
			cands = append(cands, i)
		}
	}
	rng := tensor.NewRNG(seed)
	rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	used := make([]bool, len(ids)) // tokens of accepted true continuations
	var items []Item
	for _, s := range cands {
		if len(items) == n {
			break
		}
		if slices.Contains(used[s:s+contMaxLen], true) {
			continue // keep the true continuations apart
		}
		L := contMinLen + rng.Intn(contMaxLen-contMinLen+1)
		c0 := max(0, s-taskContext)
		choices := [][]int{ids[s : s+L]}
		pool := byKind[kind[s]]
		for try := 0; len(choices) < taskChoices && try < 64; try++ {
			d := pool[rng.Intn(len(pool))]
			if d+L > c0 && d < s+L {
				continue // overlaps this item's own passage
			}
			span := ids[d : d+L]
			if slices.ContainsFunc(choices, func(c []int) bool { return slices.Equal(c, span) }) {
				continue
			}
			choices = append(choices, span)
		}
		if len(choices) < taskChoices {
			continue
		}
		for k := s; k < s+L; k++ {
			used[k] = true
		}
		it := Item{Context: slices.Clone(ids[c0:s])}
		a := rng.Intn(taskChoices)
		choices[0], choices[a] = choices[a], choices[0]
		it.Answer = a
		for _, c := range choices {
			it.Choices = append(it.Choices, slices.Clone(c))
			it.ChoiceBytes = append(it.ChoiceBytes, numBytes(tok, c))
		}
		items = append(items, it)
	}
	return items, len(cands)
}

// boundaryKind tells whether byte o of text starts a word after a space
// (1: a space, then a letter, after a non-space) or a line (2: a letter
// after a newline), or neither (0).
func boundaryKind(text []byte, o int) uint8 {
	if o < 1 || o+1 >= len(text) {
		return 0
	}
	switch {
	case text[o] == ' ' && !isSpace(text[o-1]) && letterAt(text, o+1):
		return 1
	case text[o-1] == '\n' && letterAt(text, o):
		return 2
	}
	return 0
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

func letterAt(text []byte, o int) bool {
	r, _ := utf8.DecodeRune(text[o:])
	return unicode.IsLetter(r)
}

// buildLastWord returns up to n lastword items and the number of lines
// ending in a word it drew them from.
func buildLastWord(text []byte, tok tokenizer.Tokenizer, n int, seed uint64) ([]Item, int) {
	type cand struct{ ws, we, te int } // word start, word end, line end (after '\n')
	var cands []cand
	for start := 0; start < len(text); {
		nl := bytes.IndexByte(text[start:], '\n')
		if nl < 0 {
			break
		}
		if ws, we, ok := lastWordOf(text[start : start+nl]); ok {
			cands = append(cands, cand{start + ws, start + we, start + nl + 1})
		}
		start += nl + 1
	}
	byLen := frequentWordsByTokens(text, tok)
	rng := tensor.NewRNG(seed)
	rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	var items []Item
	for _, c := range cands {
		if len(items) == n {
			break
		}
		answer := string(text[c.ws:c.we])
		tail := string(text[c.we:c.te])
		// The word and the line's ending are encoded together, as in the
		// text (a tokenizer that prefixes every encoded string with a space
		// would add one before a separately encoded ending).
		truth := tok.Encode(" " + answer + tail)
		var pool [][]int
		for _, w := range byLen[len(tok.Encode(" "+answer))] {
			if strings.EqualFold(w, answer) {
				continue
			}
			if ch := tok.Encode(" " + w + tail); len(ch) == len(truth) {
				pool = append(pool, ch)
				if len(pool) == lastWordPool {
					break
				}
			}
		}
		if len(pool) < taskChoices-1 {
			continue
		}
		ctx := tok.Encode(string(text[max(0, c.ws-1-8*taskContext) : c.ws-1]))
		if len(ctx) > taskContext {
			ctx = ctx[len(ctx)-taskContext:]
		}
		if len(ctx) < minTaskContext {
			continue
		}
		choices := [][]int{truth}
		for k := range taskChoices - 1 { // a partial Fisher–Yates draw
			j := k + rng.Intn(len(pool)-k)
			pool[k], pool[j] = pool[j], pool[k]
			choices = append(choices, pool[k])
		}
		a := rng.Intn(taskChoices)
		choices[0], choices[a] = choices[a], choices[0]
		it := Item{Context: slices.Clone(ctx), Choices: choices, Answer: a}
		for _, ch := range choices {
			it.ChoiceBytes = append(it.ChoiceBytes, numBytes(tok, ch))
		}
		items = append(items, it)
	}
	return items, len(cands)
}

// numBytes returns the length of the text of ids.
func numBytes(tok tokenizer.Tokenizer, ids []int) int {
	n := 0
	for _, id := range ids {
		n += len(tok.TokenBytes(id))
	}
	return n
}

// lastWordOf finds the last word of line (no newline): a field after a
// space that starts with a letter, made of letters, inner apostrophes and
// hyphens, followed by nothing but trailing punctuation (not a colon, not
// letters or digits) and white space. It returns the word's byte range.
func lastWordOf(line []byte) (ws, we int, ok bool) {
	end := len(bytes.TrimRight(line, " \t\r"))
	sp := bytes.LastIndexAny(line[:end], " \t")
	if sp < 0 || line[sp] != ' ' {
		return 0, 0, false
	}
	field := line[sp+1 : end]
	if !letterAt(field, 0) {
		return 0, 0, false
	}
	e := 0 // end of the last letter
	for i, r := range string(field) {
		if unicode.IsLetter(r) {
			e = i + utf8.RuneLen(r)
		}
	}
	for _, r := range string(field[:e]) {
		if !unicode.IsLetter(r) && r != '\'' && r != '-' {
			return 0, 0, false
		}
	}
	for _, r := range string(field[e:]) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ':' {
			return 0, 0, false
		}
	}
	return sp + 1, sp + 1 + e, true
}

// frequentWordsByTokens ranks the words of text (as WordsInCorpus reads
// them) by frequency, most frequent first (ties alphabetically), keeping
// the most frequent spelling of words equal but for case, and groups them
// by the token count of " "+word.
func frequentWordsByTokens(text []byte, tok tokenizer.Tokenizer) map[int][]string {
	counts := map[string]int{}
	for _, f := range bytes.Fields(text) {
		if w := trimWord(string(f)); w != "" {
			counts[w]++
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if counts[words[i]] != counts[words[j]] {
			return counts[words[i]] > counts[words[j]]
		}
		return words[i] < words[j]
	})
	seen := map[string]bool{}
	byLen := map[int][]string{}
	for _, w := range words {
		lw := strings.ToLower(w)
		if seen[lw] {
			continue
		}
		seen[lw] = true
		n := len(tok.Encode(" " + w))
		byLen[n] = append(byLen[n], w)
	}
	return byLen
}

// Evaluate scores m on every item of t, on the no-grad path. A choice's
// score is the total log-probability of its tokens after the context.
// Accuracy, the headline, credits an item when the true choice has the
// highest score (lm-evaluation-harness's acc); AccuracyNorm divides each
// score by the choice's length in bytes first (the harness's acc_norm),
// which only matters when choices of equal token count differ in bytes.
// Exact ties share the credit (1/k for k tied best choices including the
// answer), so a model that cannot tell the choices apart scores the chance
// level exactly. Contexts are truncated from the left so that context and
// the longest choice fit in m.MaxPositions() (every choice of an item sees
// the same context). Token ids must be in the model's vocabulary.
func (t Task) Evaluate(m LM, o TaskOptions) (TaskResult, error) {
	scores, err := scoreChoices(m, t.Items, o)
	if err != nil {
		return TaskResult{}, fmt.Errorf("task %s: %w", t.Name, err)
	}
	r := TaskResult{Task: t.Name, Items: len(t.Items), Chance: t.Chance}
	for i, it := range t.Items {
		norm := make([]float64, len(scores[i]))
		for c, s := range scores[i] {
			d := len(it.Choices[c])
			if it.ChoiceBytes != nil {
				d = it.ChoiceBytes[c]
			}
			norm[c] = s / float64(max(1, d))
		}
		r.Accuracy += credit(scores[i], it.Answer)
		r.AccuracyNorm += credit(norm, it.Answer)
	}
	if n := float64(len(t.Items)); n > 0 {
		r.Accuracy /= n
		r.AccuracyNorm /= n
		r.StdErr = math.Sqrt(r.Accuracy * (1 - r.Accuracy) / n)
	}
	return r, nil
}

// credit is 1/k when the answer is among the k highest scores, else 0.
func credit(scores []float64, answer int) float64 {
	best, k := math.Inf(-1), 0
	for _, s := range scores {
		switch {
		case s > best:
			best, k = s, 1
		case s == best:
			k++
		}
	}
	if k == 0 || scores[answer] != best {
		return 0
	}
	return 1 / float64(k)
}

// scoreChoices returns, for every item and choice, the total
// log-probability (nats) of the choice's tokens after the item's context.
// Sequences (context + choice) go through m in batches of o.Batch, right-
// padded to the longest in the batch: causal attention keeps padding from
// affecting the positions scored.
func scoreChoices(m LM, items []Item, o TaskOptions) ([][]float64, error) {
	if o.Batch <= 0 {
		o.Batch = 8
	}
	maxT := m.MaxPositions()
	type seq struct {
		item, choice int
		ids          []int // context, then the choice but its last token
		from         int   // position whose logits predict the choice's first token
		target       []int // the choice
	}
	var seqs []seq
	scores := make([][]float64, len(items))
	for i, it := range items {
		switch {
		case len(it.Choices) < 2:
			return nil, fmt.Errorf("item %d has %d choices, want at least 2", i, len(it.Choices))
		case it.Answer < 0 || it.Answer >= len(it.Choices):
			return nil, fmt.Errorf("item %d: answer %d is not a choice index (0…%d)", i, it.Answer, len(it.Choices)-1)
		case len(it.Context) == 0:
			return nil, fmt.Errorf("item %d has no context", i)
		case it.ChoiceBytes != nil && len(it.ChoiceBytes) != len(it.Choices):
			return nil, fmt.Errorf("item %d has %d choice lengths for %d choices", i, len(it.ChoiceBytes), len(it.Choices))
		}
		longest := 0
		for c, ch := range it.Choices {
			if len(ch) == 0 {
				return nil, fmt.Errorf("item %d: choice %d is empty", i, c)
			}
			longest = max(longest, len(ch))
		}
		if longest > maxT {
			return nil, fmt.Errorf("item %d: a choice of %d tokens does not fit the model's context of %d", i, longest, maxT)
		}
		ctx := it.Context[len(it.Context)-min(len(it.Context), maxT-longest+1):]
		scores[i] = make([]float64, len(it.Choices))
		for c, ch := range it.Choices {
			ids := make([]int, 0, len(ctx)+len(ch)-1)
			ids = append(append(ids, ctx...), ch[:len(ch)-1]...)
			seqs = append(seqs, seq{item: i, choice: c, ids: ids, from: len(ctx) - 1, target: ch})
		}
	}
	for lo := 0; lo < len(seqs); lo += o.Batch {
		batch := seqs[lo:min(lo+o.Batch, len(seqs))]
		B, T := len(batch), 0
		for _, s := range batch {
			T = max(T, len(s.ids))
		}
		ids := make([]int, B*T) // padded with token 0
		for b, s := range batch {
			copy(ids[b*T:], s.ids)
		}
		var logits *tensor.Tensor
		autograd.NoGrad(func() {
			logits = m.Forward(nil, ids, B, T).Value.To(tensor.Float32).Contiguous()
		})
		V := logits.Dim(-1)
		lg := logits.F32()
		for b, s := range batch {
			var total float64
			for j, y := range s.target {
				if y < 0 || y >= V {
					return nil, fmt.Errorf("item %d: token id %d is outside the model's vocabulary of %d", s.item, y, V)
				}
				p := s.from + j
				total += logProb(lg[(b*T+p)*V:(b*T+p+1)*V], y)
			}
			scores[s.item][s.choice] = total
		}
		if o.Progress != nil {
			o.Progress.Update(lo + B)
		}
	}
	return scores, nil
}

// logProb returns log softmax(row)[y] in float64.
func logProb(row []float32, y int) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v) - mx)
	}
	return float64(row[y]) - mx - math.Log(sum)
}
