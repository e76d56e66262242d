package qwen3

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // model code reads like the math
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/safetensors"
)

// Model is a Qwen3 causal language model: its configuration and, for a pretrained model, the
// open weight files that Init copies into a store. It satisfies train.Model.
type Model struct {
	cfg     Config
	dir     string           // the directory LoadDir read, "" for a fresh model
	weights *safetensors.Set // nil for a fresh model
}

// New returns a fresh Qwen3 model of configuration cfg; Init draws its weights at random.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("qwen3: %w", err)
	}
	if cfg.InitializerRange == 0 {
		cfg.InitializerRange = defaultInitializerRange
	}
	return &Model{cfg: cfg}, nil
}

// LoadDir opens the Hugging Face model directory dir: config.json and the weights
// (model.safetensors, or the shards of model.safetensors.index.json), memory-mapped. It checks
// that every tensor the configuration needs is present with the right shape and a float dtype,
// and that no unknown tensor is left over. Call Close when the model's weights have been copied
// into every store that needs them.
func LoadDir(dir string) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("qwen3 %s: %w", dir, err)
	}
	if err := checkWeights(cfg, set); err != nil {
		set.Close()
		return nil, fmt.Errorf("qwen3 %s: %w", dir, err)
	}
	return &Model{cfg: cfg, dir: dir, weights: set}, nil
}

// CheckDir checks the Hugging Face model directory dir as LoadDir does (config.json, and every
// weight file's header against it) and closes it again, so that a run can refuse a bad model
// before any training starts. It returns the configuration.
func CheckDir(dir string) (Config, error) {
	m, err := LoadDir(dir)
	if err != nil {
		return Config{}, err
	}
	return m.cfg, m.Close()
}

// checkWeights reports every missing, misshapen, non-float or unexpected tensor at once. The
// number of layers is compared first, so that a config.json claiming far more layers than the
// weights hold is refused before a tensor list is built from it.
func checkWeights(cfg Config, set *safetensors.Set) error {
	if n := layersIn(set.Names()); n != cfg.NumHiddenLayers {
		return fmt.Errorf("config.json num_hidden_layers is %d but the weights hold %d layers (model.layers.N.*): the config and the weights are of different models", cfg.NumHiddenLayers, n)
	}
	var errs []error
	want := map[string]bool{}
	for _, spec := range cfg.weightSpecs() {
		want[spec.Name] = true
		info, ok := set.Info(spec.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %q is missing", spec.Name))
			continue
		}
		if !slices.Equal(info.Shape, spec.Shape) {
			errs = append(errs, fmt.Errorf("tensor %q has shape %v, config.json implies %v", spec.Name, info.Shape, spec.Shape))
		}
		switch info.DType {
		case safetensors.F32, safetensors.BF16, safetensors.F16:
		default:
			errs = append(errs, fmt.Errorf("tensor %q has dtype %s (want F32, BF16 or F16)", spec.Name, info.DType))
		}
	}
	for _, name := range set.Names() {
		// A tied checkpoint may still carry lm_head.weight, a copy of the embedding.
		if !want[name] && !(cfg.TieWordEmbeddings && name == "lm_head.weight") {
			errs = append(errs, fmt.Errorf("unexpected tensor %q (not part of a Qwen3 model with this config.json)", name))
		}
	}
	return errors.Join(errs...)
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Close unmaps the weight files of a loaded model; a fresh model has none.
func (m *Model) Close() error {
	if m.weights == nil {
		return nil
	}
	err := m.weights.Close()
	m.weights = nil
	return err
}

// Context is the longest sequence the model accepts: max_position_embeddings.
func (m *Model) Context() int { return m.cfg.MaxPositionEmbeddings }

// Decay reports whether weight decay applies to the variable at path: the linear projections
// and an untied LM head decay; RMSNorm gains and the token embedding do not.
func (m *Model) Decay(path string) bool {
	return !strings.HasSuffix(path, "norm/weight") && !strings.Contains(path, "embed_tokens")
}

// Init creates the model's variables in store, under the root scope: the pretrained weights
// converted to float32 for a loaded model, or N(0, initializer_range) projections and
// embeddings with unit norm gains, drawn from seed, for a fresh one.
func (m *Model) Init(store *mlmodel.Store, seed uint64) error {
	if m.dir != "" && m.weights == nil {
		return fmt.Errorf("qwen3 %s: Init after Close: the weights are no longer mapped", m.dir)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for _, spec := range m.cfg.weightSpecs() {
		t := tensors.FromShape(shapes.Make(dtypes.Float32, spec.storeShape()...))
		var fillErr error
		tensors.MustMutableFlatData(t, func(flat []float32) { fillErr = m.fill(spec, rng, flat) })
		if fillErr != nil {
			return fillErr
		}
		path := "/" + VarPath(spec.Name)
		if v := store.GetVariable(path); v != nil {
			if err := v.SetValue(t); err != nil {
				return fmt.Errorf("qwen3: variable %s: %w", path, err)
			}
			continue
		}
		if _, err := store.CreateVariable(path, t); err != nil {
			return fmt.Errorf("qwen3: variable %s: %w", path, err)
		}
	}
	return nil
}

// fill writes tensor spec's initial values, in store layout, into dst: decoded straight from the
// mapped file (through one temporary for transposed linear weights), or drawn from rng.
func (m *Model) fill(spec weightSpec, rng *rand.Rand, dst []float32) error {
	if m.weights != nil {
		info, raw, err := m.weights.Raw(spec.Name)
		if err != nil {
			return fmt.Errorf("qwen3 %s: %w", m.dir, err)
		}
		hf := dst
		if spec.Kind == kindLinear {
			hf = make([]float32, len(dst))
		}
		if err := safetensors.DecodeFloat32(info.DType, raw, hf); err != nil {
			return fmt.Errorf("qwen3 %s: tensor %q: %w", m.dir, spec.Name, err)
		}
		if spec.Kind == kindLinear {
			transpose2DInto(dst, hf, spec.Shape[0], spec.Shape[1])
		}
		return nil
	}
	hf := dst
	if spec.Kind == kindLinear {
		hf = make([]float32, len(dst))
	}
	for i := range hf {
		if spec.Kind == kindNorm {
			hf[i] = 1
		} else {
			hf[i] = float32(rng.NormFloat64() * m.cfg.InitializerRange)
		}
	}
	if spec.Kind == kindLinear {
		transpose2DInto(dst, hf, spec.Shape[0], spec.Shape[1])
	}
	return nil
}

// ---- the forward pass ------------------------------------------------------------------------

// weight returns the value of Hugging Face tensor name (in store layout) in g.
func weight(scope *mlmodel.Scope, g *Graph, name string) *Node {
	path := mlmodel.JoinPath(scope.Scope(), VarPath(name))
	v := scope.Store().GetVariable(path)
	if v == nil {
		exceptions.Panicf("qwen3: variable %s does not exist: call Model.Init on the store first", path)
	}
	return v.NodeValue(g)
}

// linear applies an nn.Linear without bias whose weight w is stored [in, out] to x [..., in].
func linear(x, w *Node) *Node {
	dims := x.Shape().Dimensions
	in, out := w.Shape().Dimensions[0], w.Shape().Dimensions[1]
	flat := Reshape(x, -1, in)
	y := DotGeneral(flat, []int{1}, nil, w, []int{0}, nil) // [N, out]
	return Reshape(y, append(dims[:len(dims)-1:len(dims)-1], out)...)
}

// RMSNorm normalises x over its last axis and scales by gain: gain · x / sqrt(mean(x²) + eps).
func RMSNorm(x, gain *Node, eps float64) *Node {
	dims := x.Shape().Dimensions
	meanSq := ReduceAndKeep(Square(x), ReduceMean, -1) // [..., 1]
	// 1/Sqrt rather than Rsqrt: GoMLX v0.28.2 defines no gradient for Rsqrt.
	rms := BroadcastToDims(Sqrt(AddScalar(meanSq, eps)), dims...)
	ones := make([]int, len(dims)-1)
	for i := range ones {
		ones[i] = 1
	}
	g := BroadcastToDims(Reshape(gain, append(ones, dims[len(dims)-1])...), dims...)
	return Mul(Div(x, rms), g)
}

// Rotary returns the rotary-embedding tables cos, sin [T, head_dim] for positions [T] (Int32),
// laid out as Hugging Face's (freqs, freqs) concatenation.
func Rotary(cfg Config, positions *Node) (cos, sin *Node) {
	g := positions.Graph()
	half := cfg.HeadDim / 2
	invFreq := make([]float32, half)
	for i := range invFreq {
		invFreq[i] = float32(1 / math.Pow(cfg.RopeTheta, float64(2*i)/float64(cfg.HeadDim)))
	}
	pos := ExpandAxes(ConvertDType(positions, dtypes.Float32), -1) // [T, 1]
	freqs := Mul(pos, ExpandAxes(Const(g, invFreq), 0))            // [T, D/2]
	emb := Concatenate([]*Node{freqs, freqs}, 1)                   // [T, D]
	return Cos(emb), Sin(emb)
}

// applyRotary rotates x [B, T, n, D] by the tables cos, sin [T, D]: x·cos + rotate_half(x)·sin,
// rotate_half(x) = (−x₂, x₁) for the halves x₁, x₂ of the last axis.
func applyRotary(x, cos, sin *Node) *Node {
	dims := x.Shape().Dimensions
	d := dims[3]
	x1 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, d/2))
	x2 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(d/2, d))
	rotated := Concatenate([]*Node{Neg(x2), x1}, 3)
	c := BroadcastToDims(Reshape(cos, 1, dims[1], 1, d), dims...)
	s := BroadcastToDims(Reshape(sin, 1, dims[1], 1, d), dims...)
	return Add(Mul(x, c), Mul(rotated, s))
}

// KVCache carries one layer's keys and values [B, kv_heads, C, D] through a generation graph
// (see [Generator]); Attention and Block take nil outside generation.
type KVCache struct {
	K, V *Node
	// Pos is the position (scalar Int32) of the single query token of a decoding step; nil when
	// the graph processes a whole prompt from position 0 and fills the cache.
	Pos      *Node
	Capacity int
}

// Attention is Qwen3's self-attention for x [B, T, hidden] at rotary tables cos, sin: q/k/v
// projections, per-head RMSNorm of q and k, rotary embeddings, causal grouped-query attention,
// output projection. With a cache it also stores (prefill) or reads and updates (decoding step)
// the keys and values.
func Attention(scope *mlmodel.Scope, cfg Config, x, cos, sin *Node, cache *KVCache) *Node {
	g := x.Graph()
	w := func(name string) *Node { return weight(scope, g, "self_attn."+name+".weight") }
	dims := x.Shape().Dimensions
	b, t := dims[0], dims[1]
	nh, nkv, d := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	q := Reshape(linear(x, w("q_proj")), b, t, nh, d)  // [B, T, nh, D]
	k := Reshape(linear(x, w("k_proj")), b, t, nkv, d) // [B, T, nkv, D]
	v := Reshape(linear(x, w("v_proj")), b, t, nkv, d) // [B, T, nkv, D]
	q = applyRotary(RMSNorm(q, w("q_norm"), cfg.RMSNormEps), cos, sin)
	k = applyRotary(RMSNorm(k, w("k_norm"), cfg.RMSNormEps), cos, sin)
	k = TransposeAllDims(k, 0, 2, 1, 3) // [B, nkv, T, D]
	v = TransposeAllDims(v, 0, 2, 1, 3) // [B, nkv, T, D]

	var out *Node
	switch {
	case cache == nil || cache.Pos == nil: // whole sequence from position 0
		rows := Iota(g, shapes.Make(dtypes.Int32, t, t), 0)
		cols := Iota(g, shapes.Make(dtypes.Int32, t, t), 1)
		out = attend(cfg, q, k, v, LessOrEqual(cols, rows))
		if cache != nil {
			cache.K, cache.V = padTo(k, cache.Capacity), padTo(v, cache.Capacity)
		}
	default: // one token at cache.Pos: write its key and value, attend to positions ≤ Pos
		c := cache.Capacity
		cacheDims := []int{b, nkv, c, d}
		at := BroadcastToDims(Equal(Iota(g, shapes.Make(dtypes.Int32, 1, 1, c, 1), 2), cache.Pos), cacheDims...)
		cache.K = Where(at, BroadcastToDims(k, cacheDims...), cache.K)
		cache.V = Where(at, BroadcastToDims(v, cacheDims...), cache.V)
		visible := LessOrEqual(Iota(g, shapes.Make(dtypes.Int32, 1, c), 1), cache.Pos) // [T=1, C]
		out = attend(cfg, q, cache.K, cache.V, visible)
	}
	return linear(out, w("o_proj"))
}

// padTo zero-pads x [B, n, T, D] along T to capacity.
func padTo(x *Node, capacity int) *Node {
	dims := x.Shape().Dimensions
	if dims[2] == capacity {
		return x
	}
	zeros := Zeros(x.Graph(), shapes.Make(x.DType(), dims[0], dims[1], capacity-dims[2], dims[3]))
	return Concatenate([]*Node{x, zeros}, 2)
}

// attend computes softmax(q·kᵀ/√D + mask)·v for queries q [B, T, nh, D] and keys, values
// [B, nkv, S, D], where query head h reads key/value head h / (nh/nkv) (Hugging Face's
// repeat_kv) and visible [T, S] says which keys each query sees. Returns [B, T, nh·D].
// The products are laid out as [batch, M, K]·[batch, K, N] to hit the fast matmul kernels.
func attend(cfg Config, q, k, v, visible *Node) *Node {
	b, t := q.Shape().Dimensions[0], q.Shape().Dimensions[1]
	s := k.Shape().Dimensions[2]
	nh, nkv, d := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	groups := nh / nkv
	qh := Reshape(q, b, t, nkv, groups, d)
	qh = TransposeAllDims(qh, 0, 2, 3, 1, 4)                             // [B, nkv, G, T, D]
	qh = Reshape(qh, b*nkv, groups*t, d)                                 // [B·nkv, G·T, D]
	kt := Reshape(TransposeAllDims(k, 0, 1, 3, 2), b*nkv, d, s)          // [B·nkv, D, S]
	scores := DotGeneral(qh, []int{2}, []int{0}, kt, []int{1}, []int{0}) // [B·nkv, G·T, S]
	scores = MulScalar(scores, 1/math.Sqrt(float64(d)))
	scores = Reshape(scores, b, nkv, groups, t, s)
	mask := BroadcastToDims(Reshape(visible, 1, 1, 1, t, s), b, nkv, groups, t, s)
	scores = Where(mask, scores, BroadcastToDims(Scalar(q.Graph(), dtypes.Float32, -1e30), b, nkv, groups, t, s))
	probs := Reshape(model.LastAxisSoftmax(scores), b*nkv, groups*t, s)
	out := DotGeneral(probs, []int{2}, []int{0}, Reshape(v, b*nkv, s, d), []int{1}, []int{0}) // [B·nkv, G·T, D]
	out = TransposeAllDims(Reshape(out, b, nkv, groups, t, d), 0, 3, 1, 2, 4)                 // [B, T, nkv, G, D]
	return Reshape(out, b, t, nh*d)
}

// MLP is Qwen3's SwiGLU feed-forward: down_proj(silu(gate_proj(x)) · up_proj(x)).
func MLP(scope *mlmodel.Scope, cfg Config, x *Node) *Node {
	g := x.Graph()
	w := func(name string) *Node { return weight(scope, g, "mlp."+name+".weight") }
	gate := linear(x, w("gate_proj"))
	return linear(Mul(model.SiLU(gate), linear(x, w("up_proj"))), w("down_proj"))
}

// Block is one decoder layer: pre-norm attention and pre-norm MLP, each added to the residual.
func Block(scope *mlmodel.Scope, cfg Config, x, cos, sin *Node, cache *KVCache) *Node {
	g := x.Graph()
	x = Add(x, Attention(scope, cfg, RMSNorm(x, weight(scope, g, "input_layernorm.weight"), cfg.RMSNormEps), cos, sin, cache))
	x = Add(x, MLP(scope, cfg, RMSNorm(x, weight(scope, g, "post_attention_layernorm.weight"), cfg.RMSNormEps)))
	return x
}

// body runs the embedding, the layers and the final norm on ids [B, T] at positions [T].
func (m *Model) body(scope *mlmodel.Scope, ids, positions *Node, caches []*KVCache) *Node {
	g := ids.Graph()
	cfg := m.cfg
	embed := weight(scope, g, "model.embed_tokens.weight")
	x := Gather(embed, ExpandAxes(ids, -1)) // [B, T, hidden]
	cos, sin := Rotary(cfg, positions)
	layers := scope.At("model").At("layers")
	for l := range cfg.NumHiddenLayers {
		var cache *KVCache
		if caches != nil {
			cache = caches[l]
		}
		x = Block(layers.At("%d", l), cfg, x, cos, sin, cache)
	}
	return RMSNorm(x, weight(scope, g, "model.norm.weight"), cfg.RMSNormEps)
}

// Hidden builds the final hidden states [B, T, hidden] for ids [B, T] (Int32). The attention is
// causal, and padding sits at the end of each row, so mask (1 on tokens, 0 on padding) does not
// change any real position's output and is not used.
func (m *Model) Hidden(scope *mlmodel.Scope, ids, mask *Node) *Node {
	_ = mask
	t := ids.Shape().Dimensions[1]
	positions := Iota(ids.Graph(), shapes.Make(dtypes.Int32, t), 0)
	return m.body(scope, ids, positions, nil)
}

// Head builds the logits [N, vocab] for hidden-state rows h [N, hidden]: h·Eᵀ with the token
// embedding E when tie_word_embeddings, else the lm_head projection.
func (m *Model) Head(scope *mlmodel.Scope, h *Node) *Node {
	g := h.Graph()
	if m.cfg.TieWordEmbeddings {
		embed := weight(scope, g, "model.embed_tokens.weight") // [V, hidden]
		return DotGeneral(h, []int{1}, nil, embed, []int{1}, nil)
	}
	return linear(h, weight(scope, g, "lm_head.weight"))
}

// layersIn counts the distinct layer indices N of the tensor names "model.layers.N.…".
func layersIn(names []string) int {
	seen := map[string]bool{}
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, "model.layers.")
		if !ok {
			continue
		}
		if i, _, ok := strings.Cut(rest, "."); ok {
			seen[i] = true
		}
	}
	return len(seen)
}
