package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/forecast"
	"github.com/loomml/loom/models/timeseries"
)

// m4Run is `loom forecast train --protocol m4`'s settings.
type m4Run struct {
	arch, out                     string
	force                         bool
	epochs, batch, dModel, layers int
	heads, threads                int
	lr, dropout                   float64
	seed                          uint64
}

// forecastM4 trains on M4 Hourly and writes the run: model/, result.json
// and forecasts.csv.
func forecastM4(r m4Run, stdout, stderr io.Writer) error {
	if err := checkOut(r.out, true, r.force); err != nil {
		return err
	}
	if r.threads > 0 {
		kernels.SetThreads(r.threads)
	}
	ss, err := series.ReadM4Hourly()
	if err != nil {
		return err
	}
	d := r.dModel
	if d == 0 {
		d = 64
	}
	if r.arch != "dlinear" && d%r.heads != 0 {
		return fmt.Errorf("--heads %d does not divide --d-model %d", r.heads, d)
	}
	lr := r.lr
	if lr == 0 {
		lr = 1e-3
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	fmt.Fprintf(stderr, "M4 Hourly: %d series, horizon %d, windows of %d\n", len(ss), series.M4Horizon, 2*series.M4Horizon)
	res, err := timeseries.FitM4(ss, timeseries.M4Options{Arch: r.arch, DModel: d, Heads: r.heads, Layers: r.layers, Dropout: r.dropout,
		Epochs: r.epochs, Batch: r.batch, LR: lr, Seed: r.seed, Progress: stderr, Context: ctx})
	if err != nil {
		return err
	}
	if r.force {
		os.RemoveAll(r.out)
	}
	err = fsutil.ReplaceDir(r.out, fsutil.Options{Force: r.force, Context: ctx}, func(tmp string) error {
		if err := forecast.Save(filepath.Join(tmp, "model"), res.Model, &forecast.Saved{Model: res.Model.Config(), Source: "M4 Hourly"}); err != nil {
			return err
		}
		js, err := json.MarshalIndent(map[string]any{"protocol": "m4", "set": "Hourly", "series": len(ss), "horizon": series.M4Horizon, "result": res,
			"published_naive2": map[string]float64{"smape": 18.383, "mase": 2.395, "owa": 1}}, "", "  ")
		if err != nil {
			return err
		}
		if err := fsutil.WriteFile(filepath.Join(tmp, "result.json"), append(js, '\n')); err != nil {
			return err
		}
		return fsutil.WriteAtomic(filepath.Join(tmp, "forecasts.csv"), func(w io.Writer) error {
			cw := csv.NewWriter(w)
			head := []string{"id"}
			for h := range series.M4Horizon {
				head = append(head, "F"+strconv.Itoa(h+1))
			}
			cw.Write(head)
			for i, s := range ss {
				row := []string{s.ID}
				for _, v := range res.Forecasts[i] {
					row = append(row, strconv.FormatFloat(v, 'g', 8, 64))
				}
				cw.Write(row)
			}
			cw.Flush()
			return cw.Error()
		})
	})
	if err != nil {
		return writeError(ctx, r.out, err)
	}
	fmt.Fprintf(stdout, "M4 Hourly, %d series × %d steps: %s (%d parameters, epoch %d kept on the last training horizon, validation sMAPE %.3f), %.0f s\n",
		len(ss), series.M4Horizon, r.arch, res.Params, res.BestEpoch, res.ValSMAPE, res.Seconds)
	fmt.Fprintf(stdout, "              sMAPE    MASE     OWA\n%-12s %7.3f %7.3f %7.3f\nNaive2       %7.3f %7.3f %7.3f  (the organisers publish 18.383, 2.395)\n",
		r.arch, res.Test.SMAPE, res.Test.MASE, res.Test.OWA, res.Naive2.SMAPE, res.Naive2.MASE, res.Naive2.OWA)
	fmt.Fprintf(stdout, "run: %s\n", r.out)
	return nil
}
