#!/usr/bin/python3
"""Bemis–Murcko scaffolds of the ESOL molecules by RDKit, the oracle of
molgraph's scaffold_test.go.

For every row of data/molecules/esol-delaney-processed.csv (SMILES in the
last column) it writes RDKit's MurckoScaffoldSmiles and the scaffold's
heavy-atom count to scaffolds.json, in row order.

Run: /usr/bin/python3 molgraph/testdata/gen_scaffolds.py   (Debian python3-rdkit)
"""
import csv, json, os
from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "..", "..", "data", "molecules", "esol-delaney-processed.csv")

rows = []
with open(CSV, newline="") as f:
    r = csv.reader(f)
    next(r)
    for row in r:
        smi = row[-1].strip()
        mol = Chem.MolFromSmiles(smi)
        sc = MurckoScaffold.GetScaffoldForMol(mol)
        rows.append({"smiles": smi, "scaffold": Chem.MolToSmiles(sc), "atoms": sc.GetNumAtoms()})
out = {"rdkit": rdBase.rdkitVersion, "source": "data/molecules/esol-delaney-processed.csv", "molecules": rows}
with open(os.path.join(HERE, "scaffolds.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(len(rows), "molecules,", len({r["scaffold"] for r in rows}), "scaffolds")
