package graph

import (
	"fmt"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Model maps a batch of graphs to one row of predictions per graph.
type Model interface {
	nn.Module
	// Buffers returns the state besides the parameters that a checkpoint
	// must hold (BatchNorm's running estimates).
	nn.Buffered
	// Forward maps b to predictions [G, Out]. A training ctx applies
	// dropout, BatchNorm's batch statistics and, with an RNG, LapPE sign
	// flips; a nil ctx is evaluation.
	Forward(ctx *nn.Ctx, b *Batch) *autograd.Var
	// Nodes returns the node rows [N, Dim] the readout pools.
	Nodes(ctx *nn.Ctx, b *Batch) *autograd.Var
	// Config returns the model's configuration.
	Config() Config
}

// Config describes a graph model; it is saved as config.json.
type Config struct {
	Arch string `json:"arch"` // gt, gt-full, gcn, gin
	// NodeVocab holds the number of categories of each node feature, and
	// EdgeVocab of each edge feature (empty: edges without features).
	NodeVocab []int `json:"node_vocab"`
	EdgeVocab []int `json:"edge_vocab,omitempty"`
	Dim       int   `json:"hidden_dim"`
	Heads     int   `json:"n_heads,omitempty"` // gt, gt-full
	Layers    int   `json:"L"`
	// PEDim is the number k of Laplacian eigenvectors (0: no positional
	// encoding); batches must be collated with the same k.
	PEDim     int     `json:"pos_enc_dim"`
	Norm      string  `json:"norm"`    // batch or layer
	Readout   string  `json:"readout"` // sum or mean
	Dropout   float64 `json:"dropout"`
	InDropout float64 `json:"in_feat_dropout"`
	Out       int     `json:"out_dim"` // targets per graph
	// NoResidual drops the layers' residual connections.
	NoResidual bool `json:"no_residual,omitempty"`
	// NoSignFlip keeps the LapPE's signs in training.
	NoSignFlip bool   `json:"no_sign_flip,omitempty"`
	Seed       uint64 `json:"seed"`
}

// Defaults returns the reference's ZINC configuration of the Graph
// Transformer (configs/molecules_GraphTransformer_LapPE_ZINC_500k_*_BN):
// 10 layers of width 64 with 8 heads, LapPE of 8 eigenvectors,
// BatchNorm, mean readout, no dropout, one output; for gcn and gin the
// same sizes.
func Defaults(arch string, nodeVocab, edgeVocab []int) Config {
	return Config{Arch: arch, NodeVocab: nodeVocab, EdgeVocab: edgeVocab, Dim: 64, Heads: 8, Layers: 10,
		PEDim: 8, Norm: NormBatch, Readout: ReadoutMean, Out: 1}
}

// arch is how an architecture builds its layers.
type arch struct {
	layer     func(prefix string, c Config, rng *tensor.RNG) Layer
	edgeFeats bool // the layers use edge features
	full      bool // full-graph attention
}

var archs = registry.New[arch]("graph architecture")

func init() {
	gt := func(prefix string, c Config, rng *tensor.RNG) Layer { return newGTLayer(prefix, c, rng) }
	archs.Register("gt", arch{layer: gt, edgeFeats: true})
	archs.Register("gt-full", arch{layer: gt, edgeFeats: true, full: true})
	archs.Register("gcn", arch{layer: func(p string, c Config, r *tensor.RNG) Layer { return newGCNLayer(p, c, r) }})
	archs.Register("gin", arch{layer: func(p string, c Config, r *tensor.RNG) Layer { return newGINLayer(p, c, r) }})
}

// Archs lists the architectures.
func Archs() []string { return archs.Names() }

// Check reports a configuration New cannot build.
func (c Config) Check() error {
	a, err := archs.Get(c.Arch)
	if err != nil {
		return err
	}
	switch {
	case len(c.NodeVocab) == 0:
		return fmt.Errorf("graph: no node features (node_vocab is empty)")
	case c.Dim < 4:
		return fmt.Errorf("graph: hidden_dim %d (the head needs at least 4)", c.Dim)
	case a.edgeFeats && (c.Heads < 1 || c.Dim%c.Heads != 0):
		return fmt.Errorf("graph: hidden_dim %d is not a multiple of %d heads", c.Dim, c.Heads)
	case c.Layers < 0 || c.PEDim < 0 || c.Out < 1:
		return fmt.Errorf("graph: %d layers, pos_enc_dim %d, out_dim %d", c.Layers, c.PEDim, c.Out)
	case c.Norm != NormBatch && c.Norm != NormLayer:
		return fmt.Errorf("graph: norm %q (want batch or layer)", c.Norm)
	case c.Readout != ReadoutSum && c.Readout != ReadoutMean:
		return fmt.Errorf("graph: readout %q (want sum or mean)", c.Readout)
	}
	for _, v := range append(append([]int(nil), c.NodeVocab...), c.EdgeVocab...) {
		if v < 1 {
			return fmt.Errorf("graph: a feature with %d categories (node_vocab %v, edge_vocab %v)", v, c.NodeVocab, c.EdgeVocab)
		}
	}
	return nil
}

// New builds c's model with weights drawn from a generator seeded c.Seed
// (PyTorch's default initialisations: linear layers uniform in ±1/√in,
// embeddings N(0, 1), norms 1 and 0).
func New(c Config) (Model, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	a, _ := archs.Get(c.Arch)
	rng := tensor.NewRNG(c.Seed)
	m := &Net{cfg: c, full: a.full}
	if c.PEDim > 0 {
		m.PE = nn.NewTorchLinear("embedding_lap_pos_enc", c.PEDim, c.Dim, true, rng)
	}
	m.EmbedH = newFeatureEmbedding("embedding_h", c.NodeVocab, c.Dim, false, rng)
	if a.edgeFeats {
		vocab := c.EdgeVocab
		if len(vocab) == 0 {
			vocab = []int{1} // every edge the same: the reference's Linear(1, D) of ones
		}
		m.EmbedE = newFeatureEmbedding("embedding_e", vocab, c.Dim, a.full, rng)
	}
	for i := range c.Layers {
		m.Layers = append(m.Layers, a.layer(nn.Join("layers", strconv.Itoa(i)), c, rng))
	}
	m.Head = newMLPHead("MLP_layer", c.Dim, c.Out, rng)
	return m, nil
}

// Net is every architecture's model: embeddings, layers, readout and
// head (see the package documentation).
type Net struct {
	EmbedH *FeatureEmbedding
	EmbedE *FeatureEmbedding // nil when the layers ignore edge features
	PE     *nn.Linear        // nil without LapPE
	Layers []Layer
	Head   *MLPHead

	cfg  Config
	full bool
}

// Nodes embeds b's nodes (and edges), adds the LapPE and runs the layers:
// [N, Dim].
func (m *Net) Nodes(ctx *nn.Ctx, b *Batch) *autograd.Var {
	c := m.cfg
	if b.F != len(c.NodeVocab) && b.Nodes > 0 {
		panic(fmt.Sprintf("graph: a batch of %d node features for a model of %d", b.F, len(c.NodeVocab)))
	}
	dt := m.EmbedH.Tables[0].Weight.Value.DType()
	h := ctx.Dropout(m.EmbedH.Forward(b.NodeFeat, b.Nodes), c.InDropout)
	if m.PE != nil {
		h = autograd.Add(h, m.PE.Forward(autograd.Const(m.signFlip(ctx, b).To(dt))))
	}
	if m.full {
		b = b.Full()
	}
	var e *autograd.Var
	if m.EmbedE != nil {
		feat := b.EdgeFeat
		switch {
		case len(c.EdgeVocab) == 0: // one kind of edge (index 0), the batch's features ignored
			feat = make([]int, b.Edges())
			for i := range feat {
				if b.Fe > 0 && b.EdgeFeat[i*b.Fe] == NoEdge {
					feat[i] = NoEdge
				}
			}
		case b.Fe != len(c.EdgeVocab) && b.Edges() > 0:
			panic(fmt.Sprintf("graph: a batch of %d edge features for a model of %d", b.Fe, len(c.EdgeVocab)))
		}
		e = m.EmbedE.Forward(feat, b.Edges())
	}
	for _, l := range m.Layers {
		h, e = l.Forward(ctx, b, h, e)
	}
	return h
}

// signFlip returns b's LapPE [N, k], each column's sign flipped with
// probability ½ when ctx is training with an RNG (one draw per column
// for the whole batch, as the reference's train_epoch does).
func (m *Net) signFlip(ctx *nn.Ctx, b *Batch) *tensor.Tensor {
	k := m.cfg.PEDim
	if b.PE == nil || b.PE.Dim(1) != k {
		panic(fmt.Sprintf("graph: the model takes a LapPE of %d eigenvectors; collate the batch with k = %d", k, k))
	}
	if !ctx.Training() || ctx.RNG == nil || m.cfg.NoSignFlip {
		return b.PE
	}
	sign := make([]float32, k)
	for i := range sign {
		sign[i] = 1
		if ctx.RNG.Float64() < 0.5 {
			sign[i] = -1
		}
	}
	return tensor.Mul(b.PE, tensor.FromFloat32(sign, 1, k))
}

// Forward returns the predictions [G, Out] for b.
func (m *Net) Forward(ctx *nn.Ctx, b *Batch) *autograd.Var {
	return m.Head.Forward(Readout(m.Nodes(ctx, b), b, m.cfg.Readout))
}

// Params returns the parameters: LapPE, embeddings, layers, head.
func (m *Net) Params() []*autograd.Var {
	var mods []nn.Module
	if m.PE != nil {
		mods = append(mods, m.PE)
	}
	mods = append(mods, m.EmbedH)
	if m.EmbedE != nil {
		mods = append(mods, m.EmbedE)
	}
	for _, l := range m.Layers {
		mods = append(mods, l)
	}
	return nn.Collect(append(mods, m.Head)...)
}

// Buffers returns the BatchNorm running estimates of the layers.
func (m *Net) Buffers() []*autograd.Var { return buffers(m) }

// Config returns the model's configuration.
func (m *Net) Config() Config { return m.cfg }
