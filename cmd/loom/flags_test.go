package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// subcommands of the verbs that are groups (their own --help parses no
// flag set).
var subcommands = map[string][]string{
	"bench":     {"gemm", "decode", "tokenize", "train", "serve"},
	"dit":       {"train", "sample"},
	"forecast":  {"train", "eval", "predict"},
	"atoms":     {"train", "eval"},
	"graph":     {"train", "eval"},
	"hyper":     {"train", "eval"},
	"memory":    {"verify"},
	"search":    {"generate", "train"},
	"series":    {"classify", "detect", "impute"},
	"mup":       {"coord-check"},
	"scaling":   {"fit"},
	"tgraph":    {"train", "eval"},
	"tokenizer": {"train"},
}

// commandFlags runs `loom CMD --help` for every command and subcommand and
// returns the flag set each one parsed, keyed by "forecast train" etc.
func commandFlags(t *testing.T) map[string]*flag.FlagSet {
	t.Helper()
	var last *flag.FlagSet
	flagSetHook = func(fs *flag.FlagSet) { last = fs }
	defer func() { flagSetHook = nil }()
	sets := map[string]*flag.FlagSet{}
	capture := func(path []string) bool {
		last = nil
		var out, errb bytes.Buffer
		if code := run(append(path, "--help"), &out, &errb); code != 0 {
			t.Fatalf("loom %s --help: exit %d: %s", strings.Join(path, " "), code, errb.String())
		}
		if last == nil {
			return false
		}
		sets[strings.Join(path, " ")] = last
		return true
	}
	for _, name := range verbs.Names() {
		if capture([]string{name}) {
			continue
		}
		subs, ok := subcommands[name]
		if !ok {
			t.Fatalf("loom %s --help parsed no flags: list its subcommands in the subcommands table", name)
		}
		for _, sub := range subs {
			if !capture([]string{name, sub}) {
				t.Fatalf("loom %s %s --help parsed no flags", name, sub)
			}
		}
	}
	return sets
}

// Every numeric flag of every command has a documented range. At 0, at −1
// and above its maximum it is either refused with an error naming the flag
// and the range (exit 2, nothing on stdout), or accepted because the value
// is in the documented range or is a special value --help explains.
func TestNumericFlagRanges(t *testing.T) {
	sets := commandFlags(t)
	if len(sets) < 20 {
		t.Fatalf("only %d commands found", len(sets))
	}
	checked := 0
	for path, fs := range sets {
		var help bytes.Buffer
		run(append(strings.Fields(path), "--help"), &help, &help)
		fs.VisitAll(func(f *flag.Flag) {
			cmd := "loom " + path + " --" + f.Name
			switch v := f.Value.(type) {
			case ranged:
				if !strings.Contains(help.String(), "-"+f.Name+" "+v.typeName()) || !strings.Contains(help.String(), v.rangeText()) {
					t.Errorf("%s: --help does not give the range %q", cmd, v.rangeText())
				}
				s := v.validSpan()
				probes := []float64{0, -1}
				if !math.IsInf(s.hi, 1) {
					probes = append(probes, s.hi+1)
				}
				for _, x := range probes {
					arg := strconv.FormatFloat(x, 'f', -1, 64)
					if _, isDur := v.(*durFlag); isDur {
						arg = seconds(x).String()
					}
					accepted := s.contains(x)
					for _, special := range v.specials() {
						accepted = accepted || special == x
					}
					if accepted {
						continue // in the documented range or a documented special value
					}
					checked++
					var out, errb bytes.Buffer
					code := run(append(strings.Fields(path), "--"+f.Name, arg), &out, &errb)
					want := "flag -" + f.Name + ": want " + v.rangeText()
					if code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), want) {
						t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", cmd, arg, code, out.String(), errb.String(), want)
					}
				}
			case *choiceFlag:
				checked++
				var out, errb bytes.Buffer
				code := run(append(strings.Fields(path), "--"+f.Name, "bogus"), &out, &errb)
				if want := "flag -" + f.Name + ": want one of " + strings.Join(v.choices, ", "); code != 2 || !strings.Contains(errb.String(), want) {
					t.Errorf("%s bogus: exit %d, stderr %q; want %q", cmd, code, errb.String(), want)
				}
			case flag.Getter:
				switch v.Get().(type) {
				case int, int64, float64, uint, time.Duration:
					t.Errorf("%s: a numeric flag without a documented range (use intFlag, floatFlag, …)", cmd)
				case uint64: // seeds: every value is valid, and the flag package refuses negatives
				}
			}
		})
	}
	if checked < 40 {
		t.Errorf("only %d out-of-range probes: the enumeration is broken", checked)
	}
}

// Random values for every flag of every command go through the parse and
// validate stage without a panic; every refusal names the flag.
func TestFlagParseRandom(t *testing.T) {
	sets := commandFlags(t)
	rng := rand.New(rand.NewPCG(19, 1))
	pool := []string{"", "0", "-0", "-1", "1", "2", "1e309", "-1e309", "NaN", "Inf", "-Inf", "+Inf", "0x10", "1_000",
		"9223372036854775807", "9223372036854775808", "-9223372036854775809", "1.5", "0.5", ".", "=", "--", "-",
		"abc", "é", "\x00", "1s", "-1s", "0s", "1h", "f32", "M", "js", "1,2", ",,", strings.Repeat("9", 400)}
	for path, fs := range sets {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		var sink bytes.Buffer
		fs.SetOutput(&sink)
		for range 300 {
			var args, used []string
			for range 1 + rng.IntN(3) {
				val := pool[rng.IntN(len(pool))]
				if rng.IntN(4) == 0 {
					val = fmt.Sprint(rng.Int64() >> rng.IntN(64) * int64(1-2*rng.IntN(2)))
				}
				name := names[rng.IntN(len(names))]
				args, used = append(args, "--"+name+"="+val), append(used, name)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("loom %s %q: panic %v", path, args, r)
					}
				}()
				err := fs.Parse(args)
				if err == nil {
					return
				}
				for _, name := range used {
					if strings.Contains(err.Error(), "-"+name+":") || strings.HasSuffix(err.Error(), "-"+name) || strings.Contains(err.Error(), "-"+name+" ") {
						return
					}
				}
				t.Errorf("loom %s %q: %v does not name the flag", path, args, err)
			}()
		}
	}
}

func TestSpanText(t *testing.T) {
	for _, c := range []struct {
		s    span
		want string
	}{
		{atLeast(1), "≥ 1"},
		{above(0), "> 0"},
		{between(257, 1024), "257 to 1024"},
		{span{lo: 0, hi: 1, loOpen: true}, "0 < x ≤ 1"},
		{span{lo: 0, hi: 1, hiOpen: true}, "0 ≤ x < 1"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}

// TestEmptySpanPanics: a numeric flag whose valid range holds at most one
// value (a span literal without hi) is a programming error caught when
// the flag is defined, not a flag no user value passes.
func TestEmptySpanPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("span{lo: 0, loOpen: true} was accepted")
		}
	}()
	floatFlag(flag.NewFlagSet("x", flag.ContinueOnError), "lr", 1e-3, "", span{lo: 0, loOpen: true})
}
