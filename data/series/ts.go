package series

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/internal/fsutil"
)

// TSFile is a time-series classification (or regression) set in the .ts
// format of the UCR/UEA archives as sktime writes and reads it: a header
// of @-tags, then after @data one case per line, its dimensions separated
// by ':' and their values by ',', the class label (or regression target)
// last.
//
//	# comment
//	@problemName GunPoint
//	@timeStamps false
//	@missing false
//	@univariate true
//	@equalLength true
//	@seriesLength 150
//	@classLabel true 1 2
//	@data
//	-0.647,-0.642,…,-0.639:2
//
// Missing values (?, or NaN) read as NaN. With @timeStamps true a
// dimension is a list of (timestamp,value) pairs; the values are kept and
// the timestamps in Cases[i].Stamps.
type TSFile struct {
	Name         string // file name, for messages
	ProblemName  string
	TimeStamps   bool
	Missing      bool
	Univariate   bool
	Dimensions   int // @dimensions when given, else the cases' own count
	EqualLength  bool
	SeriesLength int // @seriesLength (0: not given)
	// ClassLabel says the cases end in a class label; Labels are the
	// declared classes in header order.
	ClassLabel bool
	Labels     []string
	// TargetLabel says the cases end in a numeric regression target.
	TargetLabel bool
	Cases       []TSCase
}

// TSCase is one labelled multivariate series.
type TSCase struct {
	Line   int         // 1-based line in the file
	Dims   [][]float64 // [dimension][time]; NaN where missing
	Stamps [][]string  // [dimension][time] timestamps (with @timeStamps true)
	Label  string      // the class label (ClassLabel)
	Target float64     // the regression target (TargetLabel)
}

// Len is the longest dimension's length.
func (c *TSCase) Len() int {
	n := 0
	for _, d := range c.Dims {
		n = max(n, len(d))
	}
	return n
}

// TSError is a .ts file that could not be read: where and why.
type TSError struct {
	File string
	Line int
	Msg  string
}

func (e *TSError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ReadTSFile reads a .ts file (gzipped when the name ends in .gz).
func ReadTSFile(path string) (*TSFile, error) {
	r, err := fsutil.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return ReadTS(r, filepath.Base(path))
}

// ReadTS parses a .ts stream; name labels errors, which give the line.
// The header is checked against the data: a case's dimension count
// against @dimensions/@univariate and the other cases, its lengths
// against @equalLength and @seriesLength, missing values against
// @missing, and its class label against @classLabel's list.
func ReadTS(r io.Reader, name string) (*TSFile, error) {
	t := &TSFile{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<26)
	line := 0
	errf := func(format string, a ...any) error { return &TSError{name, line, fmt.Sprintf(format, a...)} }
	seen := map[string]bool{}
	var declaredUni, declaredEqual, declaredMissing, declaredStamps *bool
	boolTag := func(tag, v string) (*bool, error) {
		switch strings.ToLower(v) {
		case "true":
			b := true
			return &b, nil
		case "false":
			b := false
			return &b, nil
		}
		return nil, errf("@%s %q: want true or false", tag, v)
	}
	inData := false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if !inData {
			if !strings.HasPrefix(text, "@") {
				return nil, errf("%q before @data: want a header tag such as @problemName", clip(text))
			}
			tag, rest, _ := strings.Cut(text[1:], " ")
			tag = strings.ToLower(tag)
			rest = strings.TrimSpace(rest)
			if seen[tag] {
				return nil, errf("@%s given twice", tag)
			}
			seen[tag] = true
			var err error
			switch tag {
			case "problemname":
				t.ProblemName = rest
			case "timestamps":
				declaredStamps, err = boolTag(tag, rest)
			case "missing":
				declaredMissing, err = boolTag(tag, rest)
			case "univariate":
				declaredUni, err = boolTag(tag, rest)
			case "equallength":
				declaredEqual, err = boolTag(tag, rest)
			case "serieslength":
				n, e := strconv.Atoi(rest)
				if e != nil || n < 1 {
					return nil, errf("@seriesLength %q: want a positive integer", rest)
				}
				t.SeriesLength = n
			case "dimensions":
				n, e := strconv.Atoi(rest)
				if e != nil || n < 1 {
					return nil, errf("@dimensions %q: want a positive integer", rest)
				}
				t.Dimensions = n
			case "classlabel":
				f := strings.Fields(rest)
				if len(f) == 0 {
					return nil, errf("@classLabel without a value: want true followed by the labels, or false")
				}
				b, e := boolTag(tag, f[0])
				if e != nil {
					return nil, e
				}
				t.ClassLabel = *b
				if t.ClassLabel && len(f) == 1 {
					return nil, errf("@classLabel true lists no labels")
				}
				if !t.ClassLabel && len(f) > 1 {
					return nil, errf("@classLabel false followed by labels")
				}
				t.Labels = f[1:]
				for i, l := range t.Labels {
					if slices.Contains(t.Labels[:i], l) {
						return nil, errf("@classLabel lists %q twice", l)
					}
				}
			case "targetlabel":
				b, e := boolTag(tag, rest)
				if e != nil {
					return nil, e
				}
				t.TargetLabel = *b
			case "data":
				if rest != "" {
					return nil, errf("@data followed by %q on its line", clip(rest))
				}
				if t.ClassLabel && t.TargetLabel {
					return nil, errf("both @classLabel true and @targetLabel true")
				}
				inData = true
			default:
				return nil, errf("unknown header tag @%s", tag)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		c, err := t.parseCase(text, declaredStamps != nil && *declaredStamps)
		if err != nil {
			return nil, errf("%v", err)
		}
		c.Line = line
		t.Cases = append(t.Cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, &TSError{name, line + 1, err.Error()}
	}
	if !inData {
		return nil, &TSError{name, line, "no @data line"}
	}
	if len(t.Cases) == 0 {
		return nil, &TSError{name, line, "no cases after @data"}
	}
	// Check the header against the cases.
	dims := len(t.Cases[0].Dims)
	if t.Dimensions == 0 {
		t.Dimensions = dims
	}
	t.TimeStamps = declaredStamps != nil && *declaredStamps
	t.Univariate = t.Dimensions == 1
	if declaredUni != nil {
		t.Univariate = *declaredUni
		if *declaredUni && t.Dimensions != 1 {
			return nil, &TSError{name, t.Cases[0].Line, fmt.Sprintf("@univariate true but %d dimensions", t.Dimensions)}
		}
	}
	missing := false
	t.EqualLength = true
	for i := range t.Cases {
		c := &t.Cases[i]
		if len(c.Dims) != t.Dimensions {
			return nil, &TSError{name, c.Line, fmt.Sprintf("%d dimensions, want %d (as %s)", len(c.Dims), t.Dimensions, map[bool]string{true: "@dimensions says", false: "the first case has"}[seen["dimensions"]])}
		}
		for _, d := range c.Dims {
			if len(d) != len(t.Cases[0].Dims[0]) {
				t.EqualLength = false
			}
			if t.SeriesLength > 0 && len(d) != t.SeriesLength && (declaredEqual == nil || *declaredEqual) {
				return nil, &TSError{name, c.Line, fmt.Sprintf("a dimension of length %d, but @seriesLength is %d", len(d), t.SeriesLength)}
			}
			for _, v := range d {
				if math.IsNaN(v) {
					missing = true
				}
			}
		}
		if t.ClassLabel && !slices.Contains(t.Labels, c.Label) {
			return nil, &TSError{name, c.Line, fmt.Sprintf("class label %q is not among @classLabel's %v", c.Label, t.Labels)}
		}
	}
	if declaredEqual != nil && *declaredEqual && !t.EqualLength {
		return nil, &TSError{name, t.Cases[0].Line, "@equalLength true but the cases' lengths differ"}
	}
	if declaredEqual != nil && !*declaredEqual {
		t.EqualLength = false
	}
	if declaredMissing != nil && !*declaredMissing && missing {
		return nil, &TSError{name, t.Cases[0].Line, "@missing false but some values are missing (?)"}
	}
	t.Missing = missing || declaredMissing != nil && *declaredMissing
	return t, nil
}

// parseCase reads one data line.
func (t *TSFile) parseCase(text string, stamps bool) (TSCase, error) {
	var c TSCase
	var parts []string
	if stamps {
		parts = splitStamped(text)
	} else {
		parts = strings.Split(text, ":")
	}
	if t.ClassLabel || t.TargetLabel {
		if len(parts) < 2 {
			return c, fmt.Errorf("%q has no ':' before a label", clip(text))
		}
		last := strings.TrimSpace(parts[len(parts)-1])
		parts = parts[:len(parts)-1]
		if t.ClassLabel {
			c.Label = last
		} else {
			v, err := strconv.ParseFloat(last, 64)
			if err != nil {
				return c, fmt.Errorf("regression target %q is not a number", clip(last))
			}
			c.Target = v
		}
	}
	for k, p := range parts {
		p = strings.TrimSpace(p)
		if stamps {
			vals, ts, err := parseStamped(p)
			if err != nil {
				return c, fmt.Errorf("dimension %d: %v", k+1, err)
			}
			c.Dims, c.Stamps = append(c.Dims, vals), append(c.Stamps, ts)
			continue
		}
		if p == "" {
			return c, fmt.Errorf("dimension %d is empty", k+1)
		}
		fields := strings.Split(p, ",")
		vals := make([]float64, len(fields))
		for i, f := range fields {
			v, err := parseTSValue(f)
			if err != nil {
				return c, fmt.Errorf("dimension %d, value %d: %v", k+1, i+1, err)
			}
			vals[i] = v
		}
		c.Dims = append(c.Dims, vals)
	}
	return c, nil
}

func parseTSValue(f string) (float64, error) {
	f = strings.TrimSpace(f)
	if f == "?" || strings.EqualFold(f, "nan") {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number (missing values are ?)", clip(f))
	}
	return v, nil
}

// splitStamped splits a timestamped line at the ':' outside parentheses
// (timestamps such as 2007-01-01 00:00:00 hold colons).
func splitStamped(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ':':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// parseStamped reads "(t1,v1),(t2,v2),…".
func parseStamped(p string) ([]float64, []string, error) {
	var vals []float64
	var stamps []string
	rest := strings.TrimSpace(p)
	for rest != "" {
		if rest[0] != '(' {
			return nil, nil, fmt.Errorf("%q: want (timestamp,value)", clip(rest))
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, nil, fmt.Errorf("%q: unclosed (", clip(rest))
		}
		inner := rest[1:end]
		i := strings.LastIndexByte(inner, ',')
		if i < 0 {
			return nil, nil, fmt.Errorf("(%s): want (timestamp,value)", clip(inner))
		}
		v, err := parseTSValue(inner[i+1:])
		if err != nil {
			return nil, nil, err
		}
		vals, stamps = append(vals, v), append(stamps, strings.TrimSpace(inner[:i]))
		rest = strings.TrimSpace(rest[end+1:])
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
			if rest == "" {
				return nil, nil, fmt.Errorf("trailing ','")
			}
		} else if rest != "" {
			return nil, nil, fmt.Errorf("%q after a pair: want ','", clip(rest))
		}
	}
	if len(vals) == 0 {
		return nil, nil, fmt.Errorf("no (timestamp,value) pairs")
	}
	return vals, stamps, nil
}

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "…"
	}
	return s
}

// ReadUCRFile reads a classification set in the UCR archive's delimited
// layout (its 2018 .tsv files, or the same as .csv): one case per line,
// the class label first, then the series' values, separated by tabs or
// commas; missing values are NaN, ? or empty; cases may differ in length
// (one dimension). The classes are listed in order of first appearance. Errors name the line.
//
// A first line whose first value is not a number is a header.
func ReadUCRFile(path string) (*TSFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadUCR(f, filepath.Base(path))
}

// ReadUCR is ReadUCRFile on a stream; name labels errors.
func ReadUCR(r io.Reader, name string) (*TSFile, error) {
	t := &TSFile{Name: name, ProblemName: strings.TrimSuffix(name, filepath.Ext(name)), ClassLabel: true, Univariate: true, Dimensions: 1, EqualLength: true}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if text == "" {
			continue
		}
		sep := ","
		if strings.Contains(text, "\t") {
			sep = "\t"
		}
		fields := strings.Split(text, sep)
		if len(fields) < 2 {
			return nil, &TSError{name, line, fmt.Sprintf("%q: want a label and at least one value, separated by commas or tabs", clip(text))}
		}
		vals := make([]float64, 0, len(fields)-1)
		var bad error
		badAt := -1
		for i, f := range fields[1:] {
			if strings.TrimSpace(f) == "" {
				vals = append(vals, math.NaN())
				continue
			}
			v, err := parseTSValue(f)
			if err != nil {
				bad, badAt = fmt.Errorf("value %d: %v", i+1, err), i
				break
			}
			vals = append(vals, v)
		}
		if bad != nil {
			if line == 1 && badAt == 0 {
				continue // a header row: its first value is not a number
			}
			return nil, &TSError{name, line, bad.Error()}
		}
		label := strings.TrimSpace(fields[0])
		if label == "" {
			return nil, &TSError{name, line, "empty class label"}
		}
		if !slices.Contains(t.Labels, label) {
			t.Labels = append(t.Labels, label)
		}
		for _, v := range vals {
			if math.IsNaN(v) {
				t.Missing = true
			}
		}
		if len(t.Cases) > 0 && len(vals) != len(t.Cases[0].Dims[0]) {
			t.EqualLength = false
		}
		t.Cases = append(t.Cases, TSCase{Line: line, Dims: [][]float64{vals}, Label: label})
	}
	if err := sc.Err(); err != nil {
		return nil, &TSError{name, line + 1, err.Error()}
	}
	if len(t.Cases) == 0 {
		return nil, &TSError{name, line, "no cases"}
	}
	if t.EqualLength {
		t.SeriesLength = len(t.Cases[0].Dims[0])
	}
	return t, nil
}

// ReadClassFile reads a classification set by its extension: .ts (sktime),
// .tsv, .csv or .txt (UCR's delimited layout), optionally gzipped (.ts.gz).
func ReadClassFile(path string) (*TSFile, error) {
	base := strings.ToLower(strings.TrimSuffix(path, ".gz"))
	switch filepath.Ext(base) {
	case ".ts":
		return ReadTSFile(path)
	case ".tsv", ".csv", ".txt":
		if strings.HasSuffix(path, ".gz") {
			return nil, fmt.Errorf("%s: give the delimited file unzipped", path)
		}
		return ReadUCRFile(path)
	}
	return nil, fmt.Errorf("%s: unknown extension %q; want .ts (sktime/UEA) or .tsv/.csv (UCR: label, then values)", path, filepath.Ext(base))
}
