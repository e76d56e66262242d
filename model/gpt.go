package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // the model code reads like the math.
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

const (
	// lnEpsilon is the LayerNorm epsilon (PyTorch's default).
	lnEpsilon = 1e-5
	// initStd is the standard deviation of the normal initialisation of weights and embeddings.
	initStd = 0.02
	// maskedScore is added to the attention scores of future positions: exp of it is exactly 0.
	maskedScore = -1e30
)

// LayerNorm normalises x [N, D] over its last axis (biased variance, ε = 1e-5) and applies the
// learned gain and offset, as torch.nn.LayerNorm does.
func LayerNorm(scope *mlmodel.Scope, x *Node) *Node {
	g := x.Graph()
	d := x.Shape().Dim(-1)
	gain := scope.VariableWithShape("gain", shapes.Make(dtypes.Float32, 1, d)).NodeValue(g)
	offset := scope.VariableWithShape("offset", shapes.Make(dtypes.Float32, 1, d)).NodeValue(g)
	return Add(Mul(Normalize(x), gain), offset)
}

// Dense is x [N, in] · weights [in, out] + biases: weights are stored input-major, so the
// forward matmul has the plain [N, K]×[K, M] layout.
func Dense(scope *mlmodel.Scope, x *Node, out int) *Node {
	g := x.Graph()
	in := x.Shape().Dim(-1)
	w := scope.VariableWithShape("weights", shapes.Make(dtypes.Float32, in, out)).NodeValue(g)
	b := scope.VariableWithShape("biases", shapes.Make(dtypes.Float32, 1, out)).NodeValue(g)
	return Add(MatMul(x, w), b)
}

// Attention is causal multi-head self-attention over x [B·T, D] holding batch rows of seqLen
// positions. mask is added to the attention scores: [1, T, T] for every row alike (causalMask),
// or [B, T, T] per row (packed rows, see PackedMask); it is 0 where a query may see a key and
// maskedScore where not. Every matmul is built in the batched [B, N, K]×[B, K, M] form, with
// explicit transposes, which the pure-Go backend's fast kernels handle best.
func Attention(scope *mlmodel.Scope, cfg Config, x, mask *Node, batch, seqLen int) *Node {
	d, h, hd := cfg.DModel, cfg.Heads, cfg.HeadDim()
	q, k, v := splitDense3(scope.In("qkv"), x, d) // 3 × (B·T, D)
	heads := func(z *Node, perm ...int) *Node {   // (B, T, H, hd), permuted
		return TransposeAllAxes(Reshape(z, batch, seqLen, h, hd), perm...)
	}
	q = Reshape(heads(q, 0, 2, 1, 3), batch*h, seqLen, hd)   // (B·H, T, hd)
	kT := Reshape(heads(k, 0, 2, 3, 1), batch*h, hd, seqLen) // (B·H, hd, T), in one transpose
	v = Reshape(heads(v, 0, 2, 1, 3), batch*h, seqLen, hd)   // (B·H, T, hd)
	q = MulScalar(q, 1/math.Sqrt(float64(hd)))               // scaling q costs T·hd, the scores T·T
	scores := MatMul(q, kT)
	scores.AssertDims(batch*h, seqLen, seqLen)
	if mask.Shape().Dim(0) == 1 {
		scores = Add(scores, mask)
	} else { // one mask per row, shared by its heads
		scores = Reshape(Add(Reshape(scores, batch, h, seqLen, seqLen), Reshape(mask, batch, 1, seqLen, seqLen)), batch*h, seqLen, seqLen)
	}
	probs := LastAxisSoftmax(scores)
	y := MatMul(probs, v) // (B·H, T, hd)
	y = Reshape(y, batch, h, seqLen, hd)
	y = TransposeAllAxes(y, 0, 2, 1, 3) // (B, T, H, hd)
	y = Reshape(y, batch*seqLen, d)
	return Dense(scope.In("proj"), y, d)
}

// splitDense3 is Dense(scope, x, 3·out) split into its three [N, out] thirds, as nanoGPT splits
// its fused q/k/v projection. It splits the weights rather than the output: three plain
// matmuls, and no strided copies of the [N, 3·out] result (nor their padded gradients).
func splitDense3(scope *mlmodel.Scope, x *Node, out int) (a, b, c *Node) {
	g := x.Graph()
	in := x.Shape().Dim(-1)
	w := scope.VariableWithShape("weights", shapes.Make(dtypes.Float32, in, 3*out)).NodeValue(g)
	bias := scope.VariableWithShape("biases", shapes.Make(dtypes.Float32, 1, 3*out)).NodeValue(g)
	third := func(i int) *Node {
		cols := AxisRange(i*out, (i+1)*out)
		return Add(MatMul(x, Slice(w, AxisRange(), cols)), Slice(bias, AxisRange(), cols))
	}
	return third(0), third(1), third(2)
}

// causalMask is the constant [1, T, T]: 0 where key ≤ query, maskedScore above the diagonal.
func causalMask(g *Graph, seqLen int) *Node {
	mask := make([]float32, seqLen*seqLen)
	for q := range seqLen {
		for k := q + 1; k < seqLen; k++ {
			mask[q*seqLen+k] = maskedScore
		}
	}
	return Const(g, tensors.FromFlatDataAndDimensions(mask, 1, seqLen, seqLen))
}

// MLP is the block's feed-forward part: Dense → GELU → Dense.
func MLP(scope *mlmodel.Scope, cfg Config, x *Node) *Node {
	x = Dense(scope.In("fc"), x, cfg.MLP)
	x = Gelu(x)
	return Dense(scope.In("proj"), x, cfg.DModel)
}

// Block is one pre-LayerNorm transformer block over x [B·T, D], with Attention's mask.
func Block(scope *mlmodel.Scope, cfg Config, x, mask *Node, batch, seqLen int) *Node {
	x = Add(x, Attention(scope.In("attn"), cfg, LayerNorm(scope.In("ln_1"), x), mask, batch, seqLen))
	x = Add(x, MLP(scope.In("mlp"), cfg, LayerNorm(scope.In("ln_2"), x)))
	return x
}

// GPT is a GPT-style causal language model of the given Config; it satisfies train.Model.
type GPT struct {
	Cfg Config
}

// NewGPT returns the model for cfg, or the problems of cfg.
func NewGPT(cfg Config) (*GPT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &GPT{Cfg: cfg}, nil
}

// Context is the longest sequence the model accepts.
func (m *GPT) Context() int { return m.Cfg.Context }

// Hidden builds the final hidden states [B, T, D] for ids [B, T]. Padding sits at the end of
// each row, and attention is causal, so real positions never see it: mask is not needed.
func (m *GPT) Hidden(scope *mlmodel.Scope, ids, mask *Node) *Node {
	_ = mask
	g := ids.Graph()
	seqLen := ids.Shape().Dim(1)
	m.checkLength(seqLen)
	pos := m.posTable(scope, g)
	pos = Reshape(Slice(pos, AxisRange(0, seqLen)), 1, seqLen, m.Cfg.DModel) // (1, T, D)
	return m.forward(scope, ids, pos, causalMask(g, seqLen))
}

// HiddenPacked is Hidden for rows that hold several sequences one after the other: segments
// [B, T] (Int32) numbers them 1, 2, … within each row, 0 on the padding after them. Each
// position attends only to the positions of its own sequence up to itself, and positional
// embeddings restart at 0 with each sequence, so every sequence gets the hidden states Hidden
// gives it alone in a row.
func (m *GPT) HiddenPacked(scope *mlmodel.Scope, ids, segments *Node) *Node {
	g := ids.Graph()
	batch, seqLen := ids.Shape().Dim(0), ids.Shape().Dim(1)
	m.checkLength(seqLen)
	visible, positions := PackedMask(segments)
	pos := Gather(m.posTable(scope, g), Reshape(positions, batch*seqLen, 1)) // (B·T, D)
	pos = Reshape(pos, batch, seqLen, m.Cfg.DModel)
	mask := Where(visible, ZerosLike(ConvertDType(visible, dtypes.Float32)), BroadcastToDims(Scalar(g, dtypes.Float32, maskedScore), batch, seqLen, seqLen))
	return m.forward(scope, ids, pos, mask)
}

func (m *GPT) checkLength(seqLen int) {
	if seqLen > m.Cfg.Context {
		panic(fmt.Errorf("model: sequence length %d exceeds context %d: raise model.context or shorten the data", seqLen, m.Cfg.Context))
	}
}

// posTable is the positional embedding table [Context, D].
func (m *GPT) posTable(scope *mlmodel.Scope, g *Graph) *Node {
	return scope.In("pos_embed").VariableWithShape("embeddings", shapes.Make(dtypes.Float32, m.Cfg.Context, m.Cfg.DModel)).NodeValue(g)
}

// forward adds the positional embeddings pos ([1 or B, T, D]) to the token embeddings of ids
// [B, T] and runs the blocks, with Attention's mask, and the final LayerNorm.
func (m *GPT) forward(scope *mlmodel.Scope, ids, pos, mask *Node) *Node {
	cfg := m.Cfg
	g := ids.Graph()
	batch, seqLen := ids.Shape().Dim(0), ids.Shape().Dim(1)
	tok := scope.In("token_embed").VariableWithShape("embeddings", shapes.Make(dtypes.Float32, cfg.Vocab, cfg.DModel)).NodeValue(g)
	x := Gather(tok, Reshape(ids, batch*seqLen, 1)) // (B·T, D)
	x = Reshape(x, batch, seqLen, cfg.DModel)
	x = Add(x, pos)
	x = Reshape(x, batch*seqLen, cfg.DModel)
	for i := range cfg.Layers {
		x = Block(scope.In("layer_%d", i), cfg, x, mask, batch, seqLen)
	}
	x = LayerNorm(scope.In("ln_f"), x)
	return Reshape(x, batch, seqLen, cfg.DModel)
}

// Head builds the logits [N, V] for hidden rows h [N, D]. A tied head multiplies by the
// transposed token embedding.
func (m *GPT) Head(scope *mlmodel.Scope, h *Node) *Node {
	cfg := m.Cfg
	g := h.Graph()
	if cfg.Tied {
		tok := scope.At("token_embed").VariableWithShape("embeddings", shapes.Make(dtypes.Float32, cfg.Vocab, cfg.DModel)).NodeValue(g)
		return Dot(h, tok).General([]int{1}, nil, []int{1}, nil) // (N, V)
	}
	w := scope.At("lm_head").VariableWithShape("weights", shapes.Make(dtypes.Float32, cfg.DModel, cfg.Vocab)).NodeValue(g)
	return MatMul(h, w)
}

// Decay reports whether AdamW's weight decay applies to the variable at path: only the
// matmul weights get it, never biases, LayerNorm gains or offsets, or embeddings.
func (m *GPT) Decay(path string) bool {
	return mlmodel.BasePath(path) == "weights"
}

// varSpec describes one variable of the model and its initial value.
type varSpec struct {
	path string
	dims []int
	init string // "normal", "zeros" or "ones"
}

// variables lists every variable of the model in a fixed order, the order initial values are drawn in.
func (m *GPT) variables() []varSpec {
	c := m.Cfg
	d := c.DModel
	specs := []varSpec{
		{"/token_embed/embeddings", []int{c.Vocab, d}, "normal"},
		{"/pos_embed/embeddings", []int{c.Context, d}, "normal"},
	}
	dense := func(scope string, in, out int) {
		specs = append(specs, varSpec{scope + "/weights", []int{in, out}, "normal"}, varSpec{scope + "/biases", []int{1, out}, "zeros"})
	}
	norm := func(scope string) {
		specs = append(specs, varSpec{scope + "/gain", []int{1, d}, "ones"}, varSpec{scope + "/offset", []int{1, d}, "zeros"})
	}
	for i := range c.Layers {
		l := fmt.Sprintf("/layer_%d", i)
		norm(l + "/ln_1")
		dense(l+"/attn/qkv", d, 3*d)
		dense(l+"/attn/proj", d, d)
		norm(l + "/ln_2")
		dense(l+"/mlp/fc", d, c.MLP)
		dense(l+"/mlp/proj", c.MLP, d)
	}
	norm("/ln_f")
	if !c.Tied {
		specs = append(specs, varSpec{"/lm_head/weights", []int{d, c.Vocab}, "normal"})
	}
	return specs
}

// VariablePaths lists the store paths of all the model's variables, in initialisation order.
func (m *GPT) VariablePaths() []string {
	var paths []string
	for _, s := range m.variables() {
		paths = append(paths, s.path)
	}
	return paths
}

// Init creates the model's variables in store: weights and embeddings drawn from N(0, 0.02)
// with a PCG generator seeded by seed (in VariablePaths order), biases and offsets 0, gains 1.
func (m *GPT) Init(store *mlmodel.Store, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x6770745f696e6974)) // "gpt_init"
	for _, s := range m.variables() {
		n := 1
		for _, d := range s.dims {
			n *= d
		}
		data := make([]float32, n)
		switch s.init {
		case "normal":
			for i := range data {
				data[i] = float32(rng.NormFloat64() * initStd)
			}
		case "ones":
			for i := range data {
				data[i] = 1
			}
		}
		if _, err := store.CreateVariable(s.path, tensors.FromFlatDataAndDimensions(data, slices.Clone(s.dims)...)); err != nil {
			return fmt.Errorf("model: init variable %q: %w", s.path, err)
		}
	}
	return nil
}
