package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/internal/kernels"
)

// TestTrainPrecisionBF16 trains the tiny preset with --precision bf16 on
// the AVX512-BF16 kernel (where the CPU has it) and with the kernel forced
// off through LOOM_GEMM (the emulated path a CPU without AVX512-BF16
// takes), as real processes: each run finishes, says whether it emulates,
// records loom.precision in the checkpoint's config.json, and learns what
// the fp32 run learns (final training losses within 2 %, not identical).
func TestTrainPrecisionBF16(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 300)), 0o644)
	type arm struct {
		name, precision, gemm string
		emulated              bool
	}
	arms := []arm{{"fp32", "fp32", "", false}, {"bf16-forced-off-avx2", "bf16", "avx2_6x16", true}, {"bf16-forced-off-go", "bf16", "go", true}}
	if kernels.HasBF16() {
		arms = append(arms, arm{"bf16-native", "bf16", "", false})
	}
	final := map[string]float64{}
	for _, a := range arms {
		if a.gemm != "" && kernels.Get(a.gemm) == nil {
			continue
		}
		out := filepath.Join(dir, a.name)
		cmd := loomCommand(t, "", "train", "--preset", "tiny", "--data", corpus, "--steps", "25", "--threads", "1", "--precision", a.precision, "--out", out)
		if a.gemm != "" {
			cmd.Env = append(cmd.Env, "LOOM_GEMM="+a.gemm)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", a.name, err, stderr.String())
		}
		if got := strings.Contains(stderr.String(), "bf16 products are emulated"); got != a.emulated {
			t.Errorf("%s: emulation notice %v, want %v:\n%s", a.name, got, a.emulated, stderr.String())
		}
		cfg, err := os.ReadFile(filepath.Join(out, "checkpoint", "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if want := `"precision": "bf16"`; (a.precision == "bf16") != bytes.Contains(cfg, []byte(want)) {
			t.Errorf("%s: config.json and %s:\n%s", a.name, want, cfg)
		}
		final[a.name] = lastLoss(t, filepath.Join(out, "metrics.jsonl"))
	}
	ref := final["fp32"]
	for name, l := range final {
		if name == "fp32" {
			continue
		}
		if rel := (l - ref) / ref; rel > 0.02 || rel < -0.02 {
			t.Errorf("%s: final loss %.5f, fp32 %.5f (%+.2f %%)", name, l, ref, 100*rel)
		}
		if l == ref {
			t.Errorf("%s: final loss %.7f equals fp32's: bf16 products not used", name, l)
		}
	}
	t.Logf("final training losses: %v", final)
}

func TestPrecisionFlagErrors(t *testing.T) {
	code, _, stderr := runLoom("train", "--preset", "tiny", "--precision", "fp8", "--out", t.TempDir())
	if code == 0 || !strings.Contains(stderr, `--precision: precision "fp8": want fp32 or bf16`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// lastLoss returns the training loss of the last line of a metrics.jsonl.
func lastLoss(t *testing.T, path string) float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var loss float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct {
			Loss float64 `json:"loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		loss = m.Loss
	}
	return loss
}

// TestBenchBF16 runs bench gemm with the bf16 kernel and bench train with
// --precision bf16 on small shapes: the bf16 kernel is reported against
// the measured bf16 peak, and a step's FLOPs are counted.
func TestBenchBF16(t *testing.T) {
	var o, e bytes.Buffer
	if code := run([]string{"bench", "gemm", "--json", "--threads", "1", "--kernels", "default,bf16", "--min-time", "1ms", "--shapes", "96x64x128:NT"}, &o, &e); code != 0 {
		t.Fatalf("bench gemm: %s", e.String())
	}
	var rs []gemmResult
	if err := json.Unmarshal(o.Bytes(), &rs); err != nil {
		t.Fatal(err)
	}
	want := 1
	if kernels.HasBF16() {
		want = 2
	}
	if len(rs) != want {
		t.Fatalf("%d results, want %d: %s", len(rs), want, o.String())
	}
	for _, r := range rs {
		if r.GFLOPS <= 0 || (peakKind(r.Kernel) != "" && (r.PeakGFLOPS <= 0 || r.PctPeak <= 0)) {
			t.Errorf("%+v", r)
		}
	}
	o.Reset()
	if code := run([]string{"bench", "train", "--json", "--threads", "1", "--preset", "tiny", "--steps", "1", "--precision", "bf16"}, &o, &e); code != 0 {
		t.Fatalf("bench train: %s", e.String())
	}
	var tr trainBench
	if err := json.Unmarshal(o.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	// tiny: 2 layers of width 64 (q, k, v, o and a gated FFN of 172), head 256×64,
	// batch 8×64 tokens: 6·512·(2·(4·64·64 + 3·64·172) + 256·64) plus
	// attention 3·4·16·4·(8·64·65/2)·2.
	wantFLOPs := 6.0*512*(2*(4*64*64+3*64*172)+256*64) + 3*4*16*4*(8*64*65/2)*2
	if tr.Precision != "bf16" || tr.GFLOPPerStep*1e9 != wantFLOPs || tr.GFLOPS <= 0 {
		t.Fatalf("%+v, want %.0f FLOPs", tr, wantFLOPs)
	}
}
