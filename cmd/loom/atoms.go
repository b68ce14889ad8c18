package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	xyz "github.com/loomml/loom/data/atoms"
	"github.com/loomml/loom/data/molecules"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/atoms"
	"github.com/loomml/loom/train"
)

func init() {
	register("atoms", "Energies and forces from elements and coordinates: `loom atoms train` (a graph-free Transformer or SchNet on XYZ, SDF or MD17 .npz; the embedded MMFF94 set by default) and `loom atoms eval`.", withSubcommands("atoms", atomsUsage, map[string]command{"train": atomsTrain, "eval": atomsEval}))
}

const atomsUsage = `usage: loom atoms train --out DIR [--data FILE] [flags]    train a model of energies and forces (default data: the embedded MMFF94 set)
       loom atoms eval --model DIR [--data FILE] [--part P] [--attention FILE.png] [--out FILE.xyz]    errors, attention against distance, predictions`

// embeddedAtoms names the embedded MMFF94 set in --data.
const embeddedAtoms = "mmff"

// readAtomFrames reads --data (or the embedded MMFF94 set) as frames and
// names it.
func readAtomFrames(path string, o xyz.ReadOptions) ([]xyz.Frame, string, error) {
	if path == "" || path == embeddedAtoms {
		f, err := molecules.MMFF()
		return f, "MMFF94 (embedded, 3,000 geometries of 300 molecules)", err
	}
	f, err := xyz.ReadAny(path, o)
	if err == nil && len(f) == 0 {
		err = fmt.Errorf("--data %s holds no structures", path)
	}
	return f, path, err
}

// toMolecules converts frames, naming the file in errors.
func toMolecules(frames []xyz.Frame, name string) ([]atoms.Molecule, error) {
	m, err := atoms.FromFrames(frames)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

func atomsTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("atoms train", "--out DIR [--data FILE] [flags]", stderr)
	out := fs.String("out", "", "directory for the run: model/ (the best validation's), checkpoint/, metrics.jsonl, loss.png, result.json (required; new or empty unless --force or --resume)")
	force := fs.Bool("force", false, forceHelp)
	resume := fs.Bool("resume", false, "continue the run in --out from its checkpoint")
	data := fs.String("data", embeddedAtoms, "structures with energies (and forces): "+xyz.Formats+"; energies in kcal/mol, forces in kcal/mol/Å, positions in Å; "+embeddedAtoms+" is the embedded MMFF94 set")
	valData := fs.String("val", "", "validation structures in a file of their own (default: a part of --data)")
	energyKey := fs.String("energy-key", "energy", "the energy's key: an XYZ comment-line key or an SD data item")
	forcesKey := fs.String("forces-key", "forces", "SD data item with 3 numbers per atom for the forces (optional)")
	valFrac := floatFlag(fs, "val-fraction", 0.1, "part of --data's molecules held out for validation (ignored with --val or when the file marks split=train|val|test)", between(0, 0.9))
	testFrac := floatFlag(fs, "test-fraction", 0.1, "part of --data's molecules held out for the final test (as above)", between(0, 0.9))
	group := fs.String("group-key", "mol", "comment-line key whose value keeps a molecule's geometries in one part of the split (frames without it split one by one)")
	arch := choice(fs, "arch", atoms.ArchTransformer, "transformer (graph-free: elements and coordinates only) or schnet (cutoff graph network)", atoms.ArchTransformer, atoms.ArchSchNet)
	dim := intFlag(fs, "dim", 64, "feature width", atLeast(1))
	layers := intFlag(fs, "layers", 0, "Transformer blocks or SchNet interactions", atLeast(1), sp{0, "4 for transformer, 3 for schnet"})
	heads := intFlag(fs, "heads", 4, "attention heads (transformer; dividing --dim)", atLeast(1))
	ffn := intFlag(fs, "ffn", 0, "feed-forward width (transformer)", atLeast(1), sp{0, "4×--dim"})
	forces := choice(fs, "forces", "grad", "transformer forces: grad (−∂E/∂x, conservative, trained through second derivatives) or direct (a force head, as the paper's released models)", "grad", "direct")
	aux := floatFlag(fs, "aux-force-weight", 10, "with --forces grad, weight of an auxiliary direct force head's loss (the transformer's shortcut off its initial plateau; 0: none)", atLeast(0))
	rotate := fs.Bool("rotate", true, "turn every transformer training molecule by a random rotation each step (schnet is invariant and ignores it)")
	cutoff := floatFlag(fs, "cutoff", 5, "schnet cutoff (Å)", above(0))
	rbf := intFlag(fs, "rbf", 25, "schnet Gaussians of the distance expansion", atLeast(2))
	ew := floatFlag(fs, "energy-weight", 1, "loss weight of the energy (standardised)", atLeast(0))
	fw := floatFlag(fs, "force-weight", 10, "loss weight of the forces (standardised; 0 trains on energies alone)", atLeast(0))
	steps := intFlag(fs, "steps", 2000, "optimiser steps", atLeast(1))
	batch := intFlag(fs, "batch", 32, "molecules per step", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (AdamW, cosine to 0.1×)", above(0))
	warmup := intFlag(fs, "warmup", 100, "warmup steps", atLeast(0))
	clip := floatFlag(fs, "clip", 10, "gradient norm clip", atLeast(0), sp{0, "none"})
	evalEvery := intFlag(fs, "eval-every", 200, "steps between validations (the best is kept)", atLeast(1), sp{0, "at the end"})
	seed := fs.Uint64("seed", 1, "seed of the weights, the batches, the rotations and the split")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom atoms train: --out is required")
		fs.Usage()
		return errUsage
	}
	if *arch == atoms.ArchTransformer && *dim%*heads != 0 {
		return fmt.Errorf("--heads %d does not divide --dim %d", *heads, *dim)
	}
	if *ew == 0 && *fw == 0 {
		return fmt.Errorf("--energy-weight and --force-weight are both 0: nothing to learn")
	}
	if !*resume {
		if err := checkOut(*out, true, *force, source{"--data", *data}, source{"--val", *valData}); err != nil {
			return err
		}
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	ro := xyz.ReadOptions{EnergyKey: *energyKey, ForcesKey: *forcesKey}
	frames, name, err := readAtomFrames(*data, ro)
	if err != nil {
		return err
	}
	so := xyz.SplitOptions{Val: *valFrac, Test: *testFrac, Group: *group, Seed: *seed}
	if *valData != "" {
		so.Val = 0
	}
	trF, vaF, teF, how, err := xyz.Split(frames, so)
	if err != nil {
		return fmt.Errorf("--data %s: %w", name, err)
	}
	if *valData != "" {
		if vaF, _, err = readAtomFrames(*valData, ro); err != nil {
			return err
		}
		how += "; validation from --val " + *valData
	}
	trM, err := toMolecules(trF, name)
	if err != nil {
		return err
	}
	vaM, err := toMolecules(vaF, name)
	if err != nil {
		return err
	}
	teM, err := toMolecules(teF, name)
	if err != nil {
		return err
	}
	if *fw > 0 {
		for _, part := range [][]atoms.Molecule{trM, vaM, teM} {
			for i, m := range part {
				if m.Forces == nil {
					return fmt.Errorf("--data %s: molecule %d has no forces; give forces in every structure or pass --force-weight 0 to train on energies alone", name, i)
				}
			}
		}
	}
	c := atoms.Config{Arch: *arch, Dim: *dim, Layers: *layers, Heads: *heads, FFN: *ffn, Cutoff: *cutoff, RBF: *rbf,
		EnergyWeight: *ew, ForceWeight: *fw, Seed: *seed}
	if *arch == atoms.ArchTransformer {
		c.Rotate = *rotate
		c.DirectForces = *forces == "direct"
		if !c.DirectForces && *fw > 0 {
			c.AuxForceWeight = *aux
		}
	}
	rc := atoms.RunConfig{Model: c.Defaults(),
		Train:     train.Hyper{Steps: *steps, BatchSize: *batch, LR: *lr, MinLRFactor: 0.1, Warmup: *warmup, Clip: *clip},
		EvalEvery: *evalEvery}
	if *force && !*resume {
		os.RemoveAll(*out)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	ctx, stop := interruptible(stderr)
	defer stop()
	start := time.Now()
	m, _, err := atoms.Fit(rc, trM, vaM, atoms.FitOptions{OutDir: *out, Progress: stderr, Context: ctx, Resume: *resume})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if err := atoms.Save(m, filepath.Join(*out, "model")); err != nil {
		return err
	}
	res := map[string]any{"data": name, "split": how, "config": rc, "params": m.Cost(nil).Params, "seconds": secs,
		"molecules": map[string]int{"train": len(trM), "val": len(vaM), "test": len(teM)}}
	metrics := map[string]any{}
	fmt.Fprintf(stdout, "%s: %d/%d/%d structures (%s)\n%s\n", name, len(trM), len(vaM), len(teM), how, m)
	for _, p := range []struct {
		name string
		mols []atoms.Molecule
	}{{"train", trM}, {"val", vaM}, {"test", teM}} {
		if len(p.mols) == 0 {
			continue
		}
		r, err := atoms.Evaluate(m, p.mols, 64)
		if err != nil {
			return fmt.Errorf("%s part: %w", p.name, err)
		}
		metrics[p.name] = metricsJSON(r)
		fmt.Fprintf(stdout, "%-5s %s\n", p.name, describeMetrics(r))
	}
	res["metrics"] = metrics
	res["cost"] = m.Cost(trM)
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(*out, "result.json"), append(js, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d steps in %.0f s; model: %s\n", *steps, secs, filepath.Join(*out, "model"))
	return nil
}

// metricsJSON is r as JSON fields, without the force errors of molecules
// that had no force labels.
func metricsJSON(r atoms.Metrics) map[string]any {
	out := map[string]any{"molecules": r.Molecules, "atoms": r.Atoms, "energy_mae": r.EnergyMAE, "energy_rmse": r.EnergyRMSE}
	out["loss"] = r.Loss
	if !math.IsNaN(r.ForceMAE) {
		out["force_mae"], out["force_rmse"] = r.ForceMAE, r.ForceRMSE
	}
	return out
}

// describeMetrics is r in words.
func describeMetrics(r atoms.Metrics) string {
	s := fmt.Sprintf("energy MAE %.3f kcal/mol (RMSE %.3f)", r.EnergyMAE, r.EnergyRMSE)
	if math.IsNaN(r.ForceMAE) {
		return s + ", no force labels"
	}
	return s + fmt.Sprintf(", force MAE %.3f kcal/mol/Å (RMSE %.3f)", r.ForceMAE, r.ForceRMSE)
}

func atomsEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("atoms eval", "--model DIR [--data FILE] [--part P] [--attention FILE.png] [--out FILE.xyz]", stderr)
	model := fs.String("model", "", "a `loom atoms train` run directory or its model/ directory (required)")
	data := fs.String("data", embeddedAtoms, "structures: "+xyz.Formats+"; "+embeddedAtoms+" is the embedded MMFF94 set")
	energyKey := fs.String("energy-key", "energy", "the energy's key: an XYZ comment-line key or an SD data item")
	forcesKey := fs.String("forces-key", "forces", "SD data item with the forces (optional)")
	part := choice(fs, "part", "auto", "which structures: all, or train, val or test of a file marked split= (auto: test when marked, else all)", "auto", "all", "train", "val", "test")
	attention := fs.String("attention", "", "draw the transformer's attention against interatomic distance, per block, to this PNG (and print the rank correlation)")
	binWidth := floatFlag(fs, "bin", 0.25, "distance bin of --attention (Å)", above(0))
	out := fs.String("out", "", "write the structures with predicted energies and forces as extended XYZ (ref_energy holds the label)")
	force := fs.Bool("force", false, "replace an existing --out or --attention")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		fmt.Fprintln(stderr, "loom atoms eval: --model is required")
		fs.Usage()
		return errUsage
	}
	for _, o := range []string{*out, *attention} {
		if o != "" {
			if err := checkOut(o, false, *force, source{"--data", *data}, source{"--model", *model}); err != nil {
				return err
			}
		}
	}
	m, err := atoms.Load(*model)
	if err != nil {
		return fmt.Errorf("--model %s: %w", *model, err)
	}
	if *attention != "" && m.Config.Arch != atoms.ArchTransformer {
		return fmt.Errorf("--attention needs a transformer; --model %s is %s", *model, m.Config.Arch)
	}
	frames, name, err := readAtomFrames(*data, xyz.ReadOptions{EnergyKey: *energyKey, ForcesKey: *forcesKey})
	if err != nil {
		return err
	}
	if *part != "all" {
		tr, va, te, how, err := xyz.Split(frames, xyz.SplitOptions{})
		marked := err == nil && how == "the file's split= marks"
		switch {
		case *part == "auto" && marked:
			frames, name = te, name+", test part"
		case *part == "auto":
		case !marked:
			return fmt.Errorf("--part %s: --data %s does not mark split=train|val|test in every structure; use --part all", *part, name)
		default:
			frames = map[string][]xyz.Frame{"train": tr, "val": va, "test": te}[*part]
			name += ", " + *part + " part"
		}
	}
	mols, err := toMolecules(frames, name)
	if err != nil {
		return err
	}
	for i := range mols {
		if err := m.Ref.Check(atoms.Collate(mols[i : i+1])); err != nil {
			return fmt.Errorf("--data %s: structure %d: %w", name, i, err)
		}
	}
	r, err := atoms.Evaluate(m, mols, 64)
	if err != nil {
		return err
	}
	res := map[string]any{"data": name, "model": *model, "metrics": metricsJSON(r), "cost": m.Cost(mols)}
	if *attention != "" {
		pairs, err := atoms.AttentionPairs(m, mols, 32)
		if err != nil {
			return err
		}
		bins := atoms.BinAttention(pairs, *binWidth)
		minPairs := max(20, len(pairs)/m.Config.Layers/1000)
		rho := atoms.AttentionDecay(bins, minPairs)
		if err := atoms.AttentionChart(bins, minPairs, "attention against distance: "+filepath.Base(name)).WritePNG(*attention); err != nil {
			return outError(err)
		}
		rhoJSON := make([]any, len(rho)) // null where a block had too few bins
		for i, x := range rho {
			if !math.IsNaN(x) {
				rhoJSON[i] = x
			}
		}
		res["attention_spearman"] = rhoJSON
		res["attention_bins"] = bins
		if !*asJSON {
			fmt.Fprintf(stdout, "attention against distance: %s; Spearman ρ(distance, attention) per block:", *attention)
			for _, x := range rho {
				fmt.Fprintf(stdout, " %.2f", x)
			}
			fmt.Fprintln(stdout)
		}
	}
	if *out != "" {
		pred := make([]xyz.Frame, len(mols))
		for lo := 0; lo < len(mols); lo += 64 {
			b := atoms.Collate(mols[lo:min(len(mols), lo+64)])
			E, F, err := m.Predict(b)
			if err != nil {
				return err
			}
			f := F.Float64s()
			for i := range b.B {
				k := lo + i
				fr := frames[k]
				n := fr.Len()
				p := xyz.Frame{Z: fr.Z, Species: fr.Species, Pos: fr.Pos, Energy: E.At(i), HasEnergy: true,
					Forces: append([]float64(nil), f[i*b.T*3:i*b.T*3+3*n]...), Info: map[string]string{}}
				for key, v := range fr.Info {
					p.Info[key] = v
				}
				p.Info["ref_energy"] = strconv.FormatFloat(fr.Energy, 'g', -1, 64)
				pred[k] = p
			}
		}
		if err := fsutil.WriteAtomic(*out, func(w io.Writer) error { return xyz.Write(w, pred) }); err != nil {
			return outError(err)
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "predictions: %s\n", *out)
		}
	}
	if *asJSON {
		js, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(js))
		return nil
	}
	fmt.Fprintf(stdout, "%s: %d structures, %d atoms: %s\n", name, r.Molecules, r.Atoms, describeMetrics(r))
	return nil
}
