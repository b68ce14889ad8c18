package tgraph

import (
	"fmt"
	"slices"

	"github.com/loomml/loom/data/events"
)

// Patches is the input of one prediction step: the window of the last W
// history events strictly before the cutoff, cut into M patches of
// consecutive events (Todyformer's patchifier: equal numbers of edges,
// in time order), with the graph each patch makes and the packing of node
// tokens across patches.
//
// A node instance is a node within one patch (a token); a node of the
// window has one instance per patch it occurs in. Each event u → v of
// patch m gives two messages between the instances of u and v in m, one
// each way, told apart by their direction.
type Patches struct {
	Stream *events.Stream
	Cutoff float64
	M      int   // patches
	Events []int // the window's events (stream indices), chronological

	// Instances, I of them, grouped by patch in order of first
	// occurrence.
	Node  []int     // [I] the instance's node
	Patch []int     // [I] its patch, 0 (oldest) … M−1 (newest)
	Age   []float64 // [I] cutoff − the time of its last event in the patch

	// Messages, two per event.
	From, To []int     // [2·len(Events)] sending and receiving instances
	MsgAge   []float64 // [2·len(Events)] cutoff − the event's time
	Reverse  []bool    // [2·len(Events)] the message runs v → u against the event
	MsgEvent []int     // [2·len(Events)] the event (for edge features)

	// Packing: the window's distinct nodes, K of them, ascending; node k's
	// instances in patch order, Seqs[k] (1 to M of them); Pos[i] is
	// instance i's place in its node's sequence.
	Nodes []int
	Seqs  [][]int
	Pos   []int

	nodeIndex map[int]int // node → k
}

// NewPatches builds the patches of the window of h before cutoff: the last
// w events (all earlier ones when w ≤ 0), in m patches; with n window
// events, event j goes to patch ⌊j·m/n⌋, so patch sizes differ by at most
// one (and some are empty when n < m).
func NewPatches(h *History, cutoff float64, w, m int) *Patches {
	if m < 1 {
		panic(fmt.Sprintf("tgraph: %d patches", m))
	}
	s := h.S
	win := h.Window(cutoff, w)
	n := len(win)
	p := &Patches{Stream: s, Cutoff: cutoff, M: m, Events: win, nodeIndex: map[int]int{}}
	p.From = make([]int, 0, 2*n)
	p.To = make([]int, 0, 2*n)
	p.MsgAge = make([]float64, 0, 2*n)
	p.Reverse = make([]bool, 0, 2*n)
	p.MsgEvent = make([]int, 0, 2*n)
	inst := map[[2]int]int{} // (node, patch) → instance
	instance := func(node, patch int, age float64) int {
		key := [2]int{node, patch}
		i, ok := inst[key]
		if !ok {
			i = len(p.Node)
			inst[key] = i
			p.Node = append(p.Node, node)
			p.Patch = append(p.Patch, patch)
			p.Age = append(p.Age, age)
		}
		p.Age[i] = min(p.Age[i], age) // events are chronological: the last is the youngest
		return i
	}
	for j, e := range win {
		patch := j * m / n
		age := cutoff - s.Time[e]
		a := instance(s.Src[e], patch, age)
		b := instance(s.Dst[e], patch, age)
		p.From = append(p.From, a, b)
		p.To = append(p.To, b, a)
		p.MsgAge = append(p.MsgAge, age, age)
		p.Reverse = append(p.Reverse, false, true)
		p.MsgEvent = append(p.MsgEvent, e, e)
	}
	seen := map[int]bool{}
	for _, v := range p.Node {
		if !seen[v] {
			seen[v] = true
			p.Nodes = append(p.Nodes, v)
		}
	}
	slices.Sort(p.Nodes)
	for k, v := range p.Nodes {
		p.nodeIndex[v] = k
	}
	p.Seqs = make([][]int, len(p.Nodes))
	p.Pos = make([]int, len(p.Node))
	for i, v := range p.Node { // instances come in patch order
		k := p.nodeIndex[v]
		p.Pos[i] = len(p.Seqs[k])
		p.Seqs[k] = append(p.Seqs[k], i)
	}
	return p
}

// Instances is the number of node instances I.
func (p *Patches) Instances() int { return len(p.Node) }

// Index returns node v's row k in the packing, or −1 when v is not in the
// window.
func (p *Patches) Index(v int) int {
	if k, ok := p.nodeIndex[v]; ok {
		return k
	}
	return -1
}

// Latest returns node row k's instance in the newest patch it occurs in.
func (p *Patches) Latest(k int) int { return p.Seqs[k][len(p.Seqs[k])-1] }
