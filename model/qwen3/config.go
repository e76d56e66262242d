package qwen3

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Config holds the Qwen3 hyperparameters read from a Hugging Face config.json.
type Config struct {
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

// defaultInitializerRange is transformers' Qwen3Config default.
const defaultInitializerRange = 0.02

// unsupported lists config keys whose non-default values this implementation does not model.
var unsupported = []struct {
	key  string
	okFn func(v any) bool
	want string
}{
	{"attention_bias", func(v any) bool { return v == nil || v == false }, "false"},
	{"use_sliding_window", func(v any) bool { return v == nil || v == false }, "false"},
	{"rope_scaling", func(v any) bool { return v == nil }, "null"},
	{"hidden_act", func(v any) bool { return v == nil || v == "silu" }, `"silu"`},
	{"model_type", func(v any) bool { return v == nil || v == "qwen3" }, `"qwen3"`},
	{"layer_types", allFullAttention, `only "full_attention" layers`},
}

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

// ParseConfig decodes a Hugging Face config.json; name is used in errors. head_dim defaults to
// hidden_size / num_attention_heads and num_key_value_heads to num_attention_heads, as in
// transformers' Qwen3Config.
func ParseConfig(name string, data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := json.Unmarshal(data, &c.raw); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	for _, u := range unsupported {
		if v, ok := c.raw[u.key]; ok && !u.okFn(v) {
			errs = append(errs, fmt.Errorf("%s: key %q: value %v is not supported (want %s)", name, u.key, v, u.want))
		}
	}
	// Newer transformers releases write "dtype" for torch_dtype and nest rope_theta in
	// rope_parameters.
	if d, ok := c.raw["dtype"].(string); ok && c.TorchDtype == "" {
		c.TorchDtype = d
	}
	if rp, ok := c.raw["rope_parameters"].(map[string]any); ok {
		if typ, _ := rp["rope_type"].(string); typ != "" && typ != "default" {
			errs = append(errs, fmt.Errorf("%s: key \"rope_parameters.rope_type\": %q is not supported (want \"default\")", name, typ))
		}
		if theta, ok := rp["rope_theta"].(float64); ok && c.RopeTheta == 0 {
			c.RopeTheta = theta
		}
	}
	if _, ok := c.raw["head_dim"]; !ok && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if _, ok := c.raw["initializer_range"]; !ok {
		c.InitializerRange = defaultInitializerRange
	}
	if _, ok := c.raw["num_key_value_heads"]; !ok {
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

// LoadConfig reads and parses the config.json at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("qwen3 config: %w", err)
	}
	return ParseConfig(path, data)
}

// maxDims bounds each dimension far above every published Qwen3 model (Qwen3-235B-A22B has
// hidden_size 4096, 94 layers, 64 heads, vocab 151,936), so that a corrupt config.json is
// refused before anything is sized from it, and so that no product of dimensions (NumParams,
// a weight's element count) can overflow an int.
var maxDims = map[string]int{
	"vocab_size":              1 << 24,
	"hidden_size":             1 << 16,
	"intermediate_size":       1 << 20,
	"num_hidden_layers":       1 << 12,
	"num_attention_heads":     1 << 10,
	"num_key_value_heads":     1 << 10,
	"head_dim":                1 << 12,
	"max_position_embeddings": 1 << 24,
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	positive := []struct {
		key string
		v   int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads}, {"head_dim", c.HeadDim},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("key %q: must be > 0, got %d", p.key, p.v))
		} else if limit := maxDims[p.key]; p.v > limit {
			errs = append(errs, fmt.Errorf("key %q: %d exceeds %d, far beyond any Qwen3 model (corrupt config.json?)", p.key, p.v, limit))
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
	return errors.Join(errs...)
}

// JSON returns c as a Hugging Face config.json: the keys of the file c was parsed from (if any),
// with this package's fields and torch_dtype set from c.
func (c Config) JSON() ([]byte, error) {
	out := map[string]any{
		"architectures":           []string{"Qwen3ForCausalLM"},
		"model_type":              "qwen3",
		"hidden_act":              "silu",
		"attention_bias":          false,
		"attention_dropout":       0.0,
		"use_sliding_window":      false,
		"rope_scaling":            nil,
		"initializer_range":       c.InitializerRange,
		"use_cache":               true,
		"max_window_layers":       c.NumHiddenLayers,
		"sliding_window":          nil,
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
	switch key {
	case "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
		"num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "max_position_embeddings",
		"tie_word_embeddings", "torch_dtype", "initializer_range":
		return true
	}
	return false
}

// NumParams returns the number of parameters (the tied LM head counted once).
func (c Config) NumParams() int {
	h, d := c.HiddenSize, c.HeadDim
	perLayer := 2*h + // input and post-attention norms
		h*c.NumAttentionHeads*d*2 + // q_proj, o_proj
		h*c.NumKeyValueHeads*d*2 + // k_proj, v_proj
		2*d + // q_norm, k_norm
		3*h*c.IntermediateSize // gate, up, down
	n := c.VocabSize*h + c.NumHiddenLayers*perLayer + h
	if !c.TieWordEmbeddings {
		n += c.VocabSize * h
	}
	return n
}
