package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/repro"
)

func init() {
	register("repro", "Run a reproduction of a paper's claim and write docs/results/NAME.md (loom repro --list).", runRepro)
}

func runRepro(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("repro", "--list | NAME [--quick] [--seeds N] [--docs DIR] [--work DIR] [--threads N]", stderr)
	list := fs.Bool("list", false, "list the reproductions")
	quick := fs.Bool("quick", false, "a shortened run (marked as such in the report)")
	seeds := fs.Int("seeds", 0, "number of seeds (0: the entry's default)")
	docs := fs.String("docs", filepath.Join("docs", "results"), "where the report goes")
	work := fs.String("work", filepath.Join("runs", "repro"), "scratch directory for the runs")
	threads := fs.Int("threads", 0, "threads (0: all cores)")
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *list || name == "" {
		if name == "" && !*list {
			fmt.Fprintln(stderr, "loom repro: give a NAME or --list")
		}
		for _, e := range repro.List() {
			fmt.Fprintf(stdout, "%-14s %s\n", e.Name, e.Summary)
			if e.Paper != "" {
				fmt.Fprintf(stdout, "%-14s   %s\n", "", e.Paper)
			}
		}
		if name == "" && !*list {
			return errUsage
		}
		return nil
	}
	if *seeds < 0 {
		return fmt.Errorf("--seeds is %d, want a positive number", *seeds)
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	path, err := repro.Run(name, &repro.Context{Quick: *quick, Seeds: *seeds, WorkDir: filepath.Join(*work, name),
		DocsDir: *docs, Progress: stderr, Command: "loom " + strings.Join(os.Args[1:], " ")})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "wrote", path)
	return nil
}
