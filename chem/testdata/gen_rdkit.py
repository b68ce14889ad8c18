#!/usr/bin/python3
"""Writes the RDKit reference fixtures of package chem.

    cd chem/testdata && /usr/bin/python3 gen_rdkit.py

Run it with Debian's python3-rdkit (2022.09.3) and rdkit-data under
/usr/bin/python3 (the `python3` on PATH may be another interpreter without
RDKit). It writes:

rdkit_smiles.json
    For every SMILES of
      - ESOL (../../data/molecules/esol-delaney-processed.csv, 1,128 molecules,
        aromatic lower-case SMILES),
      - the first NCI_COUNT lines of RDKit's bundled NCI set
        (/usr/share/RDKit/Data/NCI/first_5K.smi, Kekulé upper-case SMILES
        with salts and charges),
      - the hand-written EDGE_CASES below,
    RDKit's reading of it with Chem.MolFromSmiles (default sanitisation,
    removeHs=False so that written [H] atoms stay atoms and indices match the
    SMILES): atom and bond counts, per-atom formal charge, total H
    (GetTotalNumHs(includeNeighbors=True)), aromatic flag, ring membership and
    hybridisation, and per-bond atom pair, type, aromatic flag, ring
    membership and conjugation. SMILES that RDKit rejects are listed with
    "rejected": true.

rdkit_sdf/esol3d.sdf, rdkit_sdf/esol2d.sdf and rdkit_sdf.json
    SDF_COUNT ESOL molecules (a spread of sizes plus four nitro compounds)
    written by Chem.SDWriter: 3-D with explicit
    hydrogens from ETKDGv3 (randomSeed SEED, one thread), and 2-D without
    hydrogens (Compute2DCoords); plus, per record, RDKit's own reading of the
    file back (SDMolSupplier, removeHs=False): elements, charges, coordinates,
    bonds, total H, aromatic flags and data items.

Output is deterministic; JSON is compact (no spaces) to stay small.
"""

import csv
import json
import os

from rdkit import Chem, rdBase
from rdkit.Chem import AllChem

rdBase.DisableLog("rdApp.*")

HERE = os.path.dirname(os.path.abspath(__file__))
ESOL = os.path.join(HERE, "..", "..", "data", "molecules", "esol-delaney-processed.csv")
NCI = "/usr/share/RDKit/Data/NCI/first_5K.smi"
NCI_COUNT = 1000
SDF_COUNT = 20
SEED = 0xF00D

EDGE_CASES = [
    # aromatic heterocycles, pyrrole-type N, Kekulé and aromatic forms
    "[nH]1cccc1", "c1cc[nH]c1", "C1=CC=CN1", "N1C=CC=C1", "c1ccccc1", "C1=CC=CC=C1",
    "n1ccccc1", "o1cccc1", "s1cccc1", "[se]1cccc1", "c1c[nH]cn1", "c1ncc2[nH]cnc2n1",
    "c1ccc2[nH]ccc2c1", "c1ccc2c(c1)[nH]c1ccccc12", "O=c1cccc[nH]1", "Oc1ccccn1",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "c1cc[o+]cc1", "c1cc[nH+]cc1", "C[n+]1ccccc1",
    "[O-][n+]1ccccc1", "O=n1ccccc1", "O=s1cccc1", "c1ccc2c(c1)oc1ccccc12",
    "c1cc2cc3ccc(cc4ccc(cc5ccc(cc1n2)[nH]5)n4)[nH]3",
    # fused and non-aromatic rings
    "c1ccc2ccccc2c1", "C1=CC=C2C=CC=CC2=C1", "c1ccc2c(c1)ccc1ccccc12", "c1ccc2cccc2cc1",
    "C1=CC=C2C=CC=C2C=C1", "c1cc2cccc3c4cccc5cccc(c(c1)c23)c54", "c1ccc2c(c1)-c1ccccc1-2",
    "c1ccc-2c(c1)-c1ccccc1C2", "C1=CC=CC=CC=C1", "O=C1C=CC(=O)C=C1", "[CH+]1C=CC=CC=C1",
    "[CH-]1C=CC=C1", "C1=CC=CC1", "C1CC1", "C12C3C4C1C5C2C3C45", "C1CC2CCC1CC2",
    "c1ccc(cc1)-c1ccccc1", "c1ccccc1c1ccccc1", "C1CCCCC1.c1ccccc1", "B1=CC=CC=C1",
    "c1ccc2c(c1)c1ccccc1[nH]2", "C1=Cc2ccccc2C1", "c1ccc2c(c1)C=CC=C2",
    # ring closures: %nn, reuse, bond orders on closures
    "C%10CCCCC%10", "C%10CC%11CCCC%11CC%10", "C1CC2CC1CC2", "C=1CCCCC=1", "C1CCCCC=1",
    "c1cc2ccc3cccc4ccc(c1)c2c34", "C%(123)CC%(123)", "C1CC1C1CC1",
    # charges, cleanup, salts
    "[Na+].[Cl-]", "[NH4+].[Cl-]", "CC(=O)[O-].[Na+]", "C[N+](C)(C)C", "[O-][N+](=O)c1ccccc1",
    "CN(=O)=O", "O=[N+]([O-])C", "OP(=O)(O)O", "[O-]Cl(=O)(=O)=O", "OCl(=O)(=O)=O",
    "CS(=O)(=O)C", "CS(C)=O", "C#N", "[C-]#[O+]", "CN=[N+]=[N-]", "CN=N#N", "[N-]=[N+]=N",
    "Cc1ccc(cc1)S(=O)(=O)[O-].[Na+]", "C(=O)O.C(=O)O", "[Ca+2].[O-]C(=O)C.[O-]C(=O)C",
    "[Mg++].[Cl-].[Cl-]", "[Fe+2]", "[Cu]", "[OH-]", "[H+]", "[Cl-]", "[S-2]", "[NH3+]CC([O-])=O",
    "C[S+](C)C", "C[P+](C)(C)C", "CP(C)(C)=O", "C=P(C)(C)C", "CC(C)(C)[Si](C)(C)C",
    "P(c1ccccc1)(c1ccccc1)c1ccccc1", "[BH4-]", "B(O)(O)c1ccccc1", "F[B-](F)(F)F",
    # radicals and hydrogens as atoms
    "[CH3]", "[CH2]", "[O]", "[H]C([H])([H])[H]", "[H][H]", "[2H]C([2H])([2H])[2H]",
    "[13CH4]", "[2H]c1ccccc1", "[15nH]1cccc1", "[c]1ccccc1",
    # stereo marks and chirality
    "F/C=C/F", "F/C=C\\F", "C/C=C/C=C/C", "N[C@@H](C)C(=O)O", "N[C@H](C)C(=O)O",
    "CC[C@@](C)(O)Cl", "O[C@H]1CC[C@@H](O)CC1", "[C@@H]1(O)CCCC1", "C/C=C1/CCCC1",
    "F/C=C/1.Br1", "C[C@@H]1CC[C@H](C)CC1", "OC[C@@H](O)[C@@H](O)[C@H](O)[C@H](O)C=O",
    # atom classes and odd but valid syntax
    "[Pt@SP1](Cl)(Cl)(N)N", "F[Fe@TB1](F)(F)(F)F", "F[S@OH1](F)(F)(F)(F)F",
    "[CH3:1][OH:2]", "C(C)(C)(C)C", "CC(C)(C)C(=O)O", "N(C)(C)C", "C=C=C", "C#CC#C",
    # harder aromatic systems: annulenes, fused polycycles, ions, wildcards
    "c1ccc2c(c1)c1cccc3cccc2c31", "c1cc2ccc3ccc4ccc5ccc6ccc1c1c2c3c4c5c61",
    "[cH-]1cccc1.[Fe+2].[cH-]1cccc1", "c1ccc2c(c1)[se]c1ccccc12", "[te]1cccc1", "c1cc[as]cc1",
    "B1C=CC=C1", "c1ccbcc1", "O=c1ccc(=O)cc1", "O=c1cccccc1", "[n-]1cccc1", "[O-]c1ccccc1",
    "c1cc[cH-]c1", "c1ccc2ncccc2c1", "O=C1NC=CC2=C1C=CC=C2", "c1ccc2c(c1)C(=O)c1ccccc1C2=O",
    "C1=CC=C2CC(=C1)C=CC=C2", "*c1ccccc1", "c1cc*cc1", "*1ccccc1", "C1=C[CH+]1", "C1=CC=C1",
    "C1=CC2=CC=CC2=C1", "C1=Cc2cccc3cccc1c23", "C1=CC=CC=CC=CC=CC=CC=CC=C1",
    "C1=CC=CC=CC=CC=CC=CC=C1", "[O+]1=CC=CC=C1", "c1cc[s+]cc1", "O=c1c[n+](-c2ccccc2)[n-]o1",
    "Cn1c(=O)c2ccccc2c2ccccc21", "c1ccc2nc3ccccc3nc2c1", "s1c2ccccc2c2ccccc12",
    "c1cnc2[nH]ccc2c1", "C1=CC=C2C=CC=CC=C12", "c1ccc2c(c1)ccc1c2ccc2ccccc21",
    "C1=CC2=C3C(=C1)C=CC1=CC=CC(=C13)C=C2", "c1cc2c3c(cccc3c1)C=C2",
    "c1ccc2c(c1)cc1ccc3cccc4ccc2c1c34", "O=C1C=CC=CC1=O", "C1=CC(=O)C=CC1=C",
    "c1ccc2[nH]c(=O)ccc2c1", "O=c1[nH]c(=O)c2[nH]cnc2[nH]1", "Cc1nc2ccccc2o1",
    "c1ccc2c(c1)-c1cccc3cccc-2c13", "C1=CC=C2C(=C1)C=C1C=CC=CC1=C2", "c1ccc2cc3ccccc3cc2c1",
    "C1=CC=CC=C1C1=CC=CC=C1", "[nH]1cccc1-c1ccccn1", "c1ccc2c(c1)[nH]c1ccccc21",
    "O=S1(=O)C=CC=C1", "c1ccc2c(c1)sc1ccccc12", "C1=Cc2ccccc2C=C1", "N1=CC=CC=C1",
    "C1=NC=NC=N1", "O1C=CC=C1", "c1nc[n-]n1", "c1nnn[n-]1", "c1nn[nH]n1", "Cn1nnnc1",
    "[O-][n+]1cccc1", "C[n+]1ccn(C)c1", "c1cc2c(cc1)C=CC=C2", "C12=CC=CC=C1C=CC=C2",
    "C1=CC=CC2=C1C=CC=C2", "[H]c1ccccc1", "[H]n1cccc1", "c1cc[nH]c1[H]",
    "C1=CC=C2C(=C1)C1=CC=CC=C21", "C1=CC2=CC=C1C=C2", "c1cc2ccc1cc2",
    "C1CC2=CC=C1CCC1=CC=C2C=C1", "c1cc2ccc1CCc1ccc(cc1)CC2",
    "[Cu+2].c1ccc2c(c1)-c1nc-2nc2[n-]c(nc3nc(nc4[n-]c(n1)c1ccccc41)c1ccccc31)c1ccccc21",
    "c1ccc2c(c1)c1ccccc1c1ccccc21", "o1c2ccccc2c2ccccc12", "C1=CC=[N+]=C1", "N1C=CC2=CC=CC=C12",
    "C=C1C=CC(=C)C=C1", "C1=CC=C(C=C1)C1=CC=CC=C1", "[nH]1c(=O)[nH]c(=O)cc1",
    "O=c1cc[nH]c(=O)[nH]1", "c1ccc2c(c1)C1=CC=CC=C21", "c1ccc2c(c1)C=Cc1ccccc1-2",
    "N=c1cccc[nH]1", "S=c1cccc[nH]1", "C=c1cccc[nH]1", "Oc1cccc2ccccc12",
    "O=C1C=CC(=O)c2ccccc21", "c1ccc2[se]ccc2c1", "O=[N+]([O-])c1ccc2ncccc2c1",
    "C1=C2C=CC3=CC=CC4=C3C2=C(C=C4)C=C1", "c1ccc2c(c1)c1cccc3c1c2ccc3",
    "C1=CC=C2C=C3C=CC=CC3=CC2=C1", "c12c3c4c5c1c1c2c2c3c3c4c4c5c1c1c2c3c41", "C1=C2C=CC=C2C=C1",
    "c1cc2cccc2c1", "[CH2-]c1ccccc1", "[CH2+]c1ccccc1", "C=Cc1ccccc1",
    "c1cc2ccc3cc4ccc5ccc1c1c2c3c4c51",
    # molecules RDKit rejects (valence, kekulisation)
    "C(C)(C)(C)(C)C", "[NH4]", "c1cccc1", "c1ccccc1c", "n1cccc1", "O(C)(C)C",
]


def bond_char(b):
    t = b.GetBondType()
    return {Chem.BondType.SINGLE: "1", Chem.BondType.DOUBLE: "2", Chem.BondType.TRIPLE: "3",
            Chem.BondType.QUADRUPLE: "4", Chem.BondType.AROMATIC: "a"}.get(t, "?")


HYB = {
    Chem.HybridizationType.UNSPECIFIED: "0", Chem.HybridizationType.S: "1",
    Chem.HybridizationType.SP: "2", Chem.HybridizationType.SP2: "3",
    Chem.HybridizationType.SP3: "4", Chem.HybridizationType.SP3D: "5",
    Chem.HybridizationType.SP3D2: "6", Chem.HybridizationType.SP2D: "7",
}


def digits(vals):
    """One character per value when all are 0..9, else a list."""
    if all(0 <= v <= 9 for v in vals):
        return "".join(str(v) for v in vals)
    return list(vals)


def describe(smi, source):
    ps = Chem.SmilesParserParams()
    ps.removeHs = False
    mol = Chem.MolFromSmiles(smi, ps)
    rec = {"smiles": smi, "source": source}
    if mol is None:
        rec["rejected"] = True
        return rec
    atoms = list(mol.GetAtoms())
    bonds = list(mol.GetBonds())
    rec["atoms"] = len(atoms)
    rec["heavy"] = mol.GetNumHeavyAtoms()
    rec["bonds"] = len(bonds)
    charges = {str(a.GetIdx()): a.GetFormalCharge() for a in atoms if a.GetFormalCharge()}
    if charges:
        rec["charges"] = charges
    rec["h"] = digits([a.GetTotalNumHs(includeNeighbors=True) for a in atoms])
    rec["arom"] = "".join("1" if a.GetIsAromatic() else "0" for a in atoms)
    rec["ring"] = "".join("1" if a.IsInRing() else "0" for a in atoms)
    rec["hyb"] = "".join(HYB.get(a.GetHybridization(), "0") for a in atoms)
    pairs = []
    for b in bonds:
        pairs += [b.GetBeginAtomIdx(), b.GetEndAtomIdx()]
    rec["pairs"] = pairs
    rec["btype"] = "".join(bond_char(b) for b in bonds)
    rec["barom"] = "".join("1" if b.GetIsAromatic() else "0" for b in bonds)
    rec["bring"] = "".join("1" if b.IsInRing() else "0" for b in bonds)
    rec["bconj"] = "".join("1" if b.GetIsConjugated() else "0" for b in bonds)
    return rec


def esol_rows():
    with open(ESOL, newline="") as f:
        return list(csv.DictReader(f))


def smiles_fixtures():
    out = []
    for row in esol_rows():
        out.append(describe(row["smiles"].strip(), "esol"))
    with open(NCI) as f:
        for k, line in enumerate(f):
            if k >= NCI_COUNT:
                break
            out.append(describe(line.split()[0], "nci"))
    for smi in EDGE_CASES:
        out.append(describe(smi, "edge"))
    return out


def read_back(path):
    recs = []
    for mol in Chem.SDMolSupplier(path, removeHs=False):
        atoms = list(mol.GetAtoms())
        pos = mol.GetConformer().GetPositions()
        rec = {
            "name": mol.GetProp("_Name"),
            "elements": [a.GetSymbol() for a in atoms],
            "charges": [a.GetFormalCharge() for a in atoms],
            "coords": [[round(float(x), 4) for x in p] for p in pos],
            "pairs": [[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()],
            "btype": "".join(bond_char(b) for b in mol.GetBonds()),
            "h": [a.GetTotalNumHs(includeNeighbors=False) for a in atoms],
            "arom": "".join("1" if a.GetIsAromatic() else "0" for a in atoms),
            "props": {k: mol.GetProp(k) for k in mol.GetPropNames()},
        }
        recs.append(rec)
    return recs


def sdf_fixtures():
    rows = esol_rows()
    # Every 60th ESOL molecule gives a spread of sizes and rings; the first
    # four nitro compounds give M  CHG lines (RDKit writes [N+](=O)[O-]).
    charged = [r for r in rows if "N(=O)=O" in r["smiles"] or "+" in r["smiles"]][:4]
    spread = [r for k, r in enumerate(rows) if k % 60 == 7 and r not in charged]
    picked = (spread[:SDF_COUNT - len(charged)] + charged)
    os.makedirs(os.path.join(HERE, "rdkit_sdf"), exist_ok=True)
    p3 = os.path.join(HERE, "rdkit_sdf", "esol3d.sdf")
    p2 = os.path.join(HERE, "rdkit_sdf", "esol2d.sdf")
    w3, w2 = Chem.SDWriter(p3), Chem.SDWriter(p2)
    for r in picked:
        mol = Chem.MolFromSmiles(r["smiles"].strip())
        mol.SetProp("_Name", r["Compound ID"])
        mol.SetProp("measured log solubility", r["measured log solubility in mols per litre"])
        mol.SetProp("smiles", r["smiles"].strip())
        m2 = Chem.Mol(mol)
        AllChem.Compute2DCoords(m2)
        w2.write(m2)
        mh = Chem.AddHs(mol)
        params = AllChem.ETKDGv3()
        params.randomSeed = SEED
        params.numThreads = 1
        if AllChem.EmbedMolecule(mh, params) != 0:
            raise SystemExit("embedding failed for " + r["smiles"])
        w3.write(mh)
    w3.close()
    w2.close()
    return {"esol3d.sdf": read_back(p3), "esol2d.sdf": read_back(p2)}


def main():
    fx = smiles_fixtures()
    with open(os.path.join(HERE, "rdkit_smiles.json"), "w") as f:
        json.dump({"rdkit": rdBase.rdkitVersion, "molecules": fx}, f, separators=(",", ":"))
        f.write("\n")
    sd = sdf_fixtures()
    with open(os.path.join(HERE, "rdkit_sdf.json"), "w") as f:
        json.dump({"rdkit": rdBase.rdkitVersion, "files": sd}, f, separators=(",", ":"))
        f.write("\n")
    n_rej = sum(1 for r in fx if r.get("rejected"))
    print(f"{len(fx)} SMILES ({n_rej} rejected by RDKit), "
          f"{sum(len(v) for v in sd.values())} SD records")


if __name__ == "__main__":
    main()
