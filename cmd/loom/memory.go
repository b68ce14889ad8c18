package main

import (
	"fmt"
	"io"

	"github.com/loomml/loom/models/memory/bank"
)

// Hierarchical memories (arXiv 2510.02375): the memory bank's store.

func init() {
	register("memory", "Memory banks of hierarchical memories (arXiv 2510.02375; `loom repro hier-memory`): `loom memory verify --bank DIR` checks a bank's shards against its manifest (presence, sizes, SHA-256 checksums).", withSubcommands("memory", memoryUsage, map[string]command{"verify": memoryVerify}))
}

const memoryUsage = `usage: loom memory verify --bank DIR    check a memory bank's shards against manifest.json`

func memoryVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("memory verify", "--bank DIR", stderr)
	dir := fs.String("bank", "", "the bank's directory: manifest.json and the shard files it lists (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("--bank: required (a memory bank directory)")
	}
	b, err := bank.Open(*dir)
	if err != nil {
		return fmt.Errorf("--bank: %w", err)
	}
	m := b.Manifest()
	verr := b.Verify()
	if err := b.Close(); err != nil && verr == nil {
		verr = err
	}
	if verr != nil {
		return fmt.Errorf("--bank: %w", verr)
	}
	fmt.Fprintf(stdout, "%s: %d blocks of %d parameters (with AdamW moments, %d bytes each) in %d shard(s), %d bytes; every shard matches its checksum\n",
		*dir, m.Blocks, m.BlockFloats, m.RecordBytes(), len(m.Shards), m.Bytes())
	return nil
}
