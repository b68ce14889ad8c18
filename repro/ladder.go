package repro

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/chart"
)

// The compression ladder of "A Survey of Techniques for Optimizing
// Transformer Inference" (arXiv 2307.07982): unstructured magnitude
// pruning, 2:4 semi-structured pruning, post-training int8, 4-bit k-quants
// and knowledge distillation, alone and combined, on the quickstart-size
// decoder and on the fine-tuned byte-BERT spam classifier; each form's
// size, latency and quality, and the Pareto frontier of quality against
// latency. The survey argues the methods are complementary: combinations
// should dominate single methods.
func init() {
	Register(Entry{
		Name:    "compression-ladder",
		Paper:   "A Survey of Techniques for Optimizing Transformer Inference (arXiv 2307.07982)",
		Summary: "magnitude 50 %, 2:4, int8, q4_K(_M), a distilled 2-layer student and their combinations on the quickstart decoder and the spam classifier: size, latency, quality and the Pareto frontier; do combinations dominate single methods?",
		Run:     runLadder,
	})
}

// ladderRule is the verdict rule, fixed before the first full run.
const ladderRule = "for each model, each form's mean over the seeds of its latency at 1 thread (decoder: decode ms/token at batch 1 with the KV cache; encoder: forward ms per example at batch 1) and of its quality (decoder: held-out loss; encoder: test error) is a point. " +
	"The claim holds for a model when (a) no single method is on the Pareto frontier of these points (every frontier point other than the uncompressed base is a combination) and (b) every single method is dominated by some combination. A point dominates another when its quality is no worse and its latency no more than 5 % above, and it is better in quality or more than 5 % faster (latencies within 5 % count as equal: timing noise must not separate forms that run the same kernels). " +
	"Reproduced when it holds for both models; partial when it holds for one; not reproduced when it holds for neither."

// ladderPart is one model's results for the report.
type ladderPart struct {
	Model  string // "decoder" or "encoder"
	Points []ladderPoint
	Check  ladderCheck
	Body   string // table and notes
	PNG    string
}

func runLadder(c *Context) (*Report, error) {
	seeds := seedsFrom(2307, c.SeedsOrQuick(3, 1))
	dec, err := ladderDecoder(c, seeds)
	if err != nil {
		return nil, err
	}
	enc, err := ladderEncoder(c, seeds)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Verdict rule (fixed before the first full run): %s\n\n", ladderRule)
	held := 0
	var where []string
	for _, p := range []*ladderPart{dec, enc} {
		fmt.Fprintf(&b, "## %s\n\n", strings.ToUpper(p.Model[:1])+p.Model[1:])
		b.WriteString(p.Body)
		fmt.Fprintf(&b, "\n![%s Pareto plot](%s)\n\n", p.Model, p.PNG)
		state := "fails"
		if p.Check.holds() {
			state = "holds"
			held++
		}
		where = append(where, fmt.Sprintf("%s %s: %s", p.Model, state, p.Check.describe(p.Points)))
	}
	verdict := [...]string{"not reproduced", "partial", "reproduced"}[held]
	return &Report{
		Title:   "compression-ladder: magnitude, 2:4, int8, q4_K and distillation, alone and combined",
		Claim:   "the compression methods the survey reviews are complementary: combinations of them (distillation with quantisation, pruning with quantisation) dominate single methods on the frontier of quality against latency.",
		Seeds:   seeds,
		Body:    b.String(),
		Verdict: verdict + ": " + strings.Join(where, "; "),
		Changes: "Recovery fine-tuning after pruning (here pruning is one-shot, so magnitude and 2:4 lose quality a retrained model would regain); a sparse kernel for unstructured sparsity and fused kernels for 2:4 with int8 or 4-bit weights (none exists here, so those combinations cannot be faster than their quantised part); k-quant kernels for rows that are not a multiple of 256 (the quickstart's width of 192 makes llama.cpp's q4_K_M fall back to q5_0 there); larger models, where weight bytes dominate latency; a longer distillation budget.",
	}, nil
}

// ladderPlot draws the points of one model (y as yOf gives it) with the
// frontier joined, each point labelled.
func ladderPlot(path, title, xlabel, ylabel string, ps []ladderPoint, frontier []int, yOf func(float64) float64) error {
	kinds := []struct {
		kind, name string
		col        color.Color
	}{
		{ladderBase, "base", chart.PaletteColor(0)},
		{ladderSingle, "single method", chart.PaletteColor(1)},
		{ladderCombo, "combination", chart.PaletteColor(2)},
	}
	var series []chart.Series
	fr := chart.Series{Name: "Pareto frontier", Style: chart.LinePoints, Color: color.Gray{Y: 110}}
	for _, i := range frontier {
		fr.X, fr.Y = append(fr.X, ps[i].X), append(fr.Y, yOf(ps[i].Y))
	}
	series = append(series, fr)
	for _, k := range kinds {
		s := chart.Series{Name: k.name, Style: chart.Points, Color: k.col}
		for _, p := range ps {
			if p.Kind == k.kind {
				s.X, s.Y, s.Labels = append(s.X, p.X), append(s.Y, yOf(p.Y)), append(s.Labels, p.Name)
			}
		}
		if len(s.X) > 0 {
			series = append(series, s)
		}
	}
	fig := &chart.Chart{Title: title, XLabel: xlabel, YLabel: ylabel, Series: series, LogX: true}
	return fig.WritePNG(path)
}

// mb formats bytes as MB, or "—" for none.
func mb(b int64) string {
	if b < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", float64(b)/1e6)
}

// ladderDecoder runs the decoder part over the seeds.
func ladderDecoder(c *Context, seeds []uint64) (*ladderPart, error) {
	s := ladderDecoderSettings(c.Quick)
	res := make([][]formResult, len(ladderForms)) // [form][seed]
	var setup decoderSetup
	for _, seed := range seeds {
		rs, su, err := decoderSeed(c, seed, s)
		if err != nil {
			return nil, err
		}
		setup = su
		for i, r := range rs {
			res[i] = append(res[i], r)
		}
	}
	part := &ladderPart{Model: "decoder", PNG: "compression-ladder-decoder.png"}
	var b strings.Builder
	t := setup.Spec.Train
	fmt.Fprintf(&b, "Model: the `quickstart` preset (4-layer, 192-wide byte-level Llama, SwiGLU 512, context 128) trained %d steps (batch 16×128, AdamW lr 2e-3, cosine; the preset trains 1600; fewer here to fit the time) on the first 90 %% of tinyshakespeare, per seed. "+
		"Held-out loss: nats/byte on the same strided windows of the last 10 %% for every form (the first %d of its %d tokens).\n\n", t.Steps, setup.Scored, setup.HeldTokens)
	fmt.Fprintf(&b, "Forms (applied to the trained model, no retraining after pruning or quantisation):\n\n"+
		"- *magnitude 50%%*: the half of each block matrix's weights with the smallest |w| zeroed (compress/sparse, per layer; embedding and head dense). No sparse kernel: it runs the dense GEMM, and the saved file keeps the zeros.\n"+
		"- *2:4*: the 2 smaller |w| of every 4 consecutive inputs zeroed (compress/sparse), run with the packed 2:4 kernel (kernels.MatMul24: sparse AVX-512 dot products for a few rows, as in decoding; for many rows, as in prefill and scoring, the weights unpacked to dense and the dense GEMM); saved dense (loom has no 2:4 file format), so its on-disk size is the base's and the in-memory column counts the packed layout the kernel reads.\n"+
		"- *int8*: every block linear to int8 weights per output channel, kept as q8_0 blocks; activations quantised per block of 32 by loom's q8_0 kernels, int8 products summed in int32 (VNNI where the CPU has it) (quant/w8a8, q8_0 path, no SmoothQuant: int8-smoothquant shows it is not needed at this scale). No on-disk format: in-memory bytes only.\n"+
		"- *q4_K_M*: a real GGUF file written by `convert.ExportGGUFMix` (llama.cpp's Q4_K_M rules, as `loom quantize`), loaded back and run with its matrices in their blocks (loom's quantised kernels multiply q4_K, q5_0, q6_K and q8_0 directly, on activations rounded as llama.cpp rounds them).\n"+
		"- *distilled*: a 2-layer student of the same width initialised from the teacher's embedding, head and layers 0 and 2, distilled %d steps (batch 16×128, AdamW lr 1e-3, cosine) with KL at τ = 2 (weighted τ²) plus the text's cross-entropy (package distill, as `loom distill`).\n"+
		"- Combinations apply the second method to the first's result. 2:4+int8 has no fused kernel: its int8 weights hold the 2:4 zeros and run the dense q8_0 kernel, so it measures int8's speed with 2:4's loss.\n\n", s.StudentSteps)
	fmt.Fprintf(&b, "Latency: batch 1, f16 KV cache, after a warm-up; decode = median ms per token of %d greedy steps after a prefill of %d tokens (the last attending to %d positions), prefill = ms for a %d-token prompt into an empty cache; the median of %d repeats per seed, averaged over seeds, at %s thread(s). Float forms run with their weights pre-packed for the GEMM (as `loom serve`).\n\n",
		ladderDecode, ladderPrefill-ladderDecode, ladderPrefill, ladderPrefill, s.Repeats, fmtInts(s.Threads))
	fmt.Fprintf(&b, "| form | kind | parameters | size on disk (MB) | weights in memory as run (MB) |")
	for _, th := range s.Threads {
		fmt.Fprintf(&b, " decode ms/token (%d thr) |", th)
	}
	for _, th := range s.Threads {
		fmt.Fprintf(&b, " prefill 128 ms (%d thr) |", th)
	}
	b.WriteString(" held-out loss, mean ± sd | Δ vs base | frontier |\n|---|---|---:|---:|---:|")
	b.WriteString(strings.Repeat("---:|", 2*len(s.Threads)) + "---|---:|---|\n")
	lat := func(i, th int, dec bool) float64 {
		var xs []float64
		for _, r := range res[i] {
			if dec {
				xs = append(xs, r.Lat[th].DecodeMs)
			} else {
				xs = append(xs, r.Lat[th].PrefillMs)
			}
		}
		return meanOf(xs)
	}
	for i, f := range ladderForms {
		mu, _ := meanStd(lossOf(res[i]))
		part.Points = append(part.Points, ladderPoint{Name: f.Name, Kind: f.Kind, X: lat(i, 0, true), Y: mu})
	}
	part.Check = checkLadder(part.Points)
	on := map[int]bool{}
	for _, i := range part.Check.Frontier {
		on[i] = true
	}
	base := part.Points[0].Y
	for i, f := range ladderForms {
		mu, sd := meanStd(lossOf(res[i]))
		r := res[i][len(res[i])-1]
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |", f.Name, f.Kind, r.Params, mb(r.Disk), mb(r.Mem))
		for th := range s.Threads {
			fmt.Fprintf(&b, " %.3f |", lat(i, th, true))
		}
		for th := range s.Threads {
			fmt.Fprintf(&b, " %.1f |", lat(i, th, false))
		}
		fmt.Fprintf(&b, " %.4f ± %.4f | %+.4f | %s |\n", mu, sd, mu-base, map[bool]string{true: "yes"}[on[i]])
	}
	var types []string
	for i, f := range ladderForms {
		if g := res[i][len(res[i])-1].GGUFTypes; g != "" {
			types = append(types, fmt.Sprintf("%s: %s", f.Name, g))
		}
	}
	body := b.String()
	body += fmt.Sprintf("\nSize on disk: the bytes of the file loom writes (model.safetensors, float32; or the .gguf); — where the form has no on-disk format. Weights in memory: the parameter bytes the forward reads (float32, the blocks of quantised matrices, the packed 2:4 layout). "+
		"The GGUF files' tensor types (llama.cpp's rules; k-quants need rows that are a multiple of 256, and 192 is not): %s.\n", strings.Join(types, "; "))
	part.Body = body
	if err := ladderPlot(filepath.Join(c.DocsDir, part.PNG), "Decoder: held-out loss against decode latency (1 thread)", "decode ms/token (batch 1, 1 thread)", "held-out loss (nats/byte)",
		part.Points, part.Check.Frontier, func(y float64) float64 { return y }); err != nil {
		return nil, err
	}
	return part, nil
}

func lossOf(rs []formResult) []float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, r.Loss)
	}
	return xs
}

func fmtInts(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, " and ")
}
