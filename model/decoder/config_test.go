package decoder

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/safetensors"
)

// qwen3_4B is the config.json of Qwen/Qwen3-4B, as published.
const qwen3_4B = `{
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 2560, "initializer_range": 0.02, "intermediate_size": 9728,
  "max_position_embeddings": 40960, "max_window_layers": 36, "model_type": "qwen3",
  "num_attention_heads": 32, "num_hidden_layers": 36, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.0",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936
}`

// llama32_1B is the config.json of meta-llama/Llama-3.2-1B, as published.
const llama32_1B = `{
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256
}`

// qwen25_05B is the config.json of Qwen/Qwen2.5-0.5B, as published.
const qwen25_05B = `{
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936
}`

// smolLM2_135M is the config.json of HuggingFaceTB/SmolLM2-135M (a Llama), as published.
const smolLM2_135M = `{
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu", "hidden_size": 576,
  "initializer_range": 0.041666666666666664, "intermediate_size": 1536, "is_llama_config": true,
  "max_position_embeddings": 8192, "model_type": "llama", "num_attention_heads": 9,
  "num_hidden_layers": 30, "num_key_value_heads": 3, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_interleaved": false, "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true, "vocab_size": 49152
}`

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "Qwen3-4B", json: qwen3_4B, check: func(t *testing.T, c Config) {
			want := Config{ModelType: "qwen3", VocabSize: 151936, HiddenSize: 2560, IntermediateSize: 9728, NumHiddenLayers: 36,
				NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128, RMSNormEps: 1e-6, RopeTheta: 1e6,
				MaxPositionEmbeddings: 40960, TieWordEmbeddings: true, TorchDtype: "bfloat16", InitializerRange: 0.02}
			c.raw = nil
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v\nwant %+v", c, want)
			}
			// Qwen3-4B has 4.02 B parameters (the embedding counted once, as it is tied).
			if n := c.NumParams(); n != 4_022_468_096 {
				t.Errorf("NumParams = %d", n)
			}
		}},
		{name: "defaults for head_dim and kv heads", json: `{"model_type":"qwen3","vocab_size":10,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2,"head_dim":null,"rms_norm_eps":1e-6,"rope_theta":10000,"max_position_embeddings":16}`,
			check: func(t *testing.T, c Config) {
				if c.HeadDim != 4 || c.NumKeyValueHeads != 2 || c.InitializerRange != 0.02 {
					t.Errorf("head_dim %d, kv heads %d, initializer_range %g", c.HeadDim, c.NumKeyValueHeads, c.InitializerRange)
				}
			}},
		{name: "newer transformers keys", json: `{"model_type":"qwen3","vocab_size":10,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2,"head_dim":4,"rms_norm_eps":1e-6,"max_position_embeddings":16,"dtype":"bfloat16","rope_parameters":{"rope_type":"default","rope_theta":5000}}`,
			check: func(t *testing.T, c Config) {
				if c.RopeTheta != 5000 || c.TorchDtype != "bfloat16" {
					t.Errorf("rope_theta %g, torch_dtype %q", c.RopeTheta, c.TorchDtype)
				}
			}},
		{name: "Llama-3.2-1B", json: llama32_1B, check: func(t *testing.T, c Config) {
			if c.ModelType != "llama" || c.QKNorm() || c.QKVBias() || c.OBias() || c.HeadDim != 64 {
				t.Errorf("family: %+v, qk norm %v, qkv bias %v, o bias %v", c, c.QKNorm(), c.QKVBias(), c.OBias())
			}
			want := &RopeScaling{Type: "llama3", Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}
			if !reflect.DeepEqual(c.RopeScaling, want) {
				t.Errorf("rope_scaling %+v, want %+v", c.RopeScaling, want)
			}
			// Llama-3.2-1B has 1.24 B parameters (tied embedding counted once).
			if n := c.NumParams(); n != 1_235_814_400 {
				t.Errorf("NumParams = %d", n)
			}
		}},
		{name: "Qwen2.5-0.5B", json: qwen25_05B, check: func(t *testing.T, c Config) {
			if c.ModelType != "qwen2" || c.QKNorm() || !c.QKVBias() || c.OBias() || c.HeadDim != 64 || c.RopeScaling != nil {
				t.Errorf("family: qk norm %v, qkv bias %v, o bias %v, head_dim %d, rope_scaling %v", c.QKNorm(), c.QKVBias(), c.OBias(), c.HeadDim, c.RopeScaling)
			}
			if n := c.NumParams(); n != 494_032_768 {
				t.Errorf("NumParams = %d", n)
			}
		}},
		{name: "SmolLM2-135M", json: smolLM2_135M, check: func(t *testing.T, c Config) {
			if c.ModelType != "llama" || c.HeadDim != 64 || c.NumKeyValueHeads != 3 || c.RopeScaling != nil {
				t.Errorf("config %+v", c)
			}
			if n := c.NumParams(); n != 134_515_008 {
				t.Errorf("NumParams = %d", n)
			}
		}},
		{name: "llama3 rope scaling in rope_parameters", json: strings.Replace(smolLM2_135M, `"rope_scaling": null`, `"rope_parameters": {"rope_type": "llama3", "rope_theta": 100000, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 1024}`, 1),
			check: func(t *testing.T, c Config) {
				if c.RopeScaling == nil || c.RopeScaling.Factor != 8 || c.RopeScaling.OriginalMaxPositionEmbeddings != 1024 {
					t.Errorf("rope scaling %+v", c.RopeScaling)
				}
			}},
		{name: "attention bias on qwen3", json: strings.Replace(qwen3_4B, `"attention_bias": false`, `"attention_bias": true`, 1), check: func(t *testing.T, c Config) {
			if !c.QKVBias() || !c.OBias() {
				t.Errorf("attention_bias: qkv bias %v, o bias %v, want both", c.QKVBias(), c.OBias())
			}
		}},
		{name: "attention bias on qwen2", json: strings.Replace(qwen25_05B, `"attention_dropout": 0.0`, `"attention_dropout": 0.0, "attention_bias": true`, 1), wantErr: `key "attention_bias": true is not a qwen2 setting`},
		{name: "yarn rope scaling", json: strings.Replace(qwen3_4B, `"rope_scaling": null`, `"rope_scaling": {"type":"yarn","factor":4}`, 1), wantErr: `key "rope_scaling": rope type "yarn" is not supported (supported: default, llama3)`},
		{name: "dynamic rope scaling in rope_parameters", json: strings.Replace(qwen3_4B, `"rope_scaling": null`, `"rope_parameters": {"rope_type":"dynamic","factor":2}`, 1), wantErr: `key "rope_parameters": rope type "dynamic" is not supported`},
		{name: "llama3 rope scaling without factor", json: strings.Replace(llama32_1B, `"factor": 32.0,`, ``, 1), wantErr: `key "rope_scaling.factor": missing`},
		{name: "sliding window", json: strings.Replace(qwen3_4B, `"use_sliding_window": false`, `"use_sliding_window": true`, 1), wantErr: `key "use_sliding_window"`},
		{name: "sliding layers", json: strings.Replace(qwen3_4B, `"use_cache": true`, `"use_cache": true, "layer_types": ["full_attention", "sliding_attention"]`, 1), wantErr: `key "layer_types"`},
		{name: "mlp bias", json: strings.Replace(llama32_1B, `"mlp_bias": false`, `"mlp_bias": true`, 1), wantErr: `key "mlp_bias"`},
		{name: "other activation", json: strings.Replace(llama32_1B, `"hidden_act": "silu"`, `"hidden_act": "gelu"`, 1), wantErr: `key "hidden_act"`},
		{name: "unsupported family", json: strings.Replace(qwen3_4B, `"model_type": "qwen3"`, `"model_type": "mistral"`, 1), wantErr: `key "model_type": "mistral" is not supported (supported: llama, qwen2, qwen3)`},
		{name: "no family", json: `{"hidden_size":8}`, wantErr: `key "model_type": missing`},
		{name: "heads not divisible", json: strings.Replace(qwen3_4B, `"num_key_value_heads": 8`, `"num_key_value_heads": 5`, 1), wantErr: "not a multiple of num_key_value_heads=5"},
		{name: "several problems at once", json: `{"model_type":"llama","hidden_size":8,"mlp_bias":true}`, wantErr: `key "vocab_size": must be > 0`},
		{name: "not json", json: `{"vocab_size":`, wantErr: "unexpected end of JSON"},
		{name: "a million layers", json: strings.Replace(qwen3_4B, `"num_hidden_layers": 36`, `"num_hidden_layers": 1000000`, 1), wantErr: `key "num_hidden_layers": 1000000 exceeds 4096`},
		{name: "huge vocabulary", json: strings.Replace(qwen3_4B, `"vocab_size": 151936`, `"vocab_size": 4611686018427387904`, 1), wantErr: `key "vocab_size": 4611686018427387904 exceeds 16777216`},
		{name: "dimensions whose product overflows", json: strings.Replace(strings.Replace(qwen3_4B, `"hidden_size": 2560`, `"hidden_size": 4294967296`, 1), `"intermediate_size": 9728`, `"intermediate_size": 4294967296`, 1), wantErr: `key "hidden_size": 4294967296 exceeds 65536`},
		{name: "negative initializer range", json: strings.Replace(qwen3_4B, `"initializer_range": 0.02`, `"initializer_range": -1`, 1), wantErr: `key "initializer_range"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("config.json", []byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "config.json") {
					t.Fatalf("err = %v, want it to contain %q and the file name", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestConfigJSONRoundTrip checks that JSON keeps unknown keys and re-parses to the same Config,
// for each family.
func TestConfigJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		json string
		keep map[string]any // keys of the source file that must survive
	}{
		{"qwen3", qwen3_4B, map[string]any{"eos_token_id": 151645.0, "max_window_layers": 36.0}},
		{"qwen2", qwen25_05B, map[string]any{"eos_token_id": 151643.0, "sliding_window": 32768.0}},
		{"llama", llama32_1B, map[string]any{"eos_token_id": 128001.0, "pretraining_tp": 1.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("config.json", []byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			c.TorchDtype = "float32"
			data, err := c.JSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseConfig("saved", data)
			if err != nil {
				t.Fatal(err)
			}
			var keys map[string]any
			if err := json.Unmarshal(data, &keys); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.keep {
				if keys[k] != v {
					t.Errorf("key %q = %v, want %v", k, keys[k], v)
				}
			}
			if keys["torch_dtype"] != "float32" || keys["model_type"] != tc.name {
				t.Errorf("JSON kept stale keys: %v", keys)
			}
			c.raw, back.raw = nil, nil
			if !reflect.DeepEqual(back, c) {
				t.Errorf("round trip: %+v, want %+v", back, c)
			}
		})
	}
}

// TestLoadDirErrors breaks a copy of the fixture in different ways.
func TestLoadDirErrors(t *testing.T) {
	src := filepath.Join("testdata", "tiny")
	st, err := safetensors.Open(filepath.Join(src, safetensors.SingleFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tensors []safetensors.Tensor
	for _, name := range st.Names() {
		values, shape, err := st.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, safetensors.NewF32(name, shape, values))
	}
	cfgJSON, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	without := func(name string) []safetensors.Tensor {
		var out []safetensors.Tensor
		for _, t := range tensors {
			if t.Name != name {
				out = append(out, t)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		tensors []safetensors.Tensor
		config  string
		wantErr []string
	}{
		{name: "missing tensor", tensors: without("model.layers.1.mlp.up_proj.weight"),
			wantErr: []string{`tensor "model.layers.1.mlp.up_proj.weight" is missing`}},
		{name: "extra tensor", tensors: append(without(""), safetensors.NewF32("model.layers.0.self_attn.q_proj.bias", []int{64}, make([]float32, 64))),
			wantErr: []string{`unexpected tensor "model.layers.0.self_attn.q_proj.bias"`}},
		{name: "wrong shape", tensors: append(without("model.norm.weight"), safetensors.NewF32("model.norm.weight", []int{63}, make([]float32, 63))),
			wantErr: []string{`"model.norm.weight" has shape [63], config.json implies [64]`}},
		{name: "integer weights", tensors: append(without("model.norm.weight"), safetensors.Tensor{Name: "model.norm.weight", DType: safetensors.I32, Shape: []int{64}, Data: make([]byte, 256)}),
			wantErr: []string{`has dtype I32`}},
		{name: "config disagrees", tensors: tensors, config: strings.Replace(string(cfgJSON), `"intermediate_size": 128`, `"intermediate_size": 96`, 1),
			wantErr: []string{`"model.layers.0.mlp.gate_proj.weight" has shape [128 64], config.json implies [96 64]`, `"model.layers.1.mlp.down_proj.weight" has shape [64 128]`}},
		{name: "no weights", config: string(cfgJSON), wantErr: []string{"neither model.safetensors nor model.safetensors.index.json"}},
		{name: "more layers than the weights", tensors: tensors, config: strings.Replace(string(cfgJSON), `"num_hidden_layers": 2`, `"num_hidden_layers": 4000`, 1),
			wantErr: []string{"config.json num_hidden_layers is 4000 but the weights hold 2 layers"}},
		{name: "fewer layers than the weights", tensors: tensors, config: strings.Replace(string(cfgJSON), `"num_hidden_layers": 2`, `"num_hidden_layers": 1`, 1),
			wantErr: []string{"config.json num_hidden_layers is 1 but the weights hold 2 layers"}},
		// An unsupported family is refused from config.json, before the weights are looked for.
		{name: "unsupported family, no weights", config: strings.Replace(string(cfgJSON), `"model_type": "qwen3"`, `"model_type": "gemma"`, 1),
			wantErr: []string{`key "model_type": "gemma" is not supported (supported: llama, qwen2, qwen3)`}},
		{name: "unsupported rope scaling, no weights", config: strings.Replace(string(cfgJSON), `"rope_scaling": null`, `"rope_scaling": {"rope_type": "longrope"}`, 1),
			wantErr: []string{`key "rope_scaling": rope type "longrope" is not supported`}},
		{name: "no config", tensors: tensors, config: "-", wantErr: []string{"config.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.tensors != nil {
				if err := safetensors.Write(filepath.Join(dir, safetensors.SingleFileName), tc.tensors, nil); err != nil {
					t.Fatal(err)
				}
			}
			cfg := tc.config
			if cfg == "" {
				cfg = string(cfgJSON)
			}
			if cfg != "-" {
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m, err := LoadDir(dir)
			if err == nil {
				m.Close()
				t.Fatalf("LoadDir succeeded, want errors %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to contain %q", err, want)
				}
			}
		})
	}
}

func TestDecay(t *testing.T) {
	m := &Model{}
	tests := []struct {
		path string
		want bool
	}{
		{"/model/layers/0/self_attn/q_proj/weight", true},
		{"/model/layers/3/mlp/down_proj/weight", true},
		{"/lm_head/weight", true},
		{"/model/embed_tokens/weight", false},
		{"/model/layers/0/input_layernorm/weight", false},
		{"/model/layers/0/post_attention_layernorm/weight", false},
		{"/model/layers/0/self_attn/q_norm/weight", false},
		{"/model/layers/0/self_attn/k_norm/weight", false},
		{"/model/layers/0/self_attn/q_proj/bias", false},
		{"/model/layers/0/self_attn/o_proj/bias", false},
		{"/model/layers/0/self_attn/q_proj/lora_A/weight", true},
		{"/model/layers/0/mlp/down_proj/lora_B/weight", true},
		{"/model/norm/weight", false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := m.Decay(tc.path); got != tc.want {
				t.Errorf("Decay(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}
