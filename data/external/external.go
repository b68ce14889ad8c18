// Package external finds the data sets loom uses but does not ship: files
// that came from other public repositories and may not be committed to
// loom's (the project's shared data directory holds them, or the user puts
// them where LOOM_DATA points). Each set is a directory of named files.
//
//	dir, err := external.Find(external.Set{Name: "ucr", Files: []string{"GunPoint_TRAIN.ts"}, Origin: "…"})
package external

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Set describes an external data set.
type Set struct {
	Name   string   // directory name under each search root
	Files  []string // files that must all be present
	Origin string   // where the files come from, for the error message
}

// Env is the environment variable listing directories to search first
// (separated as PATH is), each holding sets as subdirectories.
const Env = "LOOM_DATA"

// Roots returns the directories searched, in order: those of $LOOM_DATA,
// then shared/data in the working directory's parent and grandparent (the
// project's shared data beside a checkout, as ../shared/data).
func Roots() []string {
	var roots []string
	for _, d := range filepath.SplitList(os.Getenv(Env)) {
		if d != "" {
			roots = append(roots, d)
		}
	}
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, filepath.Join(wd, "..", "shared", "data"), filepath.Join(wd, "..", "..", "shared", "data"))
	}
	return roots
}

// Find returns the first root's directory for s that holds all its files,
// or an error saying what is missing, where it was looked for and where
// the files come from.
func Find(s Set) (string, error) {
	roots := Roots()
	for _, r := range roots {
		dir := filepath.Join(r, s.Name)
		ok := true
		for _, f := range s.Files {
			if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.IsDir() {
				ok = false
				break
			}
		}
		if ok {
			return dir, nil
		}
	}
	looked := make([]string, len(roots))
	for i, r := range roots {
		looked[i] = filepath.Join(r, s.Name)
	}
	return "", fmt.Errorf("data set %q is not shipped with loom: put %s in a directory %s under $%s (looked in %s); the files come from %s",
		s.Name, strings.Join(s.Files, ", "), s.Name, Env, strings.Join(looked, ", "), s.Origin)
}
