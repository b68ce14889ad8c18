package labeled

import (
	"cmp"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/tensor"
)

// Set is a classification data set: Items[i] has the class
// Classes[Labels[i]].
type Set struct {
	// Items are the texts (from a CSV file) or the paths of WAV files
	// (from class folders).
	Items []string
	// Labels index Classes, one per item.
	Labels []int
	// Classes are the class names, sorted (numerically when every name is
	// an integer).
	Classes []string
	// Source is the file or directory the set was read from.
	Source string
}

// Counts returns the number of items of each class, indexed like Classes.
func (s *Set) Counts() []int {
	n := make([]int, len(s.Classes))
	for _, l := range s.Labels {
		if l >= 0 && l < len(n) {
			n[l]++
		}
	}
	return n
}

// Split holds out about frac of the items of every class (stratified):
// round(frac·n) of a class of n items, but at least one when frac > 0 and
// the class has two or more, and never all of them, so every class keeps
// an item to train on. Which items are held out is drawn from a
// tensor.RNG seeded with seed, so the same set, fraction and seed always
// give the same split. Both sets keep the items' order and the full class
// list. A frac that is NaN or ≤ 0 holds out nothing; one ≥ 1 holds out all
// but one item of each class.
func (s *Set) Split(frac float64, seed uint64) (train, held *Set) {
	train = &Set{Classes: slices.Clone(s.Classes), Source: s.Source}
	held = &Set{Classes: slices.Clone(s.Classes), Source: s.Source}
	byClass := make([][]int, len(s.Classes))
	for i, l := range s.Labels {
		if l >= 0 && l < len(byClass) {
			byClass[l] = append(byClass[l], i)
		}
	}
	out := make([]bool, len(s.Items))
	rng := tensor.NewRNG(seed)
	for _, idx := range byClass {
		n := len(idx)
		k := 0
		if frac > 0 { // false for NaN
			k = int(math.Round(math.Min(frac, 1) * float64(n)))
			if k == 0 && n >= 2 {
				k = 1
			}
			k = min(k, n-1)
		}
		if k <= 0 {
			continue
		}
		for _, j := range rng.Perm(n)[:k] {
			out[idx[j]] = true
		}
	}
	for i := range s.Items {
		dst := train
		if out[i] {
			dst = held
		}
		dst.Items = append(dst.Items, s.Items[i])
		dst.Labels = append(dst.Labels, s.Labels[i])
	}
	return train, held
}

// Read reads a classification set from path: a directory of class folders
// ([ReadFolders]) or a .csv or .csv.gz file ([ReadCSV]).
func Read(path string) (*Set, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return ReadFolders(path)
	}
	if isCSV(path) {
		return ReadCSV(path)
	}
	return nil, fmt.Errorf("%s: neither a directory nor a .csv or .csv.gz file; expected a CSV file with text and label columns, or a directory with one sub-directory of .wav files per class", path)
}

func isCSV(path string) bool {
	p := strings.ToLower(path)
	return strings.HasSuffix(p, ".csv") || strings.HasSuffix(p, ".csv.gz")
}

// ReadCSV reads a CSV file with a header row naming a "text" and a "label"
// column (matched ignoring case and surrounding spaces; other columns are
// ignored). A path ending in .gz is decompressed with gzip. Errors name
// the file, and the line for a bad row (see [DecodeCSV]).
func ReadCSV(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.EqualFold(filepath.Ext(path), ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: not gzip data (the name ends in .gz): %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return DecodeCSV(r, path)
}

// maxErrors is how many bad rows DecodeCSV lists before giving up.
const maxErrors = 10

// DecodeCSV reads a CSV set from r as [ReadCSV] does; name labels errors
// and becomes the set's Source. Every bad row is reported with its line
// (up to 10 of them): a row with more or fewer fields than the header, an
// empty label or an empty text. Labels are trimmed of surrounding spaces;
// texts are kept as they are. There must be at least two classes.
func DecodeCSV(r io.Reader, name string) (*Set, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file; expected a header row with text and label columns", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	textCol, labelCol := -1, -1
	cols := make([]string, len(head))
	for i, h := range head {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		}
		cols[i] = h
		for _, c := range []struct {
			name string
			col  *int
		}{{"text", &textCol}, {"label", &labelCol}} {
			if !strings.EqualFold(h, c.name) {
				continue
			}
			if *c.col >= 0 {
				return nil, fmt.Errorf("%s: line 1: two %q columns (%d and %d); expected one text and one label column", name, c.name, *c.col+1, i+1)
			}
			*c.col = i
		}
	}
	for _, c := range []struct {
		name string
		col  int
	}{{"label", labelCol}, {"text", textCol}} {
		if c.col < 0 {
			return nil, fmt.Errorf("%s: no %q column in the header (columns: %s); expected a header with text and label", name, c.name, strings.Join(cols, ", "))
		}
	}

	var errs []string
	bad := func(format string, a ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Sprintf(format, a...))
		}
	}
	var texts, labels []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad("line %d: %v", pe.StartLine, pe.Err)
				if len(errs) == maxErrors {
					break
				}
				continue
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(head) {
			bad("line %d: %d field%s, the header has %d", line, len(rec), plural(len(rec)), len(head))
			continue
		}
		label := strings.TrimSpace(rec[labelCol])
		switch {
		case label == "":
			bad("line %d: empty label", line)
		case rec[textCol] == "":
			bad("line %d: empty text", line)
		default:
			texts = append(texts, rec[textCol])
			labels = append(labels, label)
		}
	}
	if len(errs) > 0 {
		more := ""
		if len(errs) == maxErrors {
			more = fmt.Sprintf(" (first %d shown)", maxErrors)
		}
		return nil, fmt.Errorf("%s: bad rows%s:\n  %s", name, more, strings.Join(errs, "\n  "))
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header; expected rows of text and label", name)
	}
	s := &Set{Items: texts, Source: name}
	if err := s.label(labels); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// label sets Classes and Labels from one class name per item.
func (s *Set) label(names []string) error {
	index := map[string]int{}
	for _, n := range names {
		if _, ok := index[n]; !ok {
			index[n] = 0
			s.Classes = append(s.Classes, n)
		}
	}
	if len(s.Classes) < 2 {
		return fmt.Errorf("%d class (%s); expected at least two", len(s.Classes), strings.Join(s.Classes, ", "))
	}
	sortClasses(s.Classes)
	for i, c := range s.Classes {
		index[c] = i
	}
	s.Labels = make([]int, len(names))
	for i, n := range names {
		s.Labels[i] = index[n]
	}
	return nil
}

// sortClasses sorts class names: by integer value when all are integers
// (then by spelling, so "01" and "1" stay distinct), else as strings.
func sortClasses(c []string) {
	vals := make(map[string]int64, len(c))
	for _, s := range c {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			slices.Sort(c)
			return
		}
		vals[s] = v
	}
	slices.SortFunc(c, func(a, b string) int { return cmp.Or(cmp.Compare(vals[a], vals[b]), strings.Compare(a, b)) })
}

// ReadFolders lists a directory whose sub-directories are the classes,
// each holding .wav files (the extension in any case). Items are the WAV
// paths (dir joined with the class and file name), in class order and by
// file name within a class. Sub-directories of a class folder, other files
// in it and files directly in dir are ignored, and so are sub-directories
// whose name starts with a dot (.git, .ipynb_checkpoints). A class folder
// without WAV files, or fewer than two class folders, is an error.
func ReadFolders(dir string) (*Set, error) {
	const want = "expected a directory with one sub-directory of .wav files per class"
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory; %s", dir, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var classes []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !isDir(dir, e) {
			continue
		}
		classes = append(classes, e.Name())
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("%s: no sub-directories; %s", dir, want)
	}
	if len(classes) < 2 {
		return nil, fmt.Errorf("%s: 1 class folder (%s); expected at least two", dir, classes[0])
	}
	sortClasses(classes)
	s := &Set{Classes: classes, Source: dir}
	for label, c := range classes {
		cdir := filepath.Join(dir, c)
		files, err := os.ReadDir(cdir)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, f := range files {
			if !strings.EqualFold(filepath.Ext(f.Name()), ".wav") || isDir(cdir, f) {
				continue
			}
			s.Items = append(s.Items, filepath.Join(cdir, f.Name()))
			s.Labels = append(s.Labels, label)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: class folder without .wav files; %s", cdir, want)
		}
	}
	return s, nil
}

// isDir reports whether the entry e of dir is a directory, following a
// symbolic link.
func isDir(dir string, e os.DirEntry) bool {
	if e.Type()&os.ModeSymlink == 0 {
		return e.IsDir()
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}
