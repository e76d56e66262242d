package decoder

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
)

// Config holds the hyperparameters of a decoder read from a Hugging Face config.json. The
// family (model_type) decides the parts that differ: per-head q/k RMSNorm (qwen3), bias on the
// q/k/v projections (qwen2, or attention_bias), and the default rotary embedding.
type Config struct {
	// ModelType is config.json's model_type: "llama", "qwen2" or "qwen3" (see Families).
	ModelType             string  `json:"model_type"`
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	NumKeyValueHeads      int     `json:"num_key_value_heads"`
	HeadDim               int     `json:"head_dim"`
	RMSNormEps            float64 `json:"rms_norm_eps"`
	RopeTheta             float64 `json:"rope_theta"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TieWordEmbeddings     bool    `json:"tie_word_embeddings"`
	// AttentionBias puts a bias on the q, k, v and o projections (llama and qwen3's
	// attention_bias). Qwen2 always has q/k/v biases and never an o bias, whatever this says.
	AttentionBias bool `json:"attention_bias"`
	// RopeScaling rescales the rotary frequencies; nil when config.json has none (or "default").
	RopeScaling *RopeScaling `json:"-"`
	// InitializerRange is the standard deviation of the random initialisation of a fresh model
	// (transformers' default, 0.02, when absent).
	InitializerRange float64 `json:"initializer_range"`
	// TorchDtype is the dtype the weights are published in ("float32", "bfloat16", ...); compute
	// is always float32.
	TorchDtype string `json:"torch_dtype"`
	// raw keeps every key of the config.json this Config came from, so that Save writes back
	// the keys this package does not model (token ids, architectures, ...).
	raw map[string]any
}

// RopeScaling is a rope_scaling (or rope_parameters) entry of type llama3, as Llama 3.1 and
// 3.2 publish it: low frequencies are divided by Factor, high ones kept, and the band between
// interpolated (transformers' _compute_llama3_parameters).
type RopeScaling struct {
	Type                          string  // "llama3", the only type supported
	Factor                        float64 // factor
	LowFreqFactor                 float64 // low_freq_factor
	HighFreqFactor                float64 // high_freq_factor
	OriginalMaxPositionEmbeddings int     // original_max_position_embeddings
}

// family is what distinguishes the supported model_types.
type family struct {
	architecture string // config.json's architectures entry
	qkNorm       bool   // per-head RMSNorm of q and k before the rotary embedding
	qkvBias      bool   // bias on q/k/v regardless of attention_bias
	slidingKeys  bool   // the family's config carries use_sliding_window and layer_types
}

var families = map[string]family{
	"llama": {architecture: "LlamaForCausalLM"},
	"qwen2": {architecture: "Qwen2ForCausalLM", qkvBias: true, slidingKeys: true},
	"qwen3": {architecture: "Qwen3ForCausalLM", qkNorm: true, slidingKeys: true},
}

// Families returns the supported model_type values, sorted.
func Families() []string {
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// RopeTypes are the supported rope_scaling types ("default" means none).
var ropeTypes = []string{"default", "llama3"}

// QKNorm reports whether attention normalises each head's q and k (qwen3).
func (c Config) QKNorm() bool { return families[c.ModelType].qkNorm }

// QKVBias reports whether the q, k and v projections carry a bias.
func (c Config) QKVBias() bool { return families[c.ModelType].qkvBias || c.AttentionBias }

// OBias reports whether the output projection carries a bias.
func (c Config) OBias() bool { return c.AttentionBias && !families[c.ModelType].qkvBias }

// defaultInitializerRange is transformers' default for every supported family.
const defaultInitializerRange = 0.02

// unsupported lists config keys whose non-default values this implementation does not model;
// sliding says the check applies only to families with sliding-window keys.
var unsupported = []struct {
	key     string
	okFn    func(v any) bool
	want    string
	sliding bool
}{
	{key: "use_sliding_window", okFn: isFalse, want: "false", sliding: true},
	{key: "hidden_act", okFn: func(v any) bool { return v == nil || v == "silu" }, want: `"silu"`},
	{key: "mlp_bias", okFn: isFalse, want: "false"},
	{key: "layer_types", okFn: allFullAttention, want: `only "full_attention" layers`},
}

func isFalse(v any) bool { return v == nil || v == false }

func allFullAttention(v any) bool {
	if v == nil {
		return true
	}
	types, ok := v.([]any)
	if !ok {
		return false
	}
	for _, t := range types {
		if t != "full_attention" {
			return false
		}
	}
	return true
}

// ParseConfig decodes a Hugging Face config.json; name is used in errors. An unsupported
// model_type or rope_scaling type is refused by name. head_dim defaults to hidden_size /
// num_attention_heads and num_key_value_heads to num_attention_heads, as in transformers.
func ParseConfig(name string, data []byte) (Config, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	mt, _ := raw["model_type"].(string)
	if _, ok := families[mt]; !ok {
		got := "missing"
		if v, ok := raw["model_type"]; ok {
			got = fmt.Sprintf("%v is not supported", v)
			if s, ok := v.(string); ok {
				got = fmt.Sprintf("%q is not supported", s)
			}
		}
		return Config{}, fmt.Errorf("%s: key \"model_type\": %s (supported: %s)", name, got, strings.Join(Families(), ", "))
	}
	// head_dim may be null in published files; decode into a copy without it.
	if v, ok := raw["head_dim"]; ok && v == nil {
		delete(raw, "head_dim")
		data, _ = json.Marshal(raw)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	c.raw = raw
	fam := families[mt]
	var errs []error
	for _, u := range unsupported {
		if u.sliding && !fam.slidingKeys {
			continue
		}
		if v, ok := raw[u.key]; ok && !u.okFn(v) {
			errs = append(errs, fmt.Errorf("%s: key %q: value %v is not supported (want %s)", name, u.key, v, u.want))
		}
	}
	if mt == "qwen2" && c.AttentionBias {
		errs = append(errs, fmt.Errorf("%s: key \"attention_bias\": true is not a qwen2 setting (Qwen2 always has q/k/v biases and no o_proj bias): remove it", name))
	}
	// Newer transformers releases write "dtype" for torch_dtype and rope_parameters for
	// rope_theta and rope_scaling.
	if d, ok := raw["dtype"].(string); ok && c.TorchDtype == "" {
		c.TorchDtype = d
	}
	if rs, ok := raw["rope_scaling"]; ok && rs != nil {
		var err error
		if c.RopeScaling, err = parseRopeScaling("rope_scaling", rs); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if rp, ok := raw["rope_parameters"].(map[string]any); ok {
		if theta, ok := rp["rope_theta"].(float64); ok && c.RopeTheta == 0 {
			c.RopeTheta = theta
		}
		rs, err := parseRopeScaling("rope_parameters", rp)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		} else if rs != nil && c.RopeScaling == nil {
			c.RopeScaling = rs
		}
	}
	if _, ok := raw["head_dim"]; !ok && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if _, ok := raw["initializer_range"]; !ok {
		c.InitializerRange = defaultInitializerRange
	}
	if _, ok := raw["num_key_value_heads"]; !ok {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseRopeScaling reads a rope_scaling or rope_parameters object: nil for the default
// rotary embedding, the llama3 parameters, or an error naming the unsupported type or the
// missing field.
func parseRopeScaling(key string, v any) (*RopeScaling, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("key %q: want an object or null, got %v", key, v)
	}
	typ, _ := m["rope_type"].(string)
	if typ == "" {
		typ, _ = m["type"].(string)
	}
	switch typ {
	case "", "default":
		return nil, nil
	case "llama3":
	default:
		return nil, fmt.Errorf("key %q: rope type %q is not supported (supported: %s)", key, typ, strings.Join(ropeTypes, ", "))
	}
	rs := &RopeScaling{Type: typ}
	var errs []error
	num := func(field string, dst *float64) {
		f, ok := m[field].(float64)
		if !ok {
			errs = append(errs, fmt.Errorf("key \"%s.%s\": missing or not a number (rope type llama3 needs it)", key, field))
			return
		}
		*dst = f
	}
	var orig float64
	num("factor", &rs.Factor)
	num("low_freq_factor", &rs.LowFreqFactor)
	num("high_freq_factor", &rs.HighFreqFactor)
	num("original_max_position_embeddings", &orig)
	rs.OriginalMaxPositionEmbeddings = int(orig)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := rs.validate(key); err != nil {
		return nil, err
	}
	return rs, nil
}

func (rs *RopeScaling) validate(key string) error {
	var errs []error
	if rs.Type != "llama3" {
		errs = append(errs, fmt.Errorf("key %q: rope type %q is not supported (supported: %s)", key, rs.Type, strings.Join(ropeTypes, ", ")))
	}
	if !(rs.Factor > 0) {
		errs = append(errs, fmt.Errorf("key \"%s.factor\": must be > 0, got %g", key, rs.Factor))
	}
	if !(rs.LowFreqFactor > 0) || !(rs.HighFreqFactor > rs.LowFreqFactor) {
		errs = append(errs, fmt.Errorf("key \"%s.high_freq_factor\": need 0 < low_freq_factor < high_freq_factor, got %g and %g", key, rs.LowFreqFactor, rs.HighFreqFactor))
	}
	if rs.OriginalMaxPositionEmbeddings <= 0 {
		errs = append(errs, fmt.Errorf("key \"%s.original_max_position_embeddings\": must be > 0, got %d", key, rs.OriginalMaxPositionEmbeddings))
	}
	return errors.Join(errs...)
}

// LoadConfig reads and parses the config.json at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("model config: %w", err)
	}
	return ParseConfig(path, data)
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if _, ok := families[c.ModelType]; !ok {
		errs = append(errs, fmt.Errorf("key \"model_type\": %q is not supported (supported: %s)", c.ModelType, strings.Join(Families(), ", ")))
	}
	// Each dimension must be positive and is bounded far above every published model of the
	// supported families (Llama 3.1 405B: hidden_size 16384, 126 layers, 128 heads; Qwen3-235B-A22B:
	// vocab 151,936), so that a corrupt config.json is refused before anything is sized from it
	// and no product of dimensions (NumParams, a weight's element count) can overflow an int.
	positive := []struct {
		key    string
		v, max int
	}{
		{"vocab_size", c.VocabSize, 1 << 24}, {"hidden_size", c.HiddenSize, 1 << 16},
		{"intermediate_size", c.IntermediateSize, 1 << 20}, {"num_hidden_layers", c.NumHiddenLayers, 1 << 12},
		{"num_attention_heads", c.NumAttentionHeads, 1 << 10}, {"num_key_value_heads", c.NumKeyValueHeads, 1 << 10},
		{"head_dim", c.HeadDim, 1 << 12}, {"max_position_embeddings", c.MaxPositionEmbeddings, 1 << 24},
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("key %q: must be > 0, got %d", p.key, p.v))
		} else if p.v > p.max {
			errs = append(errs, fmt.Errorf("key %q: %d exceeds %d, far beyond any model of these families (corrupt config.json?)", p.key, p.v, p.max))
		}
	}
	if c.NumKeyValueHeads > 0 && c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		errs = append(errs, fmt.Errorf("key \"num_attention_heads\": %d is not a multiple of num_key_value_heads=%d", c.NumAttentionHeads, c.NumKeyValueHeads))
	}
	if c.HeadDim%2 != 0 {
		errs = append(errs, fmt.Errorf("key \"head_dim\": rotary embeddings need an even head_dim, got %d", c.HeadDim))
	}
	if !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0) {
		errs = append(errs, fmt.Errorf("key \"rms_norm_eps\": must be a finite number > 0, got %g", c.RMSNormEps))
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		errs = append(errs, fmt.Errorf("key \"rope_theta\": must be a finite number > 0, got %g", c.RopeTheta))
	}
	if math.IsNaN(c.InitializerRange) || math.IsInf(c.InitializerRange, 0) || c.InitializerRange < 0 {
		errs = append(errs, fmt.Errorf("key \"initializer_range\": must be a finite number ≥ 0, got %g", c.InitializerRange))
	}
	if c.RopeScaling != nil {
		if err := c.RopeScaling.validate("rope_scaling"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// InvFreq returns the rotary inverse frequencies θ^(−2i/head_dim), i < head_dim/2, computed in
// float64 and rescaled by rope_scaling when it is set.
func (c Config) InvFreq() []float64 {
	half := c.HeadDim / 2
	inv := make([]float64, half)
	for i := range inv {
		inv[i] = 1 / math.Pow(c.RopeTheta, float64(2*i)/float64(c.HeadDim))
	}
	rs := c.RopeScaling
	if rs == nil {
		return inv
	}
	// transformers' _compute_llama3_parameters: wavelengths longer than
	// original/low_freq_factor are divided by factor, shorter than original/high_freq_factor
	// kept, and the band between interpolated smoothly.
	old := float64(rs.OriginalMaxPositionEmbeddings)
	lowWavelen, highWavelen := old/rs.LowFreqFactor, old/rs.HighFreqFactor
	for i, f := range inv {
		wavelen := 2 * math.Pi / f
		switch {
		case wavelen < highWavelen:
		case wavelen > lowWavelen:
			inv[i] = f / rs.Factor
		default:
			smooth := (old/wavelen - rs.LowFreqFactor) / (rs.HighFreqFactor - rs.LowFreqFactor)
			inv[i] = (1-smooth)*f/rs.Factor + smooth*f
		}
	}
	return inv
}

// JSON returns c as a Hugging Face config.json: the keys of the file c was parsed from (if any),
// with this package's fields and torch_dtype set from c.
func (c Config) JSON() ([]byte, error) {
	fam := families[c.ModelType]
	out := map[string]any{
		"architectures":           []string{fam.architecture},
		"model_type":              c.ModelType,
		"hidden_act":              "silu",
		"attention_bias":          c.AttentionBias,
		"attention_dropout":       0.0,
		"rope_scaling":            nil,
		"initializer_range":       c.InitializerRange,
		"use_cache":               true,
		"transformers_version":    "4.51.0",
		"vocab_size":              c.VocabSize,
		"hidden_size":             c.HiddenSize,
		"intermediate_size":       c.IntermediateSize,
		"num_hidden_layers":       c.NumHiddenLayers,
		"num_attention_heads":     c.NumAttentionHeads,
		"num_key_value_heads":     c.NumKeyValueHeads,
		"head_dim":                c.HeadDim,
		"rms_norm_eps":            c.RMSNormEps,
		"rope_theta":              c.RopeTheta,
		"max_position_embeddings": c.MaxPositionEmbeddings,
		"tie_word_embeddings":     c.TieWordEmbeddings,
		"torch_dtype":             c.TorchDtype,
	}
	if c.ModelType == "qwen2" {
		delete(out, "attention_bias") // not a Qwen2Config key
	}
	if fam.slidingKeys {
		out["use_sliding_window"] = false
		out["sliding_window"] = nil
		out["max_window_layers"] = c.NumHiddenLayers
	} else {
		out["mlp_bias"] = false
		out["pretraining_tp"] = 1
	}
	if rs := c.RopeScaling; rs != nil {
		out["rope_scaling"] = map[string]any{
			"rope_type": rs.Type, "factor": rs.Factor, "low_freq_factor": rs.LowFreqFactor,
			"high_freq_factor": rs.HighFreqFactor, "original_max_position_embeddings": rs.OriginalMaxPositionEmbeddings,
		}
	}
	if c.TorchDtype == "" {
		out["torch_dtype"] = "float32"
	}
	for k, v := range c.raw {
		if _, ours := out[k]; !ours || !isModelled(k) {
			out[k] = v
		}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// isModelled reports whether key is a field of Config (whose value in c wins over the raw file).
func isModelled(key string) bool {
	return slices.Contains([]string{
		"model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
		"num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "max_position_embeddings",
		"tie_word_embeddings", "torch_dtype", "initializer_range", "attention_bias", "rope_scaling",
	}, key)
}

// NumParams returns the number of parameters (the tied LM head counted once).
func (c Config) NumParams() int {
	n := 0
	for _, spec := range c.weightSpecs() {
		size := 1
		for _, d := range spec.Shape {
			size *= d
		}
		n += size
	}
	return n
}
