package facts

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	common := []byte(strings.Repeat("To be, or not to be, that is the question. ", 40))
	tests := []struct {
		name string
		cfg  Config
	}{
		{"facts only", Config{Entities: 50, MaxMentions: 16, Zipf: 1, Seed: 1}},
		{"mixed", Config{Entities: 30, MaxMentions: 8, Zipf: 1.2, Common: common, ChunkBytes: 64, CommonTrain: 10, CommonHeld: 4, Seed: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Generate(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Generate(tc.cfg)
			for i := range c.Train {
				if c.Train[i] != again.Train[i] {
					t.Fatalf("not deterministic at document %d", i)
				}
			}
			perEntity := map[int]int{}
			common := 0
			for _, d := range c.Train {
				if d.Entity < 0 {
					common++
					continue
				}
				perEntity[d.Entity]++
				e := c.Entities[d.Entity]
				for ai, a := range Attributes {
					if s := a.Prompt; !strings.Contains(d.Text, strings.Replace(s, "%s", e.Name, 1)+" "+e.Values[ai]+".") {
						t.Fatalf("document %q does not state %s of %s", d.Text, a.Name, e.Name)
					}
				}
			}
			if common != tc.cfg.CommonTrain || len(c.Held) != tc.cfg.CommonHeld {
				t.Fatalf("common chunks %d train, %d held; want %d, %d", common, len(c.Held), tc.cfg.CommonTrain, tc.cfg.CommonHeld)
			}
			for r, e := range c.Entities {
				if perEntity[r] != e.Mentions || e.Mentions != tc.cfg.Mentions(r) {
					t.Fatalf("entity %d: %d documents, Mentions %d, want %d", r, perEntity[r], e.Mentions, tc.cfg.Mentions(r))
				}
			}
			if c.Entities[0].Mentions != tc.cfg.MaxMentions || c.Entities[len(c.Entities)-1].Mentions != 1 {
				t.Fatalf("mentions run %d … %d, want %d … 1", c.Entities[0].Mentions, c.Entities[len(c.Entities)-1].Mentions, tc.cfg.MaxMentions)
			}
			if len(c.Questions) != len(c.Entities)*len(Attributes) {
				t.Fatalf("%d questions", len(c.Questions))
			}
			for _, q := range c.Questions {
				if q.Mentions != c.Entities[q.Entity].Mentions || !strings.HasSuffix(q.Sentence(), q.Answer+".") {
					t.Fatalf("bad question %+v", q)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Entities: 0, MaxMentions: 1, Zipf: 1}, "Entities"},
		{Config{Entities: 1, MaxMentions: 0, Zipf: 1}, "MaxMentions"},
		{Config{Entities: 1, MaxMentions: 1, Zipf: 0}, "Zipf"},
		{Config{Entities: 1, MaxMentions: 1, Zipf: 1, CommonTrain: 2, ChunkBytes: 8}, "ChunkBytes"},
		{Config{Entities: 1, MaxMentions: 1, Zipf: 1, CommonTrain: 2, ChunkBytes: 32, Common: []byte("short")}, "Common"},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %s", tc.cfg, err, tc.want)
		}
	}
}

func TestBuckets(t *testing.T) {
	for n := 1; n < 100; n++ {
		k := 0
		for _, b := range Buckets {
			if b.Has(n) {
				k++
			}
		}
		if k != 1 {
			t.Fatalf("%d mentions fall in %d buckets", n, k)
		}
	}
	if Buckets[3].String() != "16+" || Buckets[1].String() != "2–3" {
		t.Fatal(Buckets[3].String(), Buckets[1].String())
	}
}
