package constrain

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"sort"
)

// A string's pattern is compiled to a DFA over code points: classes of
// code points the regular expression cannot tell apart, a transition table,
// and for each state the ranges of code points that keep a match possible
// (so a string never takes a byte, the start of a UTF-8 character or of a
// \u escape, that no character could complete).
type dfa struct {
	bounds []rune  // class i is [bounds[i], bounds[i+1]); the last bound is 0x110000
	trans  []int32 // state*classes + class → state, −1 when no match is then possible
	accept []bool
	live   [][]rune // per state: lo, hi pairs, sorted, of code points with a live transition
}

const (
	maxDFAStates  = 2000
	maxDFAClasses = 4096
	maxDFATable   = 1 << 21
)

func (d *dfa) classes() int { return len(d.bounds) - 1 }

func (d *dfa) class(r rune) int {
	return sort.Search(len(d.bounds)-1, func(i int) bool { return d.bounds[i+1] > r })
}

func (d *dfa) step(s int32, r rune) int32 {
	return d.trans[int(s)*d.classes()+d.class(r)]
}

// liveIn reports whether some code point in [lo, hi] keeps a match
// possible from state s.
func (d *dfa) liveIn(s int32, lo, hi rune) bool {
	l := d.live[s]
	// The first pair whose hi ≥ lo.
	i := sort.Search(len(l)/2, func(i int) bool { return l[2*i+1] >= lo })
	return i < len(l)/2 && l[2*i] <= hi
}

// compilePattern compiles a JSON Schema pattern (a search, anchored only
// by ^ and $) that uses the common subset of ECMA-262 and RE2 syntax.
func compilePattern(pat string) (*dfa, error) {
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v", pat, err)
	}
	// Anchors only at the ends; none elsewhere.
	anchoredStart, anchoredEnd := false, false
	if re.Op == syntax.OpConcat && len(re.Sub) > 0 {
		subs := re.Sub
		if op := subs[0].Op; op == syntax.OpBeginText || op == syntax.OpBeginLine {
			anchoredStart, subs = true, subs[1:]
		}
		if n := len(subs); n > 0 && (subs[n-1].Op == syntax.OpEndText || subs[n-1].Op == syntax.OpEndLine) {
			anchoredEnd, subs = true, subs[:n-1]
		}
		re = &syntax.Regexp{Op: syntax.OpConcat, Sub: subs, Flags: re.Flags}
	} else if re.Op == syntax.OpBeginText || re.Op == syntax.OpBeginLine {
		anchoredStart, re = true, &syntax.Regexp{Op: syntax.OpEmptyMatch}
	}
	var bad string
	var check func(r *syntax.Regexp)
	check = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
			bad = "^ or $ inside the pattern (only at its ends)"
		case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			bad = `\b or \B`
		}
		if r.Flags&syntax.FoldCase != 0 && (r.Op == syntax.OpLiteral || r.Op == syntax.OpCharClass) {
			bad = "case-insensitive matching"
		}
		for _, s := range r.Sub {
			check(s)
		}
	}
	check(re)
	if bad != "" {
		return nil, fmt.Errorf("pattern %q: %s is not supported", pat, bad)
	}
	dotStar := &syntax.Regexp{Op: syntax.OpStar, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
	parts := []*syntax.Regexp{}
	if !anchoredStart {
		parts = append(parts, dotStar)
	}
	parts = append(parts, re)
	if !anchoredEnd {
		parts = append(parts, dotStar)
	}
	prog, err := syntax.Compile((&syntax.Regexp{Op: syntax.OpConcat, Sub: parts}).Simplify())
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v", pat, err)
	}
	d, err := buildDFA(prog)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v", pat, err)
	}
	return d, nil
}

func buildDFA(prog *syntax.Prog) (*dfa, error) {
	bset := map[rune]bool{0: true, 0x110000: true}
	for _, in := range prog.Inst {
		switch in.Op {
		case syntax.InstRune:
			for i := 0; i+1 < len(in.Rune); i += 2 {
				bset[in.Rune[i]], bset[in.Rune[i+1]+1] = true, true
			}
			if len(in.Rune) == 1 {
				bset[in.Rune[0]], bset[in.Rune[0]+1] = true, true
			}
		case syntax.InstRune1:
			bset[in.Rune[0]], bset[in.Rune[0]+1] = true, true
		case syntax.InstRuneAnyNotNL:
			bset['\n'], bset['\n'+1] = true, true
		case syntax.InstEmptyWidth:
			return nil, fmt.Errorf("assertions are not supported")
		}
	}
	d := &dfa{}
	for r := range bset {
		d.bounds = append(d.bounds, r)
	}
	slices.Sort(d.bounds)
	nc := d.classes()
	if nc > maxDFAClasses {
		return nil, fmt.Errorf("too many character classes (%d, at most %d)", nc, maxDFAClasses)
	}
	matches := func(in *syntax.Inst, r rune) bool {
		switch in.Op {
		case syntax.InstRune1:
			return r == in.Rune[0]
		case syntax.InstRuneAny:
			return true
		case syntax.InstRuneAnyNotNL:
			return r != '\n'
		case syntax.InstRune:
			return in.MatchRune(r)
		}
		return false
	}
	// closure adds pc and what it reaches without consuming to set.
	var closure func(pc uint32, set map[uint32]bool, acc *bool)
	closure = func(pc uint32, set map[uint32]bool, acc *bool) {
		if set[pc] {
			return
		}
		set[pc] = true
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			closure(in.Out, set, acc)
			closure(in.Arg, set, acc)
		case syntax.InstNop, syntax.InstCapture:
			closure(in.Out, set, acc)
		case syntax.InstMatch:
			*acc = true
		}
	}
	type dstate struct {
		pcs []uint32 // consuming instructions
		acc bool
	}
	keyOf := func(s dstate) string { return fmt.Sprint(s.pcs, s.acc) }
	makeState := func(starts []uint32) dstate {
		set := map[uint32]bool{}
		var acc bool
		for _, pc := range starts {
			closure(pc, set, &acc)
		}
		var s dstate
		for pc := range set {
			switch prog.Inst[pc].Op {
			case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				s.pcs = append(s.pcs, pc)
			}
		}
		slices.Sort(s.pcs)
		s.acc = acc
		return s
	}
	var states []dstate
	ids := map[string]int32{}
	add := func(s dstate) (int32, error) {
		k := keyOf(s)
		if id, ok := ids[k]; ok {
			return id, nil
		}
		if len(states) >= maxDFAStates || (len(states)+1)*nc > maxDFATable {
			return 0, fmt.Errorf("too complex (more than %d states)", len(states))
		}
		id := int32(len(states))
		ids[k] = id
		states = append(states, s)
		return id, nil
	}
	if _, err := add(makeState([]uint32{uint32(prog.Start)})); err != nil {
		return nil, err
	}
	for i := 0; i < len(states); i++ {
		row := make([]int32, nc)
		for c := range nc {
			r := d.bounds[c]
			var outs []uint32
			for _, pc := range states[i].pcs {
				if matches(&prog.Inst[pc], r) {
					outs = append(outs, prog.Inst[pc].Out)
				}
			}
			row[c] = -1
			if len(outs) > 0 {
				id, err := add(makeState(outs))
				if err != nil {
					return nil, err
				}
				row[c] = id
			}
		}
		d.trans = append(d.trans, row...)
	}
	// Keep only transitions into states from which a match is reachable.
	ns := len(states)
	co := make([]bool, ns)
	for s := range ns {
		co[s] = states[s].acc
	}
	for changed := true; changed; {
		changed = false
		for s := range ns {
			if co[s] {
				continue
			}
			for c := range nc {
				if t := d.trans[s*nc+c]; t >= 0 && co[t] {
					co[s], changed = true, true
					break
				}
			}
		}
	}
	if !co[0] {
		return nil, fmt.Errorf("no string matches")
	}
	d.accept = make([]bool, ns)
	d.live = make([][]rune, ns)
	for s := range ns {
		d.accept[s] = states[s].acc
		var l []rune
		for c := range nc {
			t := &d.trans[s*nc+c]
			if *t >= 0 && !co[*t] {
				*t = -1
			}
			if *t < 0 {
				continue
			}
			lo, hi := d.bounds[c], d.bounds[c+1]-1
			if n := len(l); n > 0 && l[n-1]+1 == lo {
				l[n-1] = hi
			} else {
				l = append(l, lo, hi)
			}
		}
		d.live[s] = l
	}
	return d, nil
}
