package prose

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/loomml/loom/sciml/ode"
)

// Symbols of the expression language, in Polish (prefix) notation as
// PROSE's encoders write them: binary add, sub, mul; unary sin, cos;
// variables u_0, u_1, u_2; constants as three tokens (sign, a 3-digit
// mantissa N000…N999 and a base-10 exponent E−10…E10, PROSE's
// float_precision = 2, mantissa_len = 1, max_exponent = 10); "|" between
// the components of a system; "C" for a constant in a skeleton.
const (
	Sep         = "|"
	Placeholder = "C"
	MaxExponent = 10
)

var arity = map[string]int{"add": 2, "sub": 2, "mul": 2, "sin": 1, "cos": 1}

// Node is an expression tree.
type Node struct {
	Op    string // an operator, a variable u_i, or "" for a constant
	Value float64
	Kids  []*Node
}

// EncodeFloat returns x's three tokens: sign, mantissa and exponent, with x
// rounded to three significant digits (values below 10^−MaxExponent encode
// as zero).
func EncodeFloat(x float64) []string {
	sign := "+"
	if x < 0 {
		sign, x = "-", -x
	}
	if x == 0 {
		return []string{sign, "N000", "E0"}
	}
	s := strconv.FormatFloat(x, 'e', 2, 64) // d.dde±XX
	m, e, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(e)
	exp -= 2
	mant := strings.Replace(m, ".", "", 1)
	if exp < -MaxExponent {
		return []string{sign, "N000", "E0"}
	}
	if exp > MaxExponent {
		exp = MaxExponent
	}
	return []string{sign, "N" + mant, "E" + strconv.Itoa(exp)}
}

// DecodeFloat reads three float tokens.
func DecodeFloat(tok []string) (float64, error) {
	if len(tok) != 3 {
		return 0, errors.New("prose: a constant needs sign, mantissa and exponent tokens")
	}
	var sign float64
	switch tok[0] {
	case "+":
		sign = 1
	case "-":
		sign = -1
	default:
		return 0, fmt.Errorf("prose: %q is not a sign token", tok[0])
	}
	if len(tok[1]) != 4 || tok[1][0] != 'N' {
		return 0, fmt.Errorf("prose: %q is not a mantissa token", tok[1])
	}
	m, err := strconv.Atoi(tok[1][1:])
	if err != nil {
		return 0, fmt.Errorf("prose: %q is not a mantissa token", tok[1])
	}
	if len(tok[2]) < 2 || tok[2][0] != 'E' {
		return 0, fmt.Errorf("prose: %q is not an exponent token", tok[2])
	}
	e, err := strconv.Atoi(tok[2][1:])
	if err != nil || e < -MaxExponent || e > MaxExponent {
		return 0, fmt.Errorf("prose: %q is not an exponent token", tok[2])
	}
	return sign * float64(m) * math.Pow(10, float64(e)), nil
}

// Parse reads a system written in Polish notation, its components
// separated by Sep, and returns one tree per component. It fails, naming
// the problem, on an unknown token, a missing operand or trailing tokens.
func Parse(tokens []string) ([]*Node, error) {
	var out []*Node
	start := 0
	for i := 0; i <= len(tokens); i++ {
		if i < len(tokens) && tokens[i] != Sep {
			continue
		}
		part := tokens[start:i]
		n, rest, err := parseOne(part)
		if err != nil {
			return nil, fmt.Errorf("component %d: %w", len(out), err)
		}
		if len(rest) > 0 {
			return nil, fmt.Errorf("component %d: %d trailing tokens from %q", len(out), len(rest), rest[0])
		}
		out = append(out, n)
		start = i + 1
	}
	return out, nil
}

func parseOne(t []string) (*Node, []string, error) {
	if len(t) == 0 {
		return nil, nil, errors.New("prose: expression ends early (missing operand)")
	}
	switch tok := t[0]; {
	case arity[tok] > 0:
		n := &Node{Op: tok}
		rest := t[1:]
		for range arity[tok] {
			var k *Node
			var err error
			if k, rest, err = parseOne(rest); err != nil {
				return nil, nil, err
			}
			n.Kids = append(n.Kids, k)
		}
		return n, rest, nil
	case strings.HasPrefix(tok, "u_"):
		if _, err := strconv.Atoi(tok[2:]); err != nil {
			return nil, nil, fmt.Errorf("prose: unknown variable %q", tok)
		}
		return &Node{Op: tok}, t[1:], nil
	case tok == "+" || tok == "-":
		if len(t) < 3 {
			return nil, nil, errors.New("prose: truncated constant")
		}
		v, err := DecodeFloat(t[:3])
		if err != nil {
			return nil, nil, err
		}
		return &Node{Value: v}, t[3:], nil
	case tok == Placeholder:
		return &Node{Op: Placeholder}, t[1:], nil
	default:
		return nil, nil, fmt.Errorf("prose: unknown token %q", tok)
	}
}

// Eval evaluates the tree at state u (a skeleton's placeholders are NaN).
func (n *Node) Eval(u []float64) float64 {
	switch n.Op {
	case "":
		return n.Value
	case "add":
		return n.Kids[0].Eval(u) + n.Kids[1].Eval(u)
	case "sub":
		return n.Kids[0].Eval(u) - n.Kids[1].Eval(u)
	case "mul":
		return n.Kids[0].Eval(u) * n.Kids[1].Eval(u)
	case "sin":
		return math.Sin(n.Kids[0].Eval(u))
	case "cos":
		return math.Cos(n.Kids[0].Eval(u))
	case Placeholder:
		return math.NaN()
	}
	i, _ := strconv.Atoi(n.Op[2:])
	if i >= len(u) {
		return math.NaN()
	}
	return u[i]
}

// System evaluates a parsed system at u, one value per component.
func System(nodes []*Node, u []float64) []float64 {
	out := make([]float64, len(nodes))
	for i, n := range nodes {
		out[i] = n.Eval(u)
	}
	return out
}

// term is one additive term of a template component: its prefix tokens,
// where "{i}" is parameter i, "{-i}" its negation and "{=v}" the fixed
// constant v; Neg joins it with sub instead of add.
type term struct {
	Neg  bool
	Toks []string
}

// templates write PROSE's systems (generators.py's term lists) as sums of
// terms, with ode's parameter order.
var templates = map[string][][]string{
	"lorenz": {
		{"mul {0} u_1", "mul {-0} u_0"},
		{"mul {1} u_0", "-mul u_0 u_2", "-u_1"},
		{"mul u_0 u_1", "mul {-2} u_2"},
	},
	"rossler": {
		{"mul {=-1} u_1", "-u_2"},
		{"u_0", "mul {0} u_1"},
		{"{1}", "mul u_0 u_2", "mul {-2} u_2"},
	},
	"thomas": {
		{"sin u_1", "mul {-0} u_0"},
		{"sin u_2", "mul {-0} u_1"},
		{"sin u_0", "mul {-0} u_2"},
	},
	"sprott_linz_f": {
		{"u_1", "u_2"},
		{"mul {0} u_1", "-u_0"},
		{"mul u_0 u_0", "-u_2"},
	},
	"duffing": {
		{"{=1}"},
		{"u_2"},
		{"mul {3} u_2", "mul {0} u_1", "mul {1} mul u_1 mul u_1 u_1", "mul {2} cos mul {4} u_0"},
	},
}

// Expr is a system instance in symbolic form: its components' terms.
type Expr struct {
	Terms [][]term
}

// NewExpr returns the symbolic form of the named system with parameters p;
// an unknown system or non-finite parameters are errors.
func NewExpr(system string, p []float64) (*Expr, error) {
	s, err := ode.Lookup(system)
	if err != nil {
		return nil, err
	}
	if _, err := s.Func(p); err != nil { // checks the count and finiteness
		return nil, err
	}
	tpl, ok := templates[system]
	if !ok {
		return nil, fmt.Errorf("prose: no symbolic template for system %q", system)
	}
	e := &Expr{}
	for _, comp := range tpl {
		var ts []term
		for _, src := range comp {
			t := term{}
			if strings.HasPrefix(src, "-") {
				t.Neg, src = true, src[1:]
			}
			for _, tok := range strings.Fields(src) {
				if strings.HasPrefix(tok, "{") {
					t.Toks = append(t.Toks, EncodeFloat(constant(tok, p))...)
				} else {
					t.Toks = append(t.Toks, tok)
				}
			}
			ts = append(ts, t)
		}
		e.Terms = append(e.Terms, ts)
	}
	return e, nil
}

func constant(tok string, p []float64) float64 {
	body := strings.Trim(tok, "{}")
	if v, ok := strings.CutPrefix(body, "="); ok {
		x, _ := strconv.ParseFloat(v, 64)
		return x
	}
	neg := strings.HasPrefix(body, "-")
	i, _ := strconv.Atoi(strings.TrimPrefix(body, "-"))
	if neg {
		return -p[i]
	}
	return p[i]
}

// Tokens writes the system in Polish notation: each component's terms
// joined left to right with add (sub for a negated term).
func (e *Expr) Tokens() []string {
	var out []string
	for c, ts := range e.Terms {
		if c > 0 {
			out = append(out, Sep)
		}
		for i := len(ts) - 1; i >= 1; i-- {
			if ts[i].Neg {
				out = append(out, "sub")
			} else {
				out = append(out, "add")
			}
		}
		for i, t := range ts {
			if i == 0 && t.Neg { // a leading negated term: 0 − t
				out = append(out, "sub")
				out = append(out, EncodeFloat(0)...)
			}
			out = append(out, t.Toks...)
		}
	}
	return out
}

// Skeleton is Tokens with every constant replaced by Placeholder (PROSE's
// use_skeleton: the symbol input carries the form, not the values).
func (e *Expr) Skeleton() []string {
	var out []string
	t := e.Tokens()
	for i := 0; i < len(t); i++ {
		if t[i] == "+" || t[i] == "-" {
			out = append(out, Placeholder)
			i += 2
			continue
		}
		out = append(out, t[i])
	}
	return out
}

// Noisy returns a copy of e with, independently, one random term deleted
// with probability miss (from a component with more than one term) and
// one random term added with probability add: a constant, C·u_i or
// C·u_i·u_j (PROSE's noisy_text_input with miss_term_prob = add_term_prob
// = 0.15; the added term's constant is a random value, the skeleton hides
// it).
func (e *Expr) Noisy(rng *rand.Rand, miss, add float64) *Expr {
	out := &Expr{Terms: make([][]term, len(e.Terms))}
	for i, ts := range e.Terms {
		out.Terms[i] = append([]term(nil), ts...)
	}
	dim := len(e.Terms)
	if rng.Float64() < miss {
		var cand []int
		for i, ts := range out.Terms {
			if len(ts) > 1 {
				cand = append(cand, i)
			}
		}
		if len(cand) > 0 {
			c := cand[rng.IntN(len(cand))]
			k := rng.IntN(len(out.Terms[c]))
			out.Terms[c] = append(out.Terms[c][:k:k], out.Terms[c][k+1:]...)
		}
	}
	if rng.Float64() < add {
		c := rng.IntN(dim)
		cst := EncodeFloat(ode.Round3(rng.Float64()*4 - 2))
		var toks []string
		switch rng.IntN(3) {
		case 0:
			toks = cst
		case 1:
			toks = append([]string{"mul"}, append(cst, fmt.Sprintf("u_%d", rng.IntN(dim)))...)
		default:
			i, j := rng.IntN(dim), rng.IntN(dim)
			toks = append([]string{"mul"}, append(cst, "mul", fmt.Sprintf("u_%d", i), fmt.Sprintf("u_%d", j))...)
		}
		out.Terms[c] = append(out.Terms[c], term{Toks: toks})
	}
	return out
}
