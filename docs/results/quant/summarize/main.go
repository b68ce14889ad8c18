// Command summarize turns the raw results of docs/results/quant/bench2.sh
// (run2/loom.jsonl and run2/llamacpp.jsonl: three interleaved rounds) into
// quant.md's table (medians over the rounds, loom / llama.cpp ratios) and
// a chart of the ratios (quant/speed.png).
//
//	go run ./docs/results/quant/summarize docs/results/quant/run2 docs/results/quant/speed.png
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loomml/loom/chart"
)

type loomRow struct {
	Model       string  `json:"model"`
	Threads     int     `json:"threads"`
	MsPerToken  float64 `json:"ms_per_token_median"`
	PrefillTokS float64 `json:"prefill_tokens_per_s"`
	LoadS       float64 `json:"load_s"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
}

type llamaRow struct {
	Model      string  `json:"model"`
	Threads    int     `json:"threads"`
	Prompt     int     `json:"prompt_tokens"`
	PrefillMs  float64 `json:"prefill_plus_first_ms"`
	MsPerToken float64 `json:"ms_per_token_median"`
	LoadS      float64 `json:"load_s"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
}

type key struct {
	model   string // file name without .gguf
	threads int
}

// stats are one (file, threads) cell's medians over the rounds.
type stats struct{ decode, prefill, load, rss float64 }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: summarize RUN_DIR OUT.png")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "summarize:", err)
		os.Exit(1)
	}
}

func run(dir, png string) error {
	lr, err := readJSONL[loomRow](filepath.Join(dir, "loom.jsonl"))
	if err != nil {
		return err
	}
	cr, err := readJSONL[llamaRow](filepath.Join(dir, "llamacpp.jsonl"))
	if err != nil {
		return err
	}
	type acc struct{ decode, prefill, load, rss []float64 }
	loom, llama := map[key]*acc{}, map[key]*acc{}
	get := func(m map[key]*acc, k key) *acc {
		if m[k] == nil {
			m[k] = &acc{}
		}
		return m[k]
	}
	for _, r := range lr {
		a := get(loom, key{strings.TrimSuffix(r.Model, ".gguf"), r.Threads})
		a.decode = append(a.decode, 1000/r.MsPerToken)
		a.prefill = append(a.prefill, r.PrefillTokS)
		a.load = append(a.load, r.LoadS)
		a.rss = append(a.rss, r.PeakRSSMB)
	}
	for _, r := range cr {
		a := get(llama, key{strings.TrimSuffix(r.Model, ".gguf"), r.Threads})
		a.decode = append(a.decode, 1000/r.MsPerToken)
		a.prefill = append(a.prefill, float64(r.Prompt)/(r.PrefillMs/1000))
		a.load = append(a.load, r.LoadS)
		a.rss = append(a.rss, r.PeakRSSMB)
	}
	med := func(a *acc) stats {
		return stats{median(a.decode), median(a.prefill), median(a.load), median(a.rss)}
	}
	var keys []key
	for k := range loom {
		if llama[k] != nil {
			keys = append(keys, k)
		}
	}
	order := map[string]int{"q8": 0, "f16": 1, "q4km": 2}
	name := map[string]string{"q8": "q8_0", "f16": "f16", "q4km": "Q4_K_M"}
	slices.SortFunc(keys, func(a, b key) int {
		sa, ta, _ := strings.Cut(a.model, "-")
		sb, tb, _ := strings.Cut(b.model, "-")
		if sa != sb {
			return strings.Compare(sb, sa) // m100 before llama1b
		}
		if a.threads != b.threads {
			return a.threads - b.threads
		}
		return order[ta] - order[tb]
	})
	fmt.Println("| model | file | threads | loom decode tok/s | llama.cpp | ratio | loom prefill tok/s | llama.cpp | ratio | loom load s | llama.cpp | ratio | loom peak RSS MB | llama.cpp | ratio |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	var decBars, preBars []chart.Bar
	for _, k := range keys {
		l, c := med(loom[k]), med(llama[k])
		size, typ, _ := strings.Cut(k.model, "-")
		size = map[string]string{"m100": "134M", "llama1b": "1.24B"}[size]
		fmt.Printf("| %s | %s | %d | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.2f |\n",
			size, name[typ], k.threads, l.decode, c.decode, l.decode/c.decode, l.prefill, c.prefill, l.prefill/c.prefill,
			l.load, c.load, l.load/c.load, l.rss, c.rss, l.rss/c.rss)
		label := fmt.Sprintf("%s %s t%d", size, name[typ], k.threads)
		decBars = append(decBars, chart.Bar{Label: label, Value: l.decode / c.decode})
		preBars = append(preBars, chart.Bar{Label: label, Value: l.prefill / c.prefill})
	}
	par := []chart.Ref{{Y: 1, Label: "llama.cpp"}}
	if err := (&chart.BarChart{Title: "Decoding speed, loom / llama.cpp (medians of 3 runs)", YLabel: "ratio", Bars: decBars, HLines: par}).WritePNG(png); err != nil {
		return err
	}
	pre := strings.TrimSuffix(png, ".png") + "-prefill.png"
	return (&chart.BarChart{Title: "512-token prefill, loom / llama.cpp (medians of 3 runs)", YLabel: "ratio", Bars: preBars, HLines: par}).WritePNG(pre)
}
