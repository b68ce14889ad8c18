package sweep

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// CSVHeader is the header of results.csv after the grid's keys. loss is
// val_loss again, under the name `loom scaling fit` reads (with params).
var CSVHeader = []string{"seed", "params", "non_embedding_params", "train_loss", "val_loss", "loss", "steps", "tokens", "seconds", "status"}

// WriteCSV writes rs as results.csv: a column per grid key (keys, in the
// flags' order), then CSVHeader. A loss that is not finite (a diverged
// run) is an empty cell.
func WriteCSV(w io.Writer, keys []string, rs []Result) error {
	cw := csv.NewWriter(w)
	cw.Write(append(append([]string{}, keys...), CSVHeader...))
	for _, r := range rs {
		row := gridCells(keys, r)
		row = append(row, strconv.FormatUint(r.Seed, 10), strconv.Itoa(r.Params), strconv.Itoa(r.NonEmbeddingParams),
			csvFloat(r.TrainLoss), csvFloat(r.ValLoss), csvFloat(r.ValLoss),
			strconv.Itoa(r.Steps), strconv.FormatInt(r.Tokens, 10), strconv.FormatFloat(r.Seconds, 'f', 2, 64), r.Status)
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func csvFloat(f Float) string {
	if !finite(f) {
		return ""
	}
	return strconv.FormatFloat(float64(f), 'g', -1, 64)
}

func finite(f Float) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

func gridCells(keys []string, r Result) []string {
	var out []string
	for _, k := range keys {
		out = append(out, valueText(r.Grid[k]))
	}
	return out
}

// Summary is the validation loss of one grid point over its seeds.
type Summary struct {
	Grid      []string // the values, in the keys' order
	Runs      int      // runs of the point
	Finite    int      // of which ended with a finite validation loss
	Mean, Std float64  // over those (Std: the sample standard deviation; NaN for fewer than two)
}

// Summarize groups rs by grid point, in order of first appearance.
func Summarize(keys []string, rs []Result) []Summary {
	var out []Summary
	var sums, sqs []float64
	index := map[string]int{}
	for _, r := range rs {
		cells := gridCells(keys, r)
		id := strings.Join(cells, "\x00")
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out, sums, sqs = append(out, Summary{Grid: cells}), append(sums, 0), append(sqs, 0)
		}
		out[i].Runs++
		if finite(r.ValLoss) {
			out[i].Finite++
			sums[i] += float64(r.ValLoss)
		}
	}
	for i := range out {
		out[i].Mean, out[i].Std = math.NaN(), math.NaN()
		if out[i].Finite > 0 {
			out[i].Mean = sums[i] / float64(out[i].Finite)
		}
	}
	for _, r := range rs {
		if finite(r.ValLoss) {
			i := index[strings.Join(gridCells(keys, r), "\x00")]
			d := float64(r.ValLoss) - out[i].Mean
			sqs[i] += d * d
		}
	}
	for i := range out {
		if n := out[i].Finite; n > 1 {
			out[i].Std = math.Sqrt(sqs[i] / float64(n-1))
		}
	}
	return out
}

// WriteMarkdown writes rs as results.md: a table of every run and, when a
// grid point has several seeds, a table of the mean ± standard deviation
// of the validation loss per grid point.
func WriteMarkdown(w io.Writer, keys []string, rs []Result) error {
	var b bytes.Buffer
	head := append(append([]string{}, keys...), "seed", "params", "non-embedding params", "train loss", "val loss", "steps", "tokens", "seconds", "status")
	table(&b, head, len(keys), len(head)-1)
	for _, r := range rs {
		row := append(gridCells(keys, r), strconv.FormatUint(r.Seed, 10), strconv.Itoa(r.Params), strconv.Itoa(r.NonEmbeddingParams),
			mdFloat(float64(r.TrainLoss)), mdFloat(float64(r.ValLoss)), strconv.Itoa(r.Steps), strconv.FormatInt(r.Tokens, 10),
			strconv.FormatFloat(r.Seconds, 'f', 1, 64), r.Status)
		tableRow(&b, row)
	}
	sums := Summarize(keys, rs)
	several := false
	for _, s := range sums {
		several = several || s.Runs > 1
	}
	if several {
		b.WriteString("\nValidation loss over seeds, per grid point (mean ± sample standard deviation):\n\n")
		table(&b, append(append([]string{}, keys...), "runs", "val loss"), len(keys), len(keys)+2)
		for _, s := range sums {
			runs := strconv.Itoa(s.Runs)
			if s.Finite < s.Runs {
				runs = fmt.Sprintf("%d (%d finite)", s.Runs, s.Finite)
			}
			loss := mdFloat(s.Mean)
			if !math.IsNaN(s.Std) {
				loss += " ± " + mdFloat(s.Std)
			}
			tableRow(&b, append(append([]string{}, s.Grid...), runs, loss))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

// table writes a header row and its rule; the columns from up to to are
// right-aligned (numbers).
func table(b *bytes.Buffer, head []string, from, to int) {
	tableRow(b, head)
	rule := make([]string, len(head))
	for i := range rule {
		rule[i] = "---"
		if i >= from && i < to {
			rule[i] = "---:"
		}
	}
	b.WriteString("| " + strings.Join(rule, " | ") + " |\n")
}

func tableRow(b *bytes.Buffer, cells []string) {
	esc := make([]string, len(cells))
	for i, c := range cells {
		esc[i] = strings.ReplaceAll(strings.ReplaceAll(c, "|", `\|`), "\n", " ")
	}
	b.WriteString("| " + strings.Join(esc, " | ") + " |\n")
}
