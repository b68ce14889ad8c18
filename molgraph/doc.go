// Package molgraph is molecular property prediction with the graph models
// of models/graph: it reads a CSV of SMILES and targets (every molecule
// parsed by package chem, errors naming the row and column), splits it at
// random or by Bemis–Murcko scaffold (DeepChem's ScaffoldSplitter), trains
// a model through train.Loop with early stopping on the validation MAE,
// and evaluates, saves and loads it. `loom graph train|eval` is its CLI.
package molgraph
