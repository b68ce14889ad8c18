package repro

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Kinds of a point of the compression ladder (arXiv 2307.07982's claim is
// about singles against combinations).
const (
	ladderBase   = "base"
	ladderSingle = "single"
	ladderCombo  = "combination"
)

// ladderPoint is one compressed form of a model: its cost X (latency) and
// Y (held-out loss or test error), lower being better on both.
type ladderPoint struct {
	Name string
	Kind string // ladderBase, ladderSingle or ladderCombo
	X, Y float64
}

// ladderLatencyTol is the relative difference below which two latencies
// count as equal (timing noise: forms that run the same kernels, such as
// int8 and 2:4+int8, must not be told apart by it). Part of the verdict
// rule.
const ladderLatencyTol = 0.05

// dominates reports whether p is at least as good as q on both axes and
// better on one: X no more than ladderLatencyTol above q's and Y no
// higher, and X more than ladderLatencyTol below q's or Y lower.
func (p ladderPoint) dominates(q ladderPoint) bool {
	xle := p.X <= q.X*(1+ladderLatencyTol)
	xlt := p.X < q.X*(1-ladderLatencyTol)
	return xle && p.Y <= q.Y && (xlt || p.Y < q.Y)
}

// paretoFrontier returns the indices of the points no other point
// dominates, ordered by X (then Y, then index). Equal points (within the
// latency tolerance, and equal Y) are all on the frontier.
func paretoFrontier(ps []ladderPoint) []int {
	var out []int
	for i, p := range ps {
		dominated := false
		for j, q := range ps {
			if j != i && q.dominates(p) {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int {
		return cmp.Or(cmp.Compare(ps[a].X, ps[b].X), cmp.Compare(ps[a].Y, ps[b].Y))
	})
	return out
}

// ladderCheck is the verdict rule's test on one model's points.
type ladderCheck struct {
	Frontier []int // indices on the frontier, by latency
	// OnFrontier are the single methods on the frontier; Undominated the
	// single methods that no combination dominates. The claim holds for
	// the model when both are empty.
	OnFrontier, Undominated []string
}

// holds reports whether the claim holds for the model.
func (c ladderCheck) holds() bool { return len(c.OnFrontier) == 0 && len(c.Undominated) == 0 }

// checkLadder applies the rule (ladderRule) to one model's points.
func checkLadder(ps []ladderPoint) ladderCheck {
	c := ladderCheck{Frontier: paretoFrontier(ps)}
	for _, i := range c.Frontier {
		if ps[i].Kind == ladderSingle {
			c.OnFrontier = append(c.OnFrontier, ps[i].Name)
		}
	}
	for _, s := range ps {
		if s.Kind != ladderSingle {
			continue
		}
		beaten := false
		for _, q := range ps {
			if q.Kind == ladderCombo && q.dominates(s) {
				beaten = true
				break
			}
		}
		if !beaten {
			c.Undominated = append(c.Undominated, s.Name)
		}
	}
	return c
}

// describe says, for the verdict, where the claim holds or fails.
func (c ladderCheck) describe(ps []ladderPoint) string {
	var names []string
	for _, i := range c.Frontier {
		names = append(names, ps[i].Name)
	}
	s := "frontier " + strings.Join(names, " → ")
	if c.holds() {
		return s + "; every single method is dominated by a combination"
	}
	if len(c.OnFrontier) > 0 {
		s += fmt.Sprintf("; single methods on the frontier: %s", strings.Join(c.OnFrontier, ", "))
	}
	if len(c.Undominated) > 0 {
		s += fmt.Sprintf("; dominated by no combination: %s", strings.Join(c.Undominated, ", "))
	}
	return s
}
