// Package facts generates a synthetic corpus with a long tail of facts, for
// the hierarchical-memory reproduction (Pouransari et al., "Pretraining with
// hierarchical memories: separating long-tail and common knowledge", arXiv
// 2510.02375): invented entities, each with a few attributes (the city it
// lives in, its trade, its colour), written as short documents of
// sentences, with entity frequencies drawn from a Zipf law, mixed with
// chunks of an ordinary text (the common knowledge: tinyshakespeare in the
// reproduction). Questions are cloze prompts ("Varo lives in") whose
// answer is the attribute's value; each carries how many training
// documents state its fact, so recall can be bucketed by frequency.
//
// Everything is a function of Config (its Seed included): the same config
// gives the same corpus, byte for byte.
package facts

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Config describes a corpus.
type Config struct {
	Entities    int     // invented entities (≥ 1)
	MaxMentions int     // documents about the most frequent entity (≥ 1)
	Zipf        float64 // exponent s: entity r (0-based) gets max(1, round(MaxMentions/(r+1)^s)) documents (> 0)
	Common      []byte  // the common-knowledge text cut into chunks (may be empty)
	ChunkBytes  int     // bytes per common-knowledge chunk (≥ 16 when Common is set)
	CommonTrain int     // chunks of Common for training
	CommonHeld  int     // chunks held out (taken after the training chunks) for the common-knowledge loss
	Seed        uint64
}

// Validate reports the first field out of range, by name.
func (c Config) Validate() error {
	switch {
	case c.Entities < 1:
		return fmt.Errorf("facts: Entities must be at least 1, have %d", c.Entities)
	case c.MaxMentions < 1:
		return fmt.Errorf("facts: MaxMentions must be at least 1, have %d", c.MaxMentions)
	case !(c.Zipf > 0) || math.IsInf(c.Zipf, 0):
		return fmt.Errorf("facts: Zipf must be a positive finite exponent, have %g", c.Zipf)
	case c.CommonTrain < 0 || c.CommonHeld < 0:
		return fmt.Errorf("facts: CommonTrain and CommonHeld must be ≥ 0, have %d and %d", c.CommonTrain, c.CommonHeld)
	case c.CommonTrain+c.CommonHeld > 0 && c.ChunkBytes < 16:
		return fmt.Errorf("facts: ChunkBytes must be at least 16, have %d", c.ChunkBytes)
	case (c.CommonTrain+c.CommonHeld)*c.ChunkBytes > len(c.Common):
		return fmt.Errorf("facts: %d chunks of %d bytes need %d bytes of Common text, have %d", c.CommonTrain+c.CommonHeld, c.ChunkBytes, (c.CommonTrain+c.CommonHeld)*c.ChunkBytes, len(c.Common))
	}
	return nil
}

// Attribute is a kind of fact: its cloze prompt (with %s for the entity)
// and the values it draws from.
type Attribute struct {
	Name   string
	Prompt string // "%s lives in"
	Values []string
}

// Attributes are the facts every entity has.
var Attributes = []Attribute{
	{"city", "%s lives in", []string{"Pelmar", "Ostavin", "Quorra", "Dunmere", "Kessith", "Brolan", "Vantir", "Ysolde", "Merrow", "Tashkel", "Ilvane", "Corsk", "Hathra", "Nimbrel", "Sorvay", "Eskadar", "Fennick", "Groth", "Ulmarin", "Zadrel"}},
	{"trade", "%s works as a", []string{"miller", "tanner", "cooper", "mason", "weaver", "potter", "fletcher", "chandler", "glazier", "thatcher", "carter", "brewer", "saddler", "smith", "dyer", "baker", "roper", "joiner", "tiler", "turner"}},
	{"colour", "%s likes the colour", []string{"amber", "teal", "crimson", "ochre", "indigo", "olive", "scarlet", "ivory", "cobalt", "russet", "violet", "jade", "coral", "slate", "maroon", "saffron", "azure", "umber", "lilac", "bronze"}},
}

// Fillers are sentences that vary a document without stating a fact.
var fillers = []string{"%s is well known.", "People speak of %s.", "Few have met %s.", "%s keeps to old ways.", "Many ask after %s."}

// Entity is one invented entity and its facts.
type Entity struct {
	Name     string
	Values   []string // one per Attributes entry
	Mentions int      // training documents about it
}

// Doc is one training or held-out document.
type Doc struct {
	Text   string
	Entity int // the entity it is about, or −1 for a common-knowledge chunk
}

// Question is one cloze question: Prompt followed by " "+Answer+"." is
// the fact's sentence.
type Question struct {
	Prompt, Answer string
	Entity         int
	Attribute      int
	Mentions       int // training documents stating the fact
}

// Corpus is a generated corpus.
type Corpus struct {
	Entities  []Entity
	Train     []Doc // fact documents and common chunks, shuffled
	Held      []Doc // held-out common chunks
	Questions []Question
}

// Mentions returns how many documents entity rank r gets under c.
func (c Config) Mentions(r int) int {
	return max(1, int(math.Round(float64(c.MaxMentions)/math.Pow(float64(r+1), c.Zipf))))
}

// Generate builds the corpus c describes.
func Generate(c Config) (*Corpus, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x2510_02375))
	out := &Corpus{}
	names := map[string]bool{}
	for r := range c.Entities {
		name := newName(rng)
		for names[name] {
			name = newName(rng)
		}
		names[name] = true
		e := Entity{Name: name, Mentions: c.Mentions(r)}
		for _, a := range Attributes {
			e.Values = append(e.Values, a.Values[rng.IntN(len(a.Values))])
		}
		out.Entities = append(out.Entities, e)
		for k := range e.Mentions {
			out.Train = append(out.Train, Doc{Text: document(e, k, rng), Entity: r})
		}
		for ai, a := range Attributes {
			out.Questions = append(out.Questions, Question{Prompt: fmt.Sprintf(a.Prompt, name), Answer: e.Values[ai], Entity: r, Attribute: ai, Mentions: e.Mentions})
		}
	}
	for i := range c.CommonTrain + c.CommonHeld {
		d := Doc{Text: string(c.Common[i*c.ChunkBytes : (i+1)*c.ChunkBytes]), Entity: -1}
		if i < c.CommonTrain {
			out.Train = append(out.Train, d)
		} else {
			out.Held = append(out.Held, d)
		}
	}
	rng.Shuffle(len(out.Train), func(i, j int) { out.Train[i], out.Train[j] = out.Train[j], out.Train[i] })
	return out, nil
}

// Sentence is the fact's sentence as every document states it.
func (q Question) Sentence() string { return q.Prompt + " " + q.Answer + "." }

// document writes the k-th document about e: its facts in the canonical
// sentences, in a random order, with a filler sentence at a random place.
func document(e Entity, k int, rng *rand.Rand) string {
	parts := make([]string, 0, len(Attributes)+1)
	for ai, a := range Attributes {
		parts = append(parts, fmt.Sprintf(a.Prompt, e.Name)+" "+e.Values[ai]+".")
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	f := fmt.Sprintf(fillers[(k+rng.IntN(len(fillers)))%len(fillers)], e.Name)
	at := rng.IntN(len(parts) + 1)
	parts = append(parts[:at], append([]string{f}, parts[at:]...)...)
	return strings.Join(parts, " ") + "\n"
}

var (
	onsets = []string{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kl", "tr", "sh", "th"}
	nuclei = []string{"a", "e", "i", "o", "u", "ai", "ou", "ea"}
)

// newName draws a pronounceable capitalised name of two or three
// syllables.
func newName(rng *rand.Rand) string {
	var b strings.Builder
	for range 2 + rng.IntN(2) {
		b.WriteString(onsets[rng.IntN(len(onsets))])
		b.WriteString(nuclei[rng.IntN(len(nuclei))])
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// Bucket is a range of fact frequencies [Lo, Hi] (training documents).
type Bucket struct{ Lo, Hi int }

// String names the bucket ("1", "2–3", "16+").
func (b Bucket) String() string {
	switch {
	case b.Hi == math.MaxInt:
		return fmt.Sprintf("%d+", b.Lo)
	case b.Lo == b.Hi:
		return fmt.Sprint(b.Lo)
	}
	return fmt.Sprintf("%d–%d", b.Lo, b.Hi)
}

// Has reports whether n mentions fall in the bucket.
func (b Bucket) Has(n int) bool { return n >= b.Lo && n <= b.Hi }

// Buckets are the frequency buckets the reproduction reports: 1, 2–3,
// 4–15 and 16+ documents.
var Buckets = []Bucket{{1, 1}, {2, 3}, {4, 15}, {16, math.MaxInt}}
