package main

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Numeric flags carry their valid range. A value given on the command line
// is checked as it is parsed, so an out-of-range value is a usage error that
// names the flag and the range, before anything is read or computed. A value
// outside the range is accepted only where it is a special value with a
// meaning that --help prints (--threads 0 = all cores, --top-k 0 = off).
// A flag whose default means "not given" (the preset's steps, the
// architecture's learning rate) keeps that default out of its range, so
// "not given" can never be confused with a value the user typed.

// span is a closed or half-open interval of valid values; a bound that is
// ±Inf is absent.
type span struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

// atLeast is [lo, ∞).
func atLeast(lo float64) span { return span{lo: lo, hi: math.Inf(1)} }

// between is [lo, hi].
func between(lo, hi float64) span { return span{lo: lo, hi: hi} }

// above is (lo, ∞).
func above(lo float64) span { return span{lo: lo, hi: math.Inf(1), loOpen: true} }

func (s span) contains(v float64) bool {
	switch {
	case v < s.lo || v > s.hi:
		return false
	case s.loOpen && v == s.lo, s.hiOpen && v == s.hi:
		return false
	}
	return true
}

func (s span) String() string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	lo, hi := !math.IsInf(s.lo, -1), !math.IsInf(s.hi, 1)
	switch {
	case lo && hi && !s.loOpen && !s.hiOpen:
		return num(s.lo) + " to " + num(s.hi)
	case lo && hi:
		return num(s.lo) + map[bool]string{true: " < x ", false: " ≤ x "}[s.loOpen] + map[bool]string{true: "< ", false: "≤ "}[s.hiOpen] + num(s.hi)
	case lo:
		return map[bool]string{true: "> ", false: "≥ "}[s.loOpen] + num(s.lo)
	case hi:
		return map[bool]string{true: "< ", false: "≤ "}[s.hiOpen] + num(s.hi)
	}
	return "any value"
}

// numFlag is an int, int64 or float64 flag with a valid span and special
// values outside it.
type numFlag[T int | int64 | float64] struct {
	p       *T
	valid   span
	special map[T]string
}

func (f *numFlag[T]) isFloat() bool {
	var zero T
	_, ok := any(zero).(float64)
	return ok
}

func (f *numFlag[T]) String() string {
	if f == nil || f.p == nil {
		return "0"
	}
	if !f.isFloat() {
		return strconv.FormatInt(int64(*f.p), 10) // 8388608, not 8.388608e+06
	}
	return strconv.FormatFloat(float64(*f.p), 'g', -1, 64)
}

func (f *numFlag[T]) Get() any { return *f.p }

func (f *numFlag[T]) Set(s string) error {
	var v T
	if f.isFloat() {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("not a finite number; want %s", f.rangeText())
		}
		v = T(x)
	} else {
		x, err := strconv.ParseInt(s, 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("not an integer; want %s", f.rangeText())
		}
		v = T(x)
	}
	if _, ok := f.special[v]; !ok && !f.valid.contains(float64(v)) {
		return fmt.Errorf("want %s", f.rangeText())
	}
	*f.p = v
	return nil
}

// rangeText is the valid span followed by the special values, as --help and
// errors print it: "≥ 1 (0: all cores)".
func (f *numFlag[T]) rangeText() string {
	s := f.valid.String()
	if len(f.special) == 0 {
		return s
	}
	keys := make([]T, 0, len(f.special))
	for k := range f.special {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%v: %s", k, f.special[k]))
	}
	return s + " (" + strings.Join(parts, "; ") + ")"
}

// typeName is the argument name --help prints.
func (f *numFlag[T]) typeName() string {
	if f.isFloat() {
		return "float"
	}
	return "int"
}

// ranged is what --help and the flag tests read from a numeric flag.
type ranged interface {
	flag.Value
	rangeText() string
	typeName() string
	validSpan() span
	specials() []float64
}

func (f *numFlag[T]) validSpan() span { return f.valid }

func (f *numFlag[T]) specials() []float64 {
	var out []float64
	for k := range f.special {
		out = append(out, float64(k))
	}
	sort.Float64s(out)
	return out
}

// sp is a special value and its meaning, for the flag constructors.
type sp struct {
	v       float64
	meaning string
}

func numVar[T int | int64 | float64](fs *flag.FlagSet, name string, def T, usage string, valid span, specials ...sp) *T {
	if !(valid.lo < valid.hi) {
		// A span literal without hi is [lo, 0]: every value but one refused.
		panic(fmt.Sprintf("loom: flag -%s: the valid range %s holds at most one value (use atLeast, above or between)", name, valid))
	}
	p := new(T)
	*p = def
	f := &numFlag[T]{p: p, valid: valid, special: map[T]string{}}
	for _, s := range specials {
		f.special[T(s.v)] = s.meaning
	}
	fs.Var(f, name, usage)
	return p
}

// intFlag defines an int flag with a valid span and special values.
func intFlag(fs *flag.FlagSet, name string, def int, usage string, valid span, specials ...sp) *int {
	return numVar(fs, name, def, usage, valid, specials...)
}

// int64Flag defines an int64 flag with a valid span and special values.
func int64Flag(fs *flag.FlagSet, name string, def int64, usage string, valid span, specials ...sp) *int64 {
	return numVar(fs, name, def, usage, valid, specials...)
}

// floatFlag defines a float64 flag with a valid span and special values;
// NaN and ±Inf are never valid.
func floatFlag(fs *flag.FlagSet, name string, def float64, usage string, valid span, specials ...sp) *float64 {
	return numVar(fs, name, def, usage, valid, specials...)
}

// printDefaults is flag.PrintDefaults with numeric flags shown as "int" or
// "float" followed by their range.
func printDefaults(fs *flag.FlagSet) {
	w := fs.Output()
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		switch v := f.Value.(type) {
		case ranged:
			name = v.typeName()
			usage += "; " + v.rangeText()
		case *choiceFlag:
			name = "string"
		}
		if name != "" {
			line += " " + name
		}
		if len(line) <= 4 {
			line += "\t"
		} else {
			line += "\n    \t"
		}
		line += strings.ReplaceAll(usage, "\n", "\n    \t")
		if def := f.DefValue; !isZeroDefault(f) {
			if _, isChoice := f.Value.(*choiceFlag); isChoice || fmt.Sprintf("%T", f.Value) == "*flag.stringValue" {
				line += fmt.Sprintf(" (default %q)", def)
			} else {
				line += fmt.Sprintf(" (default %v)", def)
			}
		}
		fmt.Fprintln(w, line)
	})
}

// isZeroDefault reports whether a flag's default is its type's zero value,
// which --help leaves out as the flag package does.
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// durFlag is a time.Duration flag with a valid span in seconds.
type durFlag struct {
	p     *time.Duration
	valid span
}

func (f *durFlag) String() string {
	if f == nil || f.p == nil {
		return "0s"
	}
	return f.p.String()
}

func (f *durFlag) Get() any { return *f.p }

func (f *durFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration such as 500ms, 2s or 1m; want %s", f.rangeText())
	}
	if !f.valid.contains(d.Seconds()) {
		return fmt.Errorf("want %s", f.rangeText())
	}
	*f.p = d
	return nil
}

func (f *durFlag) rangeText() string {
	s := f.valid
	if !math.IsInf(s.hi, 1) {
		return fmt.Sprintf("%v to %v", seconds(s.lo), seconds(s.hi))
	}
	return map[bool]string{true: "> ", false: "≥ "}[s.loOpen] + seconds(s.lo).String()
}

func seconds(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }

func (f *durFlag) typeName() string    { return "duration" }
func (f *durFlag) validSpan() span     { return f.valid }
func (f *durFlag) specials() []float64 { return nil }

// durationFlag defines a duration flag valid in span (in seconds).
func durationFlag(fs *flag.FlagSet, name string, def time.Duration, usage string, valid span) *time.Duration {
	p := new(time.Duration)
	*p = def
	fs.Var(&durFlag{p: p, valid: valid}, name, usage)
	return p
}

// choiceFlag is a string flag that takes one of a fixed set of values,
// checked as it is parsed.
type choiceFlag struct {
	p       *string
	choices []string
}

func (f *choiceFlag) String() string {
	if f == nil || f.p == nil {
		return ""
	}
	return *f.p
}

func (f *choiceFlag) Get() any { return *f.p }

func (f *choiceFlag) Set(s string) error {
	if !slices.Contains(f.choices, s) {
		return fmt.Errorf("want one of %s", strings.Join(f.choices, ", "))
	}
	*f.p = s
	return nil
}

// choice defines a string flag whose value must be one of choices; usage
// should name them.
func choice(fs *flag.FlagSet, name, def, usage string, choices ...string) *string {
	p := new(string)
	*p = def
	fs.Var(&choiceFlag{p: p, choices: choices}, name, usage)
	return p
}
