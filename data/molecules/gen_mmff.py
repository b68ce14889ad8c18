#!/usr/bin/env python3
"""Writes mmff.xyz.gz, mmff-molecules.csv and testdata/mmff-frames.json:
3-D geometries of small ESOL molecules labelled with RDKit's MMFF94 energy
and forces (a classical force field, not DFT).

    cd data/molecules && /usr/bin/python3 gen_mmff.py

Run it with Debian's python3-rdkit (2022.09.3) under /usr/bin/python3.

1. Read esol-delaney-processed.csv (beside this script); keep the molecules
   whose SMILES RDKit parses, that are one fragment, have 2 to MAX_HEAVY heavy
   atoms and that MMFF94 fully parametrises (MMFFHasAllMoleculeParams).
2. Draw N_MOLECULES of them (numpy default_rng(SEED), kept in file order) and
   split them by molecule, not by geometry: 80 % train, 10 % val, 10 % test.
3. For each molecule: add hydrogens, embed N_CONFS conformers with ETKDGv3
   (randomSeed SEED + row, one thread), MMFF94-optimise each (up to 10,000
   iterations), then make N_RATTLE copies of each optimised conformer with
   every coordinate displaced by Gaussian noise of standard deviation sigma
   (cycling through SIGMAS, in Å).
4. Round each rattled geometry to 5 decimals (the precision written) and
   label the rounded geometry with ff.CalcEnergy (kcal/mol) and
   forces = -ff.CalcGrad (kcal/mol/Å), so positions and labels agree to the
   file's precision.
5. Check the force sign on every CHECK_EVERY-th frame by central finite
   differences of the energy (step FD_STEP Å) on every coordinate; stop on a
   disagreement.

The extended-XYZ frames (ASE's format) read:

    <number of atoms>
    Properties=species:S:1:pos:R:3:forces:R:3 energy=<kcal/mol> pbc="F F F" mol=<i> conf=<c> rattle=<r> sigma=<Å> e_opt=<kcal/mol> split=<train|val|test>
    <element> <x> <y> <z> <fx> <fy> <fz>     (one line per atom, heavy atoms first, then H)

mol is the row of mmff-molecules.csv, e_opt the MMFF94 energy of the
optimised conformer the frame was rattled from.
"""
import csv
import gzip
import io
import json
import sys

import numpy as np
import rdkit
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

SEED = 20240226
MAX_HEAVY = 20
N_MOLECULES = 300
N_CONFS = 2
N_RATTLE = 5
SIGMAS = (0.03, 0.05, 0.07, 0.1, 0.1)  # Å, one per rattle
CHECK_EVERY = 25
FD_STEP = 1e-4  # Å
SPLIT = (0.8, 0.1)  # train, val; the rest is test

RDLogger.DisableLog("rdApp.*")


def eligible(rows):
    out = []
    for i, row in enumerate(rows):
        smi = row["smiles"].strip()
        if "." in smi:
            continue
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            continue
        heavy = mol.GetNumHeavyAtoms()
        if heavy < 2 or heavy > MAX_HEAVY:
            continue
        molh = Chem.AddHs(mol)
        if not AllChem.MMFFHasAllMoleculeParams(molh):
            continue
        out.append((i, row["Compound ID"], smi, molh))
    return out


def force_field(molh, conf_id):
    props = AllChem.MMFFGetMoleculeProperties(molh)  # MMFF94 (not MMFF94s)
    ff = AllChem.MMFFGetMoleculeForceField(molh, props, confId=conf_id)
    if ff is None:
        raise RuntimeError("no MMFF force field")
    return ff


def label(ff, xyz):
    flat = [float(v) for v in xyz.reshape(-1)]
    e = ff.CalcEnergy(flat)
    g = np.array(ff.CalcGrad(flat)).reshape(-1, 3)
    return e, -g


def fd_check(ff, xyz, forces, where):
    flat = xyz.reshape(-1).astype(float)
    fd = np.empty_like(flat)
    for k in range(flat.size):
        p = flat.copy()
        p[k] += FD_STEP
        ep = ff.CalcEnergy(list(p))
        p[k] -= 2 * FD_STEP
        em = ff.CalcEnergy(list(p))
        fd[k] = -(ep - em) / (2 * FD_STEP)
    err = np.abs(fd - forces.reshape(-1)).max()
    scale = max(1.0, np.abs(forces).max())
    if err > 1e-3 * scale:
        sys.exit(f"{where}: forces differ from -dE/dx by finite differences: max |diff| {err:.3g}")
    return err


def main():
    with open("esol-delaney-processed.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    cands = eligible(rows)
    rng = np.random.default_rng(SEED)
    pick = sorted(rng.choice(len(cands), size=N_MOLECULES, replace=False))
    chosen = [cands[k] for k in pick]
    order = rng.permutation(N_MOLECULES)
    n_train = round(SPLIT[0] * N_MOLECULES)
    n_val = round(SPLIT[1] * N_MOLECULES)
    split = {}
    for rank, m in enumerate(order):
        split[m] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"

    out = io.StringIO()
    mol_rows = []
    fixtures = []
    frame = 0
    fd_max = 0.0
    n_checked = 0
    for m, (row, name, smi, molh) in enumerate(chosen):
        params = AllChem.ETKDGv3()
        params.randomSeed = SEED + row
        params.numThreads = 1
        cids = list(AllChem.EmbedMultipleConfs(molh, numConfs=N_CONFS, params=params))
        if len(cids) != N_CONFS:
            sys.exit(f"ESOL row {row} {smi}: embedded {len(cids)} of {N_CONFS} conformers")
        res = AllChem.MMFFOptimizeMoleculeConfs(molh, numThreads=1, maxIters=10000)
        species = [a.GetSymbol() for a in molh.GetAtoms()]
        nat = len(species)
        for c, cid in enumerate(cids):
            not_conv, e_opt = res[c]
            if not_conv:
                sys.exit(f"ESOL row {row} {smi}: conformer {c} did not converge")
            ff = force_field(molh, cid)
            x0 = np.array(molh.GetConformer(cid).GetPositions())
            for r in range(N_RATTLE):
                sigma = SIGMAS[r]
                xyz = np.round(x0 + rng.normal(0.0, sigma, size=x0.shape), 5)
                xyz[xyz == 0] = 0.0  # no "-0.00000"
                e, forces = label(ff, xyz)
                if frame % CHECK_EVERY == 0:
                    fd_max = max(fd_max, fd_check(ff, xyz, forces, f"frame {frame}"))
                    n_checked += 1
                out.write(f"{nat}\n")
                out.write(
                    "Properties=species:S:1:pos:R:3:forces:R:3 "
                    f'energy={e:.6f} pbc="F F F" mol={m} conf={c} rattle={r} '
                    f"sigma={sigma:g} e_opt={e_opt:.6f} split={split[m]}\n"
                )
                for s, p, fv in zip(species, xyz, forces):
                    out.write(
                        f"{s} {p[0]:.5f} {p[1]:.5f} {p[2]:.5f} "
                        f"{fv[0]:.4f} {fv[1]:.4f} {fv[2]:.4f}\n"
                    )
                if frame in (0, 1, 1500) or (m == N_MOLECULES - 1 and c == N_CONFS - 1 and r == N_RATTLE - 1):
                    fixtures.append({
                        "frame": frame, "mol": m, "atoms": nat, "energy": e,
                        "species0": species[0], "pos0": [float(v) for v in xyz[0]],
                        "forces0": [float(v) for v in forces[0]],
                        "force_sum": [float(v) for v in forces.sum(axis=0)],
                    })
                frame += 1
        mol_rows.append([m, row, name, smi, molh.GetNumHeavyAtoms(), nat, N_CONFS * N_RATTLE, split[m]])

    with gzip.GzipFile("mmff.xyz.gz", "wb", mtime=0) as f:
        f.write(out.getvalue().encode())
    with open("mmff-molecules.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["mol", "esol_row", "compound", "smiles", "heavy_atoms", "atoms", "frames", "split"])
        w.writerows(mol_rows)
    with open("testdata/mmff-frames.json", "w") as f:
        json.dump({"frames": frame, "molecules": N_MOLECULES, "checks": fixtures}, f, indent=1)
        f.write("\n")
    counts = {s: sum(1 for v in split.values() if v == s) for s in ("train", "val", "test")}
    atoms = sum(r[5] for r in mol_rows) * N_CONFS * N_RATTLE
    print(f"rdkit {rdkit.__version__}, numpy {np.__version__}")
    print(f"{len(cands)} eligible ESOL molecules; {N_MOLECULES} drawn: {counts}")
    print(f"{frame} frames, {atoms} atom rows")
    print(f"force check on {n_checked} frames: max |F + dE/dx| = {fd_max:.2e} kcal/mol/Å")
    for fx in fixtures:
        print(f"frame {fx['frame']}: mol {fx['mol']}, {fx['atoms']} atoms, energy {fx['energy']:.6f} kcal/mol")


if __name__ == "__main__":
    main()
