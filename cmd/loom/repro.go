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
	register("repro", "Run a reproduction of a paper's claim and write docs/results/NAME.md (loom repro --list); --quick for a shortened run, --data FILE for the same protocol on your own text.", runRepro)
}

// dataUsage describes --data: which reproductions take it and how long the
// text must be.
func dataUsage() string {
	var names []string
	for _, e := range repro.List() {
		if e.Text {
			names = append(names, e.Name)
		}
	}
	n, why := repro.MinCorpus()
	return fmt.Sprintf("train on this text file instead of the embedded tinyshakespeare, with the same protocol; the page names the corpus (%s; at least %d bytes: %s)", strings.Join(names, ", "), n, why)
}

func runRepro(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("repro", "--list | NAME [--quick] [--data FILE] [--seeds N] [--docs DIR] [--work DIR] [--threads N]", stderr)
	list := fs.Bool("list", false, "list the reproductions")
	quick := fs.Bool("quick", false, "a shortened run, minutes on 2 cores (marked as such in the report)")
	dataFile := fs.String("data", "", dataUsage())
	seeds := intFlag(fs, "seeds", 0, "number of seeds", atLeast(1), sp{0, "the entry's default"})
	docs := fs.String("docs", filepath.Join("docs", "results"), "where the report goes")
	work := fs.String("work", filepath.Join("runs", "repro"), "scratch directory for the runs")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
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
	if err := setThreads(*threads); err != nil {
		return err
	}
	var corpus *repro.Corpus
	if *dataFile != "" {
		e, err := repro.Lookup(name)
		if err != nil {
			return err
		}
		if err := e.TakesData(); err != nil {
			return err
		}
		if corpus, err = repro.ReadCorpus(*dataFile); err != nil {
			return err
		}
	}
	path, err := repro.Run(name, &repro.Context{Quick: *quick, Seeds: *seeds, WorkDir: filepath.Join(*work, name),
		DocsDir: *docs, Progress: stderr, Command: "loom " + strings.Join(os.Args[1:], " "), Data: corpus})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "wrote", path)
	return nil
}
