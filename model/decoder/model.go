package decoder

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

// Model is a decoder-only causal language model of one of the supported families (see
// [Families]): its configuration, for a pretrained model the open weight files that Init copies
// into a store, and optionally low-rank adapters ([Model.AddLoRA], [Model.LoadAdapter]). It
// satisfies train.Model.
type Model struct {
	cfg     Config
	dir     string           // the directory LoadDir read, "" for a fresh model
	weights *safetensors.Set // nil for a fresh model
	lora    *LoRA            // nil: every weight is trained
	adapter *adapterFile     // trained adapter weights that Init loads; nil draws fresh ones
}

// New returns a fresh model of configuration cfg; Init draws its weights at random.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	if cfg.InitializerRange == 0 {
		cfg.InitializerRange = defaultInitializerRange
	}
	return &Model{cfg: cfg}, nil
}

// LoadDir opens the Hugging Face model directory dir: config.json and the weights
// (model.safetensors, or the shards of model.safetensors.index.json), memory-mapped. The
// config is checked first, so an unsupported model_type or rope_scaling is refused before any
// weight file is opened. It checks that every tensor the configuration needs is present with
// the right shape and a float dtype, and that no unknown tensor is left over. Call Close when
// the model's weights have been copied into every store that needs them.
func LoadDir(dir string) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if err := checkWeights(cfg, set); err != nil {
		set.Close()
		return nil, fmt.Errorf("model %s: %w", dir, err)
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
		// A tied checkpoint may still carry lm_head.weight, a copy of the embedding; Llama
		// checkpoints made by old transformers carry the rotary tables as rotary_emb.inv_freq.
		if !want[name] && !(cfg.TieWordEmbeddings && name == "lm_head.weight") && !strings.HasSuffix(name, "rotary_emb.inv_freq") {
			errs = append(errs, fmt.Errorf("unexpected tensor %q (not part of a %s model with this config.json)", name, cfg.ModelType))
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

// Decay reports whether weight decay applies to the variable at path: the linear projections,
// the LoRA adapters and an untied LM head decay; biases, RMSNorm gains and the token embedding
// do not.
func (m *Model) Decay(path string) bool {
	return !strings.HasSuffix(path, "norm/weight") && !strings.HasSuffix(path, "/bias") && !strings.Contains(path, "embed_tokens")
}

// Init creates the model's variables in store, under the root scope: the pretrained weights
// converted to float32 for a loaded model, or N(0, initializer_range) projections and
// embeddings, zero biases and unit norm gains, drawn from seed, for a fresh one. With LoRA the
// base weights are frozen (not trainable: no gradients, no optimizer state) and the adapters
// follow them, as trainable variables: the loaded adapter's weights, or A drawn
// kaiming-uniform (a = √5, PEFT's default) from seed and B zero.
func (m *Model) Init(store *mlmodel.Store, seed uint64) error {
	if m.dir != "" && m.weights == nil {
		return fmt.Errorf("model %s: Init after Close: the weights are no longer mapped", m.dir)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for _, spec := range m.cfg.weightSpecs() {
		t := tensors.FromShape(shapes.Make(dtypes.Float32, spec.storeShape()...))
		var fillErr error
		tensors.MustMutableFlatData(t, func(flat []float32) { fillErr = m.fill(spec, rng, flat) })
		if fillErr != nil {
			return fillErr
		}
		if err := setVariable(store, spec.Name, t, m.lora == nil); err != nil {
			return err
		}
	}
	if m.lora != nil {
		return m.initAdapters(store, seed)
	}
	return nil
}

// setVariable creates or overwrites the variable of Hugging Face tensor name with t.
func setVariable(store *mlmodel.Store, name string, t *tensors.Tensor, trainable bool) error {
	path := "/" + VarPath(name)
	v := store.GetVariable(path)
	if v != nil {
		if err := v.SetValue(t); err != nil {
			return fmt.Errorf("decoder: variable %s: %w", path, err)
		}
	} else {
		var err error
		if v, err = store.CreateVariable(path, t); err != nil {
			return fmt.Errorf("decoder: variable %s: %w", path, err)
		}
	}
	v.SetTrainable(trainable)
	return nil
}

// fill writes tensor spec's initial values, in store layout, into dst: decoded straight from the
// mapped file (through one temporary for transposed linear weights), or drawn from rng.
func (m *Model) fill(spec weightSpec, rng *rand.Rand, dst []float32) error {
	if m.weights != nil {
		info, raw, err := m.weights.Raw(spec.Name)
		if err != nil {
			return fmt.Errorf("model %s: %w", m.dir, err)
		}
		hf := dst
		if spec.Kind == kindLinear {
			hf = make([]float32, len(dst))
		}
		if err := safetensors.DecodeFloat32(info.DType, raw, hf); err != nil {
			return fmt.Errorf("model %s: tensor %q: %w", m.dir, spec.Name, err)
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
		switch spec.Kind {
		case kindNorm:
			hf[i] = 1
		case kindBias:
			hf[i] = 0
		default:
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
		exceptions.Panicf("decoder: variable %s does not exist: call Model.Init on the store first", path)
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

// addBias adds b [out] to y [..., out].
func addBias(y, b *Node) *Node {
	dims := y.Shape().Dimensions
	ones := make([]int, len(dims)-1)
	for i := range ones {
		ones[i] = 1
	}
	return Add(y, BroadcastToDims(Reshape(b, append(ones, dims[len(dims)-1])...), dims...))
}

// Pass carries what one graph's forward pass needs besides its input: the configuration, the
// adapters and, in a training graph with LoRA dropout, the random-number-generator state that
// each dropout mask advances.
type Pass struct {
	Cfg  Config
	LoRA *LoRA // nil without adapters
	// RNG is the random state (graph.RNGStateShape) for dropout; nil outside training, where
	// dropout is the identity.
	RNG *Node
	// Visible [B, T, T] says which keys each query sees in packed rows (see model.PackedMask);
	// nil is plain causal attention.
	Visible *Node
}

// Project applies the nn.Linear module (e.g. "self_attn.q_proj", under scope) to x [..., in]:
// x·Wᵀ, plus its bias when the family has one, plus, when LoRA targets the module,
// (alpha/r)·dropout(x)·Aᵀ·Bᵀ as PEFT's lora.Linear computes it.
func (p *Pass) Project(scope *mlmodel.Scope, module string, x *Node) *Node {
	g := x.Graph()
	y := linear(x, weight(scope, g, module+".weight"))
	if p.hasBias(module) {
		y = addBias(y, weight(scope, g, module+".bias"))
	}
	if p.LoRA == nil || !p.LoRA.targets(moduleName(module)) {
		return y
	}
	in := x
	if p.RNG != nil && p.LoRA.Dropout > 0 {
		var u *Node
		p.RNG, u = RandomUniform(p.RNG, x.Shape())
		keep := LessThan(u, Scalar(g, x.DType(), 1-p.LoRA.Dropout))
		in = Where(keep, MulScalar(x, 1/(1-p.LoRA.Dropout)), ZerosLike(x))
	}
	a := weight(scope, g, module+".lora_A.weight") // [in, r]
	b := weight(scope, g, module+".lora_B.weight") // [r, out]
	return Add(y, MulScalar(linear(linear(in, a), b), p.LoRA.Scale()))
}

// hasBias reports whether the module carries a bias in this family.
func (p *Pass) hasBias(module string) bool {
	switch moduleName(module) {
	case "q_proj", "k_proj", "v_proj":
		return p.Cfg.QKVBias()
	case "o_proj":
		return p.Cfg.OBias()
	}
	return false
}

// moduleName is the last part of a module path: "self_attn.q_proj" → "q_proj".
func moduleName(module string) string {
	return module[strings.LastIndexByte(module, '.')+1:]
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
// or [B, T, head_dim] for per-row positions [B, T] (packed rows), laid out as Hugging Face's
// (freqs, freqs) concatenation, with the inverse frequencies of [Config.InvFreq] (rope_theta,
// rescaled by a llama3 rope_scaling).
func Rotary(cfg Config, positions *Node) (cos, sin *Node) {
	g := positions.Graph()
	inv64 := cfg.InvFreq()
	invFreq := make([]float32, len(inv64))
	for i, f := range inv64 {
		invFreq[i] = float32(f)
	}
	pos := ExpandAxes(ConvertDType(positions, dtypes.Float32), -1) // [(B,) T, 1]
	inv := Const(g, invFreq)
	for inv.Rank() < pos.Rank() {
		inv = ExpandAxes(inv, 0)
	}
	freqs := Mul(pos, inv)                        // [(B,) T, D/2]
	emb := Concatenate([]*Node{freqs, freqs}, -1) // [(B,) T, D]
	return Cos(emb), Sin(emb)
}

// applyRotary rotates x [B, n, T, D] (heads before positions) by the tables cos, sin [T, D] (or
// [B, T, D]): x·cos + rotate_half(x)·sin, rotate_half(x) = (−x₂, x₁) for the halves x₁, x₂ of
// the last axis. In this layout a [T, D] table repeats over the leading B·n rows, a broadcast
// the Go backend runs with its SIMD kernels; with positions before heads it took its generic
// element-by-element path. The products are element-wise, so the layout does not change a bit.
func applyRotary(x, cos, sin *Node) *Node {
	dims := x.Shape().Dimensions
	d := dims[3]
	x1 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, d/2))
	x2 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(d/2, d))
	rotated := Concatenate([]*Node{Neg(x2), x1}, 3)
	rows := 1
	if cos.Rank() == 3 {
		rows = dims[0]
	}
	c := BroadcastToDims(Reshape(cos, rows, 1, dims[2], d), dims...)
	s := BroadcastToDims(Reshape(sin, rows, 1, dims[2], d), dims...)
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

// Attention is the self-attention for x [B, T, hidden] at rotary tables cos, sin: q/k/v
// projections (with bias for qwen2 or attention_bias), per-head RMSNorm of q and k (qwen3),
// rotary embeddings, causal grouped-query attention, output projection. p.Visible [B, T, T]
// (packed rows, see model.PackedMask) says which keys each query sees; nil is plain causal
// attention. With a cache it also stores (prefill) or reads and updates (decoding step) the keys
// and values.
func Attention(scope *mlmodel.Scope, p *Pass, x, cos, sin *Node, cache *KVCache) *Node {
	g := x.Graph()
	cfg := p.Cfg
	dims := x.Shape().Dimensions
	b, t := dims[0], dims[1]
	nh, nkv, d := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	q := Reshape(p.Project(scope, "self_attn.q_proj", x), b, t, nh, d)  // [B, T, nh, D]
	k := Reshape(p.Project(scope, "self_attn.k_proj", x), b, t, nkv, d) // [B, T, nkv, D]
	v := Reshape(p.Project(scope, "self_attn.v_proj", x), b, t, nkv, d) // [B, T, nkv, D]
	if cfg.QKNorm() {
		q = RMSNorm(q, weight(scope, g, "self_attn.q_norm.weight"), cfg.RMSNormEps)
		k = RMSNorm(k, weight(scope, g, "self_attn.k_norm.weight"), cfg.RMSNormEps)
	}
	q = applyRotary(TransposeAllDims(q, 0, 2, 1, 3), cos, sin) // [B, nh, T, D]
	k = applyRotary(TransposeAllDims(k, 0, 2, 1, 3), cos, sin) // [B, nkv, T, D]
	v = TransposeAllDims(v, 0, 2, 1, 3)                        // [B, nkv, T, D]
	var out *Node
	switch {
	case cache == nil || cache.Pos == nil: // whole sequence from position 0
		visible := p.Visible
		if visible == nil {
			rows := Iota(g, shapes.Make(dtypes.Int32, t, t), 0)
			cols := Iota(g, shapes.Make(dtypes.Int32, t, t), 1)
			visible = LessOrEqual(cols, rows)
		}
		out = attend(cfg, q, k, v, visible)
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
	return p.Project(scope, "self_attn.o_proj", out)
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

// attend computes softmax(q·kᵀ/√D + mask)·v for queries q [B, nh, T, D] and keys, values
// [B, nkv, S, D], where query head h reads key/value head h / (nh/nkv) (Hugging Face's
// repeat_kv) and visible [T, S] (or [B, T, S], per row) says which keys each query sees.
// Returns [B, T, nh·D].
// The products are laid out as [batch, M, K]·[batch, K, N] to hit the fast matmul kernels.
func attend(cfg Config, q, k, v, visible *Node) *Node {
	b, t := q.Shape().Dimensions[0], q.Shape().Dimensions[2]
	s := k.Shape().Dimensions[2]
	nh, nkv, d := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	groups := nh / nkv
	qh := Reshape(q, b*nkv, groups*t, d)                                 // [B·nkv, G·T, D]: head h = kv·G + g
	kt := Reshape(TransposeAllDims(k, 0, 1, 3, 2), b*nkv, d, s)          // [B·nkv, D, S]
	scores := DotGeneral(qh, []int{2}, []int{0}, kt, []int{1}, []int{0}) // [B·nkv, G·T, S]
	scores = MulScalar(scores, 1/math.Sqrt(float64(d)))
	scores = Reshape(scores, b, nkv, groups, t, s)
	rows := 1
	if visible.Rank() == 3 {
		rows = b
	}
	mask := BroadcastToDims(Reshape(visible, rows, 1, 1, t, s), b, nkv, groups, t, s)
	scores = Where(mask, scores, BroadcastToDims(Scalar(q.Graph(), dtypes.Float32, -1e30), b, nkv, groups, t, s))
	probs := Reshape(model.LastAxisSoftmax(scores), b*nkv, groups*t, s)
	out := DotGeneral(probs, []int{2}, []int{0}, Reshape(v, b*nkv, s, d), []int{1}, []int{0}) // [B·nkv, G·T, D]
	out = TransposeAllDims(Reshape(out, b, nkv, groups, t, d), 0, 3, 1, 2, 4)                 // [B, T, nkv, G, D]
	return Reshape(out, b, t, nh*d)
}

// MLP is the SwiGLU feed-forward: down_proj(silu(gate_proj(x)) · up_proj(x)).
func MLP(scope *mlmodel.Scope, p *Pass, x *Node) *Node {
	gate := p.Project(scope, "mlp.gate_proj", x)
	return p.Project(scope, "mlp.down_proj", Mul(model.SiLU(gate), p.Project(scope, "mlp.up_proj", x)))
}

// Block is one decoder layer: pre-norm attention (with p.Visible, see Attention) and pre-norm
// MLP, each added to the residual.
func Block(scope *mlmodel.Scope, p *Pass, x, cos, sin *Node, cache *KVCache) *Node {
	g := x.Graph()
	eps := p.Cfg.RMSNormEps
	x = Add(x, Attention(scope, p, RMSNorm(x, weight(scope, g, "input_layernorm.weight"), eps), cos, sin, cache))
	x = Add(x, MLP(scope, p, RMSNorm(x, weight(scope, g, "post_attention_layernorm.weight"), eps)))
	return x
}

// pass returns the forward-pass settings of a graph; rng is nil outside training.
func (m *Model) pass(rng *Node) *Pass { return &Pass{Cfg: m.cfg, LoRA: m.lora, RNG: rng} }

// body runs the embedding, the layers and the final norm on ids [B, T] at positions [T] (or
// [B, T] with p.Visible, for packed rows; see Attention).
func (m *Model) body(scope *mlmodel.Scope, p *Pass, ids, positions *Node, caches []*KVCache) *Node {
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
		x = Block(layers.At("%d", l), p, x, cos, sin, cache)
	}
	return RMSNorm(x, weight(scope, g, "model.norm.weight"), cfg.RMSNormEps)
}

// Hidden builds the final hidden states [B, T, hidden] for ids [B, T] (Int32), without dropout.
// The attention is causal, and padding sits at the end of each row, so mask (1 on tokens, 0 on
// padding) does not change any real position's output and is not used.
func (m *Model) Hidden(scope *mlmodel.Scope, ids, mask *Node) *Node {
	return m.HiddenTraining(scope, ids, mask, nil)
}

// HiddenTraining is Hidden in a training graph: with LoRA dropout, each adapter's input is
// dropped out with masks drawn from the random state rng (graph.RNGStateShape), so that the
// trainer decides, from its seed and step, which masks a step uses. A nil rng, or no dropout,
// gives Hidden's graph.
func (m *Model) HiddenTraining(scope *mlmodel.Scope, ids, mask, rng *Node) *Node {
	_ = mask
	t := ids.Shape().Dimensions[1]
	positions := Iota(ids.Graph(), shapes.Make(dtypes.Int32, t), 0)
	return m.body(scope, m.pass(rng), ids, positions, nil)
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
