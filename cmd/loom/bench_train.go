package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// referenceConfig is the model of ../shared/anchors/torch_gpt_train.py:
// vocab 256, width 256, 4 layers of 4 heads, context 128, tanh-GELU MLP of
// width 1024, LayerNorm, learned positions, biases, untied head.
func referenceConfig() *decoder.Config {
	return &decoder.Config{HiddenSize: 256, IntermediateSize: 1024, NumHiddenLayers: 4, NumAttentionHeads: 4,
		HiddenAct: "gelu_pytorch_tanh", RMSNormEps: 1e-5, VocabSize: 256, MaxPositionEmbeddings: 128,
		InitializerRange: 0.02, AttentionBias: true, MLPBias: true,
		Loom: decoder.Options{Norm: "layernorm", NormBias: true, Positions: "learned", FFN: "mlp", Tokenizer: "byte"}}
}

type trainBench struct {
	Kernel     string  `json:"kernel"`
	Precision  string  `json:"precision"`
	BF16Kernel string  `json:"bf16_kernel,omitempty"` // "" with fp32, or bf16 emulated`
	Threads    int     `json:"threads"`
	Params     int     `json:"params"`
	MsPerStep  float64 `json:"ms_per_step"`
	MinMs      float64 `json:"min_ms"`
	Steps      int     `json:"steps"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	// FLOPs of one step counted from the model's shape (trainFLOPs), the
	// rate they were done at, and that rate against the core's measured
	// peak of the step's precision (fp32 FMA or bf16 VDPBF16PS) at Threads.
	GFLOPPerStep float64 `json:"gflop_per_step"`
	GFLOPS       float64 `json:"gflops"`
	PeakGFLOPS   float64 `json:"peak_gflops,omitempty"`
	PctPeak      float64 `json:"pct_peak,omitempty"`
	// AttnShare is, with loom.ssa, the share of dense attention's
	// (query, key) pairs the subsampled steps computed (counted in
	// GFLOPPerStep); 0 without SSA.
	AttnShare   float64 `json:"ssa_attention_share,omitempty"`
	TorchMs     float64 `json:"torch_ms_per_step,omitempty"`
	TorchRSSMB  float64 `json:"torch_peak_rss_mb,omitempty"`
	RatioTorch  float64 `json:"ratio_to_torch,omitempty"`
	TorchOutput string  `json:"torch_output,omitempty"`
}

func benchTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagsSummary("bench train", "[--threads N] [--json] [--steps 20] [--torch-script PATH | --preset NAME | --config FILE]", benchSummary("train"), stderr)
	threads := intFlag(fs, "threads", 1, "threads for loom (and for the PyTorch script)", atLeast(1))
	asJSON := fs.Bool("json", false, "print JSON")
	steps := intFlag(fs, "steps", 20, "timed steps (after 3 warm-up steps); the median is reported", atLeast(1))
	torch := fs.String("torch-script", "", "also run this PyTorch anchor (torch_gpt_train.py) with /usr/bin/python3 at the same thread count and report the ratio")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	preset := fs.String("preset", "", "time a training preset's model and batch instead of the PyTorch reference model (AdamW, random tokens)")
	precision := fs.String("precision", "fp32", "arithmetic of the matrix products: fp32 or bf16")
	config := fs.String("config", "", "time the model of this config.json (or directory holding one) instead, on --batch sequences of --seq random tokens")
	batch := intFlag(fs, "batch", 16, "sequences per step with --config", atLeast(1))
	seq := intFlag(fs, "seq", 128, "tokens per sequence with --config (at most max_position_embeddings)", atLeast(1))
	ssa := ssaFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *config != "" && *preset != "" {
		return fmt.Errorf("--config and --preset: give one model")
	}
	var userCfg *decoder.Config
	if *config != "" {
		c, err := decoder.LoadConfig(*config)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		if *seq > c.MaxPositionEmbeddings {
			return fmt.Errorf("--seq %d exceeds the model's max_position_embeddings %d", *seq, c.MaxPositionEmbeddings)
		}
		userCfg = c
	}
	prec, err := tensor.ParsePrecision(*precision)
	if err != nil {
		return fmt.Errorf("--precision: %w", err)
	}
	if *threads < 1 || *steps < 1 {
		return fmt.Errorf("--threads and --steps must be positive")
	}
	runtime.GOMAXPROCS(*threads)
	// The peak of the step's instruction, measured before (and outside
	// the profile of) the steps.
	kind := "fp32"
	if prec == tensor.BF16 && kernels.BF16Native() != "" {
		kind = "bf16"
	}
	peak := measurePeak(kind, *threads)
	kernels.SetThreads(*threads)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg, B, T := referenceConfig(), 16, 128
	if *preset != "" {
		spec, err := train.LookupPreset(*preset)
		if err != nil {
			return err
		}
		cfg, B, T = spec.Model, spec.Train.BatchSize, spec.Train.SeqLen
	}
	if userCfg != nil {
		cfg, B, T = userCfg, *batch, *seq
	}
	if given := givenFlags(fs); given["ssa"] {
		c := *cfg // the reference and preset configs are shared
		if c.Loom.SSA != nil {
			o := *c.Loom.SSA
			c.Loom.SSA = &o
		}
		applySSA(&c, nil, *ssa, true)
		cfg = &c
	}
	res, err := runTrainBench(cfg, B, T, *steps, prec)
	if err != nil {
		return err
	}
	res.Threads = *threads
	res.GFLOPS = res.GFLOPPerStep / (res.MsPerStep / 1000)
	if peak > 0 {
		res.PeakGFLOPS, res.PctPeak = peak, math.Round(1000*res.GFLOPS/peak)/10
	}
	if *torch != "" {
		if err := runTorchAnchor(*torch, *threads, &res); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	kernel := res.Kernel
	if prec == tensor.BF16 {
		kernel = cmp.Or(res.BF16Kernel, "emulated bf16 on "+res.Kernel)
	}
	fmt.Fprintf(stdout, "loom  (%s %s GEMM, %d threads): %.1f ms/step median over %d steps (min %.1f), %d params, peak RSS %.0f MB\n",
		res.Precision, kernel, res.Threads, res.MsPerStep, res.Steps, res.MinMs, res.Params, res.PeakRSSMB)
	fmt.Fprintf(stdout, "      %.2f GFLOP/step (matrix products, counted from the shape) → %.1f GFLOP/s", res.GFLOPPerStep, res.GFLOPS)
	if res.PeakGFLOPS > 0 {
		fmt.Fprintf(stdout, ", %.1f %% of the measured %s peak (%.1f GFLOP/s at %d threads)", res.PctPeak, kind, res.PeakGFLOPS, res.Threads)
	}
	fmt.Fprintln(stdout)
	if res.TorchMs > 0 {
		fmt.Fprintf(stdout, "torch (%d threads): %.1f ms/step, peak RSS %.0f MB\nratio loom/torch: %.3f\n", res.Threads, res.TorchMs, res.TorchRSSMB, res.RatioTorch)
	}
	return nil
}

// runTrainBench times training steps of the reference model on random
// batches with targets (x+1) mod V, as the PyTorch anchor does: forward in
// training mode with the auxiliary losses a model records (a mixture's
// balance loss), backward, AdamW.
func runTrainBench(cfg *decoder.Config, B, T, steps int, prec tensor.Precision) (trainBench, error) {
	defer autograd.SetPrecision(autograd.SetPrecision(prec))
	m, err := decoder.New(cfg, 0)
	if err != nil {
		return trainBench{}, err
	}
	opt := optim.NewAdam([]*optim.Group{{Params: m.Params(), LR: 3e-4}})
	r := tensor.NewRNG(0)
	V := cfg.VocabSize
	step := func() float64 {
		x, y := make([]int, B*T), make([]int, B*T)
		for i := range x {
			x[i] = r.Intn(V)
			y[i] = (x[i] + 1) % V
		}
		aux := &nn.AuxLosses{}
		loss := m.Loss(&nn.Ctx{Train: true, RNG: r, Aux: aux}, data.Batch{IDs: x, Targets: y, B: B, T: T})
		if t := aux.Total(); t != nil {
			loss = autograd.Add(loss, t)
		}
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		return loss.Item()
	}
	for range 3 {
		step()
	}
	var ts []float64
	for range steps {
		t := time.Now()
		step()
		ts = append(ts, float64(time.Since(t).Microseconds())/1000)
	}
	sort.Float64s(ts)
	bk := ""
	if prec == tensor.BF16 {
		bk = kernels.BF16Native()
	}
	share := 0.0
	if sa := m.SSA(); sa != nil {
		if a, d := sa.Pairs(); d > 0 {
			share = float64(a) / float64(d)
		}
	}
	return trainBench{Kernel: kernels.Current(), Precision: prec.String(), BF16Kernel: bk, GFLOPPerStep: trainFLOPs(m, B, T, share) / 1e9, Params: autograd.NumParams(m.Params()), MsPerStep: ts[len(ts)/2],
		MinMs: ts[0], Steps: steps, PeakRSSMB: peakRSSMB(), AttnShare: share}, nil
}

// trainFLOPs counts the floating-point operations of one training step's
// matrix products on a batch of B sequences of T tokens, as MFU is counted
// (PaLM, appendix B): 6 per weight-matrix parameter per token (forward 2,
// backward 4) for every Linear weight (matrices, heads, and of a mixture's
// experts the k of E each token uses; a tied embedding counted once more
// as the head), plus attention's QKᵀ and PV
// over the T(T+1)/2 causal query–key pairs, 4·head_dim FLOPs per pair and
// head forward, 3× that for the step. Flash attention's recomputation in
// the backward pass, norms, activations, softmax and the optimizer are not
// counted: they are the overhead the ratio to peak exposes. With
// stochastically subsampled attention (loom.ssa), ssaShare in (0, 1] is the
// share of those pairs the steps computed (0: dense).
func trainFLOPs(m *decoder.Model, B, T int, ssaShare float64) float64 {
	cfg := m.Config
	tokens := float64(B * T)
	var matrix float64
	for _, p := range m.Params() {
		switch p.Role {
		case autograd.RoleMatrix, autograd.RoleHead:
			matrix += float64(p.Value.Numel())
		case autograd.RoleExpert: // a token goes through k of the E experts
			matrix += float64(p.Value.Numel()) * float64(cfg.NumExpertsPerTok) / float64(max(cfg.NumExperts, 1))
		}
	}
	if cfg.TieWordEmbeddings {
		matrix += float64(cfg.VocabSize * cfg.HiddenSize)
	}
	pairs := float64(B) * float64(T) * float64(T+1) / 2
	attn := 3 * 4 * float64(cfg.HeadDimOrDefault()) * float64(cfg.NumAttentionHeads) * pairs * float64(cfg.NumHiddenLayers)
	if ssaShare > 0 {
		attn *= ssaShare
	}
	return 6*tokens*matrix + attn
}

// peakRSSMB returns this process's peak resident set size (VmHWM).
func peakRSSMB() float64 { return procStatusMB("VmHWM") }

// rssMB returns this process's resident set size now (VmRSS).
func rssMB() float64 { return procStatusMB("VmRSS") }

func procStatusMB(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

var torchMedian = regexp.MustCompile(`median ([0-9.]+) ms`)

func runTorchAnchor(script string, threads int, res *trainBench) error {
	cmd := exec.Command("/usr/bin/python3", script, strconv.Itoa(threads))
	cmd.Env = append(os.Environ(), fmt.Sprintf("OPENBLAS_NUM_THREADS=%d", threads), fmt.Sprintf("OMP_NUM_THREADS=%d", threads))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("running %s: %v\n%s", script, err, out)
	}
	m := torchMedian.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("%s printed no \"median … ms\": %s", script, out)
	}
	res.TorchMs, _ = strconv.ParseFloat(string(m[1]), 64)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.TorchRSSMB = float64(ru.Maxrss) / 1024
	}
	res.RatioTorch = res.MsPerStep / res.TorchMs
	res.TorchOutput = string(out)
	return nil
}
