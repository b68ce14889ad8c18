package repro

import (
	"slices"
	"testing"
)

func TestParetoFrontier(t *testing.T) {
	pt := func(name, kind string, x, y float64) ladderPoint {
		return ladderPoint{Name: name, Kind: kind, X: x, Y: y}
	}
	for _, tc := range []struct {
		name        string
		ps          []ladderPoint
		frontier    []int
		onFrontier  []string
		undominated []string
	}{
		{
			name:     "one point",
			ps:       []ladderPoint{pt("base", ladderBase, 2, 1)},
			frontier: []int{0},
		},
		{
			name: "combinations dominate",
			ps: []ladderPoint{
				pt("base", ladderBase, 10, 1.0),
				pt("int8", ladderSingle, 6, 1.01),
				pt("distilled", ladderSingle, 5, 1.3),
				pt("distilled+int8", ladderCombo, 3, 1.29),
				pt("2:4+int8", ladderCombo, 5, 1.005),
			},
			frontier: []int{3, 4, 0},
		},
		{
			name: "a single method on the frontier and undominated",
			ps: []ladderPoint{
				pt("base", ladderBase, 10, 1.0),
				pt("q4", ladderSingle, 4, 1.02),
				pt("distilled+q4", ladderCombo, 2, 1.4),
				pt("magnitude+q4", ladderCombo, 4, 1.3),
			},
			frontier:    []int{2, 1, 0},
			onFrontier:  []string{"q4"},
			undominated: []string{"q4"},
		},
		{
			name: "dominated only by the base or another single counts as undominated",
			ps: []ladderPoint{
				pt("base", ladderBase, 1, 1.0),
				pt("magnitude", ladderSingle, 2, 2.0),
				pt("2:4", ladderSingle, 3, 3.0),
				pt("2:4+int8", ladderCombo, 2.5, 2.5),
			},
			frontier:    []int{0},
			undominated: []string{"magnitude"},
		},
		{
			name: "ties: equal points are both on the frontier, equal is not dominating",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3, 1.0),
				pt("2:4+int8", ladderCombo, 3, 1.0),
				pt("slow", ladderCombo, 4, 1.0),
			},
			frontier:    []int{0, 1},
			onFrontier:  []string{"int8"},
			undominated: []string{"int8"},
		},
		{
			name: "latencies within 5 % are equal: the lower loss dominates, noise does not",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3.0, 1.0),
				pt("2:4+int8", ladderCombo, 2.9, 1.2),
				pt("distilled+int8", ladderCombo, 3.1, 0.9),
			},
			frontier: []int{2}, // int8 dominates 2:4+int8 (equal speed, lower loss), distilled+int8 dominates int8

		},
		{
			name: "more than 5 % faster at equal loss dominates",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3.0, 1.0),
				pt("2:4+int8", ladderCombo, 2.8, 1.0),
			},
			frontier: []int{1},
		},
		{
			name: "within 5 % at equal loss: neither dominates",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3.0, 1.0),
				pt("2:4+int8", ladderCombo, 2.9, 1.0),
			},
			frontier:    []int{1, 0},
			onFrontier:  []string{"int8"},
			undominated: []string{"int8"},
		},
		{
			name: "same latency, lower loss dominates",
			ps: []ladderPoint{
				pt("int8", ladderSingle, 3, 1.1),
				pt("2:4+int8", ladderCombo, 3, 1.0),
			},
			frontier: []int{1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := checkLadder(tc.ps)
			if !slices.Equal(c.Frontier, tc.frontier) {
				t.Errorf("frontier %v, want %v", c.Frontier, tc.frontier)
			}
			if !slices.Equal(c.OnFrontier, tc.onFrontier) {
				t.Errorf("singles on the frontier %v, want %v", c.OnFrontier, tc.onFrontier)
			}
			if !slices.Equal(c.Undominated, tc.undominated) {
				t.Errorf("undominated singles %v, want %v", c.Undominated, tc.undominated)
			}
			if got, want := c.holds(), len(tc.onFrontier) == 0 && len(tc.undominated) == 0; got != want {
				t.Errorf("holds %v, want %v", got, want)
			}
		})
	}
}
