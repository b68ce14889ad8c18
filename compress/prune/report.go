package prune

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
)

// Report files, as `loom prune` writes them next to the pruned model.
const (
	ReportMarkdown = "prune-report.md"
	ReportJSON     = "prune-report.json"
	ReportMap      = "prune-map.png"
)

// Markdown renders the report as a page: the before/after table, the
// retentions and the removal order, with the map (ReportMap) linked.
func (r *Report) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Pruning report: %s\n\n", r.Method)
	fmt.Fprintf(&sb, "Model %s: removed %d of %d sublayers. Calibration: %s, %d windows of %d tokens.\n\n", r.Model, r.Removed, r.Total, r.Calib, r.CalibWindows, r.CalibLen)
	fmt.Fprintf(&sb, "| | unpruned | pruned |\n| --- | --- | --- |\n")
	fmt.Fprintf(&sb, "| held-out loss (nats/token) | %.4f | %.4f |\n", r.Before.Loss, r.After.Loss)
	if r.Before.DecodeCtx > 0 {
		fmt.Fprintf(&sb, "| decode tokens/s (context %d) | %.1f | %.1f |\n", r.Before.DecodeCtx, r.Before.DecodeTokS, r.After.DecodeTokS)
	}
	fmt.Fprintf(&sb, "| parameters | %d | %d |\n", r.Before.ParamsCount, r.After.ParamsCount)
	for i, b := range r.Before.Tasks {
		a := r.After.Tasks[i]
		ret := "n/a (unpruned < chance + 10 points)"
		if v, ok := r.TaskRetention[b.Task]; ok {
			ret = fmt.Sprintf("%.3f", v)
		}
		fmt.Fprintf(&sb, "| zero-shot %s (chance %.2f, %d items) | %.3f | %.3f (retention %s) |\n", b.Task, b.Chance, b.Items, b.Accuracy, a.Accuracy, ret)
	}
	fmt.Fprintf(&sb, "\nLoss retention (unpruned / pruned loss): %.3f. Task retention: (pruned − chance) / (unpruned − chance). Search took %.1f s.\n\n", r.LossRetention, r.SearchS)
	fmt.Fprintf(&sb, "| step | layer | sublayer | score |\n| --- | --- | --- | --- |\n")
	for i, x := range r.Order {
		fmt.Fprintf(&sb, "| %d | %d | %s | %.5g |\n", i+1, x.Layer, x.Kind, x.Score)
	}
	sb.WriteString("\n![map](" + ReportMap + ")\n")
	return sb.String()
}

// Map draws the removal map: a cell per layer and sublayer, numbered by
// removal order.
func (r *Report) Map() *chart.Grid {
	g := &chart.Grid{Title: fmt.Sprintf("%s: %d of %d sublayers removed", r.Method, r.Removed, r.Total),
		ColLabels: []string{"attention", "FFN"}, Note: "numbers: removal order"}
	g.Cells = make([][]string, r.Layers)
	g.Filled = make([][]bool, r.Layers)
	for l := range r.Layers {
		g.RowLabels = append(g.RowLabels, fmt.Sprintf("layer %d", l))
		g.Cells[l] = make([]string, 2)
		g.Filled[l] = make([]bool, 2)
	}
	for i, x := range r.Order {
		c := 0
		if x.Kind == decoder.SublayerFFN {
			c = 1
		}
		g.Cells[x.Layer][c] = fmt.Sprint(i + 1)
		g.Filled[x.Layer][c] = true
	}
	return g
}

// WriteFiles writes prune-report.json, prune-report.md and prune-map.png
// into dir, each atomically.
func (r *Report) WriteFiles(dir string) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(dir, ReportJSON), append(b, '\n')); err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, ReportMarkdown), []byte(r.Markdown())); err != nil {
		return err
	}
	return r.Map().WritePNG(filepath.Join(dir, ReportMap))
}
