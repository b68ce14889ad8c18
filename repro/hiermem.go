package repro

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/data/facts"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/memory"
	"github.com/loomml/loom/models/memory/bank"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// "Pretraining with hierarchical memories: separating long-tail and common
// knowledge" (Pouransari, Grangier, Thomas, Kirchhof, Tuzel, arXiv
// 2510.02375; no official code): a small anchor decoder plus FFN memories
// fetched per document from a bank organised by hierarchical clustering,
// against dense decoders, on a synthetic corpus with a long tail of facts
// (data/facts) mixed with tinyshakespeare.

func init() {
	Register(Entry{
		Name:    "hier-memory",
		Paper:   "Pretraining with hierarchical memories: separating long-tail and common knowledge (Pouransari, Grangier, Thomas, Kirchhof, Tuzel, arXiv 2510.02375)",
		Summary: "byte-level 2-layer anchor + hierarchical FFN memories (4 levels × 4 children, memory-mapped bank) vs dense decoders of equal active and ≥ 2× parameters on Zipf-distributed synthetic facts mixed with tinyshakespeare: exact-match recall by fact frequency, common-knowledge loss, recall against bank size; 3 seeds",
		Run:     runHierMemory,
	})
}

// hierMemRule is the verdict rule, fixed before the first full run.
const hierMemRule = "Means over seeds. Rare facts are those stated in 1–3 training documents (the two rarest buckets). Claim 1 holds if the anchor + memories' exact-match recall on rare facts exceeds the dense decoder of equal active parameters' by at least 0.10 and by more than twice the larger of the two arms' seed std. Claim 2 holds if its recall over all questions is at least the ≥ 2×-parameter dense decoder's minus 0.05. Claim 3 holds if its held-out tinyshakespeare loss is within max(0.02, 2 × the larger seed std) nats/byte of the equal-active dense decoder's. **Reproduced** if all three hold; **partial** if claim 1 holds and another does not; **not reproduced** if claim 1 does not hold."

// hmArm is one model of the comparison: a dense decoder of FFN width
// inter, or (levels > 0) the anchor with a bank of levels levels whose
// blocks have width rows per layer.
type hmArm struct {
	name          string
	inter, levels int
	width         int
}

const (
	hmEmbedDim                   = 2048
	hmDim, hmLayers, hmAnchorFFN = 64, 2, 128
	hmBranching, hmDepth         = 4, 4
	hmFetched                    = 48 // memory rows per layer a document fetches, at every bank depth
)

// The arms (the anchor has FFN width hmAnchorFFN). Equal active
// parameters: a document's 48 fetched memory rows per layer hold 2·48·64
// parameters, as many as 32 more SwiGLU units (3·32·64).
var (
	hmDense = hmArm{name: "dense, equal active", inter: hmAnchorFFN + 2*hmFetched/3}
	hmBig   = hmArm{name: "dense, ≥ 2× params", inter: 496}
	hmMem   = hmArm{name: "anchor + memories", inter: hmAnchorFFN, levels: hmDepth, width: hmFetched / hmDepth}
)

// hmSweep are the smaller banks at equal fetched rows: depth d with
// width 48/d rows per block (depth 2; the dense decoder of equal active
// parameters is bank size 0).
func hmSweep() []hmArm {
	const d = 2
	return []hmArm{{name: fmt.Sprintf("memories, %d levels", d), inter: hmAnchorFFN, levels: d, width: hmFetched / d}}
}

// hmSettings are a run's training settings: each step's batch holds
// facts fact documents and common common chunks.
type hmSettings struct {
	steps, facts, common, warmup, maxT int
	lr                                 float64
}

func hmCorpusConfig(quick bool) facts.Config {
	c := facts.Config{Entities: 120, MaxMentions: 32, Zipf: 0.75, Common: data.TinyShakespeare(), ChunkBytes: 120, CommonTrain: 2000, CommonHeld: 100, Seed: 2510}
	if quick {
		c.Entities, c.MaxMentions, c.CommonTrain = 60, 16, 300
	}
	return c
}

// hmResult is one trained arm's measurements.
type hmResult struct {
	bucket    []float64 // recall per facts.Buckets entry
	rare, all float64
	common    float64 // held-out tinyshakespeare loss, nats/byte
	active    int     // parameters a document uses
	total     int     // parameters stored (anchor + bank)
	bank      int     // parameters in the bank
	perStep   float64 // blocks updated per step (memory arms)
	secs      float64
}

// hmSetup is what every run shares: the corpus, the hierarchy and each
// document's and question's path.
type hmSetup struct {
	corpus    *facts.Corpus
	tree      *memory.Tree
	trainPath [][]int
	heldPath  [][]int
	qPath     [][]int
	agree     float64 // questions whose leaf holds one of their entity's documents
}

func newHMSetup(quick bool) (*hmSetup, error) {
	corpus, err := facts.Generate(hmCorpusConfig(quick))
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(corpus.Train))
	for i, d := range corpus.Train {
		texts[i] = d.Text
	}
	emb := memory.FitEmbedder(texts, hmEmbedDim)
	vs := make([][]float32, len(texts))
	for i, t := range texts {
		vs[i] = emb.Embed(t)
	}
	tree, err := memory.BuildTree(vs, hmDepth, hmBranching, 25, 2510)
	if err != nil {
		return nil, err
	}
	s := &hmSetup{corpus: corpus, tree: tree}
	leaves := map[int]map[int]bool{} // entity → leaves holding its documents
	for i, v := range vs {
		p := tree.Path(v)
		s.trainPath = append(s.trainPath, p)
		if e := corpus.Train[i].Entity; e >= 0 {
			if leaves[e] == nil {
				leaves[e] = map[int]bool{}
			}
			leaves[e][p[hmDepth-1]] = true
		}
	}
	for _, d := range corpus.Held {
		s.heldPath = append(s.heldPath, tree.Path(emb.Embed(d.Text)))
	}
	agree := 0
	for _, q := range corpus.Questions {
		p := tree.Path(emb.Embed(q.Prompt))
		s.qPath = append(s.qPath, p)
		if leaves[q.Entity][p[hmDepth-1]] {
			agree++
		}
	}
	s.agree = float64(agree) / float64(len(corpus.Questions))
	return s, nil
}

func hmConfig(inter int) *decoder.Config {
	return &decoder.Config{HiddenSize: hmDim, IntermediateSize: inter, NumHiddenLayers: hmLayers, NumAttentionHeads: 4, NumKeyValueHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 160, InitializerRange: 0.02,
		Loom: decoder.Options{Tokenizer: "byte"}}
}

// truncate returns paths cut to their first d levels (nil for d = 0).
func truncate(paths [][]int, d int) [][]int {
	if d == 0 {
		return nil
	}
	out := make([][]int, len(paths))
	for i, p := range paths {
		out[i] = p[:d]
	}
	return out
}

// runHMArm trains one arm with one seed and measures it.
func runHMArm(c *Context, s *hmSetup, a hmArm, seed uint64, set hmSettings) (*hmResult, error) {
	start := time.Now()
	anchor, err := decoder.New(hmConfig(a.inter), seed)
	if err != nil {
		return nil, err
	}
	m, err := memory.New(anchor, max(1, a.width))
	if err != nil {
		return nil, err
	}
	res := &hmResult{active: anchor.NumParams(), total: anchor.NumParams()}
	var bk *bank.Bank
	if a.levels > 0 {
		dir := filepath.Join(c.WorkDir, fmt.Sprintf("hier-memory-bank-%d-%d", seed, a.levels))
		os.RemoveAll(dir)
		defer os.RemoveAll(dir)
		bk, err = bank.Create(dir, s.tree.Offset(a.levels), m.Shape.BlockFloats(), 64, memory.InitBlock(m.Shape, 0, seed))
		if err != nil {
			return nil, err
		}
		defer bk.Close()
		res.active += a.levels * m.Shape.BlockFloats()
		res.bank = bk.Blocks() * m.Shape.BlockFloats()
		res.total += res.bank
	}
	o := bank.AdamW{LR: set.lr, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	tr := memory.NewTrainer(m, bk, o, 1)
	sched := optim.WarmupCosine{Warmup: set.warmup, Total: set.steps, MinFactor: 0.1}
	paths := truncate(s.trainPath, a.levels)
	rng := tensor.NewRNG(seed)
	var pools [2][]int // fact documents, common chunks
	for i, d := range s.corpus.Train {
		k := 0
		if d.Entity < 0 {
			k = 1
		}
		pools[k] = append(pools[k], i)
	}
	var order [2][]int
	var at [2]int
	updated := 0
	for step := range set.steps {
		var texts []string
		var ps [][]int
		for k, n := range []int{set.facts, set.common} {
			for range n {
				if at[k] == len(order[k]) {
					order[k], at[k] = rng.Perm(len(pools[k])), 0
				}
				i := pools[k][order[k][at[k]]]
				at[k]++
				texts = append(texts, s.corpus.Train[i].Text)
				if paths != nil {
					ps = append(ps, paths[i])
				}
			}
		}
		loss, ids, err := tr.Step(memory.MakeBatch(texts, set.maxT), ps, sched.Factor(step))
		if err != nil {
			return nil, fmt.Errorf("%s seed %d step %d: %w", a.name, seed, step, err)
		}
		updated += len(ids)
		if step%200 == 0 || step == set.steps-1 {
			fmt.Fprintf(c.Progress, "hier-memory: %s seed %d step %d loss %.3f\n", a.name, seed, step, loss)
		}
	}
	res.perStep = float64(updated) / float64(set.steps)
	autograd.NoGrad(func() { err = hmEvaluate(m, bk, s, a.levels, set.maxT, res) })
	res.secs = time.Since(start).Seconds()
	return res, err
}

// hmEvaluate measures exact-match recall (greedy decoding of " answer."
// after the prompt, checked by teacher forcing: greedy decoding produces
// the answer exactly when every answer byte is the argmax after the
// correct prefix) and the held-out common loss.
func hmEvaluate(m *memory.Model, bk *bank.Bank, s *hmSetup, levels, maxT int, res *hmResult) error {
	fetch := func(paths [][]int, from, to int) ([][]*memory.Block, error) {
		if levels == 0 {
			return nil, nil
		}
		rows := make([][]*memory.Block, 0, to-from)
		for _, p := range paths[from:to] {
			var r []*memory.Block
			for _, id := range p[:levels] {
				blk, err := m.Fetch(bk, id, false)
				if err != nil {
					return nil, err
				}
				r = append(r, blk)
			}
			rows = append(rows, r)
		}
		return rows, nil
	}
	qs := s.corpus.Questions
	prompts, conts := make([]string, len(qs)), make([]string, len(qs))
	for i, q := range qs {
		prompts[i], conts[i] = q.Prompt, " "+q.Answer+"."
	}
	var rows [][]*memory.Block
	if levels > 0 {
		var err error
		if rows, err = fetch(s.qPath, 0, len(qs)); err != nil {
			return err
		}
	}
	hit := hmGreedyMatch(m, rows, prompts, conts, maxT)
	res.bucket = make([]float64, len(facts.Buckets))
	for bi, bu := range facts.Buckets {
		n, k := 0, 0
		for i, q := range qs {
			if bu.Has(q.Mentions) {
				n++
				if hit[i] {
					k++
				}
			}
		}
		res.bucket[bi] = float64(k) / float64(max(1, n))
	}
	var rn, rk, ak int
	for i, q := range qs {
		if hit[i] {
			ak++
		}
		if q.Mentions <= 3 {
			rn++
			if hit[i] {
				rk++
			}
		}
	}
	res.rare, res.all = float64(rk)/float64(max(1, rn)), float64(ak)/float64(len(qs))
	var sum float64
	var count int
	held := s.corpus.Held
	const eb = 32
	for from := 0; from < len(held); from += eb {
		to := min(len(held), from+eb)
		texts := make([]string, 0, to-from)
		for _, d := range held[from:to] {
			texts = append(texts, d.Text)
		}
		b := memory.MakeBatch(texts, maxT)
		rows, err := fetch(s.heldPath, from, to)
		if err != nil {
			return err
		}
		lg := m.Logits(b, rows)
		n := 0
		for _, t := range b.Targets {
			if t != autograd.IgnoreIndex {
				n++
			}
		}
		sum += autograd.CrossEntropy(autograd.Reshape(lg, b.B*b.T, m.Anchor.Config.VocabSize), b.Targets, autograd.IgnoreIndex, 0).Item() * float64(n)
		count += n
	}
	res.common = sum / float64(count)
	return nil
}

// hmGreedyMatch reports for each prompt whether greedy decoding continues
// it with exactly cont, with rows[i] (nil: none) mounted for prompt i. It
// checks by teacher forcing, 32 rows a pass: greedy decoding gives cont
// exactly when every byte of cont is the argmax after the prompt and the
// bytes of cont before it.
func hmGreedyMatch(m *memory.Model, rows [][]*memory.Block, prompts, conts []string, maxT int) []bool {
	hit := make([]bool, len(prompts))
	const eb = 32
	V := m.Anchor.Config.VocabSize
	for from := 0; from < len(prompts); from += eb {
		to := min(len(prompts), from+eb)
		texts := make([]string, 0, to-from)
		for i := from; i < to; i++ {
			texts = append(texts, prompts[i]+conts[i])
		}
		b := memory.MakeBatch(texts, maxT)
		var mounted [][]*memory.Block
		if rows != nil {
			mounted = rows[from:to]
		}
		lg := m.Logits(b, mounted).Value.F32()
		for r := range texts {
			ok := true
			for t := len(prompts[from+r]) - 1; t < len(texts[r])-1; t++ {
				if argmax(lg[(r*b.T+t)*V:(r*b.T+t+1)*V]) != b.Targets[r*b.T+t] {
					ok = false
					break
				}
			}
			hit[from+r] = ok
		}
	}
	return hit
}

func bucketNames() string {
	var out []string
	for _, b := range facts.Buckets {
		out = append(out, b.String())
	}
	return strings.Join(out, ", ")
}

func argmax(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func runHierMemory(c *Context) (*Report, error) {
	seeds := seedsFrom(2510, c.SeedsOrQuick(3, 1))
	set := hmSettings{steps: 500, facts: 5, common: 2, warmup: 30, maxT: 128, lr: 3e-3}
	if c.Quick {
		set.steps, set.warmup = 150, 10
	}
	s, err := newHMSetup(c.Quick)
	if err != nil {
		return nil, err
	}
	arms := append([]hmArm{hmDense, hmBig, hmMem}, hmSweep()...)
	results := map[string][]*hmResult{}
	for _, seed := range seeds {
		for _, a := range arms {
			fmt.Fprintf(c.Progress, "hier-memory: seed %d, %s\n", seed, a.name)
			r, err := runHMArm(c, s, a, seed, set)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(c.Progress, "hier-memory: seed %d, %s: recall by bucket %s, rare %.3f, all %.3f, held-out common loss %.4f (%.0f s)\n", seed, a.name, fmt2(r.bucket), r.rare, r.all, r.common, r.secs)
			results[a.name] = append(results[a.name], r)
		}
	}
	stat := func(name string, f func(*hmResult) float64) (float64, float64) {
		var xs []float64
		for _, r := range results[name] {
			xs = append(xs, f(r))
		}
		return meanStd(xs)
	}
	rare := func(r *hmResult) float64 { return r.rare }
	all := func(r *hmResult) float64 { return r.all }
	common := func(r *hmResult) float64 { return r.common }

	var sb strings.Builder
	var depths []int
	for _, a := range append(hmSweep(), hmMem) {
		depths = append(depths, a.levels)
	}
	cfg := hmCorpusConfig(c.Quick)
	nDocs, nFacts := len(s.corpus.Train), 0
	for _, d := range s.corpus.Train {
		if d.Entity >= 0 {
			nFacts++
		}
	}
	fmt.Fprintf(&sb, "**Data** (`data/facts`, seed %d): %d invented entities, each with %d attributes (city, trade, colour; 20 values each, drawn uniformly), entity r stated in max(1, round(%d/(r+1)^%g)) documents (Zipf); a document states all of its entity's facts in fixed sentences (\"Varo lives in Pelmar.\") in random order with a filler sentence. Mixed with %d chunks of %d bytes of tinyshakespeare (common knowledge); %d further chunks are held out. %d training documents (%d about entities). Questions: each fact's cloze prompt (\"Varo lives in\"), %d in all; a question is answered when greedy decoding gives exactly \" Pelmar.\" (the facts are those of the training documents: this measures how much of the long tail the model stores, as the paper's knowledge probes do).\n\n",
		cfg.Seed, cfg.Entities, len(facts.Attributes), cfg.MaxMentions, cfg.Zipf, cfg.CommonTrain, cfg.ChunkBytes, cfg.CommonHeld, nDocs, nFacts, len(s.corpus.Questions))
	fmt.Fprintf(&sb, "**Hierarchy.** Documents are embedded by hashed TF-IDF word vectors (%d buckets, unit length; words in more than %.0f %% of documents, the templates and stop words, get weight zero) and clustered by k-means (cosine, k-means++, best of %d seedings) into %d clusters, each again into %d, %d levels deep: %d nodes, one memory block each. A document fetches the %d blocks on its root-to-leaf path; a question or a held-out chunk fetches the path its own text descends to (nearest centroid at each level). %.1f %% of questions descend to a leaf that holds at least one of their entity's documents.\n\n",
		hmEmbedDim, 100*memory.MaxDF, memory.Restarts, hmBranching, hmBranching, hmDepth, s.tree.Nodes(), hmDepth, 100*s.agree)
	fmt.Fprintf(&sb, "**Models.** Byte-level Llama-style decoders (`models/decoder`: %d layers, width %d, 4 heads, RMSNorm, RoPE, SwiGLU FFN), trained %d steps of %d fact documents and %d common chunks each (≤ %d bytes each, right-padded; fact documents and common chunks each drawn in epochs of their own, seeded), AdamW lr %g (β 0.9, 0.95; %d warmup steps, cosine to 0.1×), weight decay 0.1 on matrices, global clip 1. The anchor has FFN width %d. Anchor + memories (`models/memory`): every layer's FFN output gains Σ_b V_bᵀ GELU(K_b x) over the fetched blocks, %d rows each per layer at depth %d, so a document uses %d memory rows per layer, as many parameters as %d more SwiGLU units; the dense decoder of equal active parameters has FFN width %d. The ≥ 2× dense decoder has FFN width %d. The bank (`models/memory/bank`) is sharded on disk (64 blocks a shard) and memory-mapped; a step fetches its documents' blocks, and only those get gradients and AdamW updates (each block with its own moments and step count; V starts at zero, so an untrained block adds nothing). Bank sizes (the sweep): depths %v of the same hierarchy with %d/d rows per block, so every depth fetches the same %d rows; the dense decoder of equal active parameters is bank size 0.\n\n",
		hmLayers, hmDim, set.steps, set.facts, set.common, set.maxT, set.lr, set.warmup, hmAnchorFFN, hmMem.width, hmDepth, hmFetched, 2*hmFetched/3, hmDense.inter, hmBig.inter, depths, hmFetched, hmFetched)
	sb.WriteString("Verdict rule (fixed before running): " + hierMemRule + "\n\n")

	sb.WriteString("| model | active params | stored params | ")
	for _, b := range facts.Buckets {
		fmt.Fprintf(&sb, "recall, %s docs | ", b)
	}
	sb.WriteString("rare (1–3) | all | held-out common loss | blocks updated / step | time (s) |\n|" + strings.Repeat(" --- |", 8+len(facts.Buckets)) + "\n")
	for _, a := range arms {
		rs := results[a.name]
		fmt.Fprintf(&sb, "| %s | %d | %d | ", a.name, rs[0].active, rs[0].total)
		for bi := range facts.Buckets {
			mu, sd := stat(a.name, func(r *hmResult) float64 { return r.bucket[bi] })
			fmt.Fprintf(&sb, "%.3f ± %.3f | ", mu, sd)
		}
		rm, rsd := stat(a.name, rare)
		am, asd := stat(a.name, all)
		cm, csd := stat(a.name, common)
		ps, _ := stat(a.name, func(r *hmResult) float64 { return r.perStep })
		ts, _ := stat(a.name, func(r *hmResult) float64 { return r.secs })
		fmt.Fprintf(&sb, "%.3f ± %.3f | %.3f ± %.3f | %.4f ± %.4f | %.1f | %.0f |\n", rm, rsd, am, asd, cm, csd, ps, ts)
	}
	qPer := make([]int, len(facts.Buckets))
	for _, q := range s.corpus.Questions {
		for bi, b := range facts.Buckets {
			if b.Has(q.Mentions) {
				qPer[bi]++
			}
		}
	}
	fmt.Fprintf(&sb, "\nQuestions per bucket (%s documents): %v. Mean ± std over %d seed(s). Chance (a valid value of the right attribute) is 0.05.\n\n", bucketNames(), qPer, len(seeds))
	mr0 := results[hmMem.name][0]
	rec := int64(8 + 12*(mr0.bank/s.tree.Nodes())) // bytes per block on disk
	fmt.Fprintf(&sb, "**The bank on disk.** The depth-%d bank holds %d blocks, %d parameters (%.1f MB with the AdamW moments and step counts, in %d shard files, memory-mapped); a step updated %.1f blocks on average, so the bank is %.0f× what a step fetches (the test `TestStepTouchesOnlyFetched` in `models/memory` checks the untouched blocks, moments included, bit for bit on a bank over 50× a step's fetch; `loom memory verify --bank DIR` checks a bank's shards against its manifest).\n\n",
		hmDepth, s.tree.Nodes(), mr0.bank, float64(rec)*float64(s.tree.Nodes())/1e6, (s.tree.Nodes()+63)/64, mr0.perStep, float64(s.tree.Nodes())/mr0.perStep)

	// Charts.
	var series []chart.Series
	for _, a := range []hmArm{hmDense, hmBig, hmMem} {
		ys := make([]float64, len(facts.Buckets))
		for bi := range facts.Buckets {
			ys[bi], _ = stat(a.name, func(r *hmResult) float64 { return r.bucket[bi] })
		}
		series = append(series, chart.Series{Name: a.name, Y: ys, Style: chart.LinePoints})
	}
	if err := (&chart.Chart{Title: "exact-match recall by fact frequency (x: bucket 0 = 1 doc, 1 = 2–3, 2 = 4–15, 3 = 16+)", XLabel: "frequency bucket", YLabel: "recall", Series: series}).WritePNG(filepath.Join(c.DocsDir, "hier-memory-buckets.png")); err != nil {
		return nil, err
	}
	sweep := append(hmSweep(), hmMem)
	var bx, by, ba []float64
	for _, a := range sweep {
		bx = append(bx, float64(results[a.name][0].bank))
		mu, _ := stat(a.name, rare)
		al, _ := stat(a.name, all)
		by, ba = append(by, mu), append(ba, al)
	}
	dm, _ := stat(hmDense.name, rare)
	if err := (&chart.Chart{Title: "recall against bank size (equal fetched rows)", XLabel: "bank parameters", YLabel: "recall", LogX: true,
		Series: []chart.Series{{Name: "rare facts (1–3 docs)", X: bx, Y: by, Style: chart.LinePoints}, {Name: "all facts", X: bx, Y: ba, Style: chart.LinePoints}},
		HLines: []chart.Ref{{Y: dm, Label: "dense, equal active: rare"}}}).WritePNG(filepath.Join(c.DocsDir, "hier-memory-bank.png")); err != nil {
		return nil, err
	}
	sb.WriteString("![recall by frequency](hier-memory-buckets.png)\n\n![recall against bank size](hier-memory-bank.png)\n\n")
	sb.WriteString("| bank depth | blocks | bank parameters | rare recall | all recall | held-out common loss |\n| --- | --- | --- | --- | --- | --- |\n")
	for i, a := range sweep {
		rm, rsd := stat(a.name, rare)
		am, asd := stat(a.name, all)
		cm, csd := stat(a.name, common)
		fmt.Fprintf(&sb, "| %d | %d | %.0f | %.3f ± %.3f | %.3f ± %.3f | %.4f ± %.4f |\n", a.levels, s.tree.Offset(a.levels), bx[i], rm, rsd, am, asd, cm, csd)
	}

	// The verdict.
	mr, msd := stat(hmMem.name, rare)
	dr, dsd := stat(hmDense.name, rare)
	ma, _ := stat(hmMem.name, all)
	ba2, _ := stat(hmBig.name, all)
	mc, mcsd := stat(hmMem.name, common)
	dc, dcsd := stat(hmDense.name, common)
	c1 := mr-dr >= 0.10 && mr-dr > 2*math.Max(msd, dsd)
	c2 := ma >= ba2-0.05
	tol := math.Max(0.02, 2*math.Max(mcsd, dcsd))
	c3 := math.Abs(mc-dc) <= tol
	verdict := "not reproduced"
	switch {
	case c1 && c2 && c3:
		verdict = "reproduced"
	case c1:
		verdict = "partial"
	}
	holds := map[bool]string{true: "holds", false: "does not hold"}
	detail := fmt.Sprintf("claim 1 %s (rare-fact recall %.3f with memories vs %.3f dense at equal active parameters); claim 2 %s (all-fact recall %.3f vs %.3f for the ≥ 2× dense decoder); claim 3 %s (held-out common loss %.4f vs %.4f, tolerance %.3f)",
		holds[c1], mr, dr, holds[c2], ma, ba2, holds[c3], mc, dc, tol)
	fmt.Fprintf(&sb, "\n**Claims.** %s.\n", detail)
	return &Report{
		Title:   "Hierarchical memories: long-tail facts in fetched FFN memories (arXiv 2510.02375)",
		Claim:   "A small anchor model with FFN memories fetched from a hierarchically clustered bank recalls rare facts far better than a model of equal active parameters, approaches a model with ≥ 2× the parameters, and keeps common-knowledge loss unchanged.",
		Seeds:   seeds,
		Body:    sb.String(),
		Verdict: verdict + ": " + detail,
		Changes: "More training (rare facts are seen once per epoch; longer runs favour whichever arm stores them), larger banks and models (the paper: 160M anchor, 18M fetched from 4.6B, trillions of tokens), learned document embeddings instead of TF-IDF (retrieval agreement above), questions in a form the training documents never use (here the cloze prompts are the documents' own sentences).",
	}, nil
}
