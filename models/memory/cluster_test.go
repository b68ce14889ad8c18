package memory

import (
	"testing"

	"github.com/loomml/loom/data/facts"
)

// TestQuestionsFindTheirDocuments: on a small facts corpus, a cloze
// question descends the hierarchy to the leaf holding its entity's
// documents (it names the entity; the templates are above MaxDF).
func TestQuestionsFindTheirDocuments(t *testing.T) {
	c, err := facts.Generate(facts.Config{Entities: 40, MaxMentions: 6, Zipf: 1, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(c.Train))
	for i, d := range c.Train {
		texts[i] = d.Text
	}
	e := FitEmbedder(texts, 1024)
	if v := e.Embed("lives in works as a"); dot(v, v) != 0 {
		t.Fatal("template words above MaxDF still count")
	}
	vs := make([][]float32, len(texts))
	for i := range texts {
		vs[i] = e.Embed(texts[i])
	}
	tr, err := BuildTree(vs, 2, 4, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	leaves := map[int]map[int]bool{}
	for i, d := range c.Train {
		if leaves[d.Entity] == nil {
			leaves[d.Entity] = map[int]bool{}
		}
		leaves[d.Entity][tr.Path(vs[i])[1]] = true
	}
	miss := 0
	for _, q := range c.Questions {
		if !leaves[q.Entity][tr.Path(e.Embed(q.Prompt))[1]] {
			miss++
		}
	}
	if miss > len(c.Questions)/20 {
		t.Fatalf("%d of %d questions descend to a leaf without their entity's documents", miss, len(c.Questions))
	}
}
