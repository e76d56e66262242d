package decoder

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseConfig feeds mutated config.json files to ParseConfig: it must return a config or an
// error, never panic, and a config it accepts must be small enough to size a model from
// without overflow.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(qwen3_4B))
	tiny, err := os.ReadFile(filepath.Join("testdata", "tiny", "config.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tiny)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("config.json", data)
		if err != nil {
			return
		}
		if n := c.NumParams(); n <= 0 {
			t.Fatalf("NumParams %d of an accepted config %+v", n, c)
		}
		// Each layer has at most a dozen tensors (Qwen2 adds q/k/v biases, Qwen3 q/k norms).
		if n := len(c.weightSpecs()); n < 2+c.NumHiddenLayers || n > 3+14*c.NumHiddenLayers {
			t.Fatalf("%d weight tensors for %d layers", n, c.NumHiddenLayers)
		}
		if _, err := c.JSON(); err != nil {
			t.Fatalf("JSON of an accepted config: %v", err)
		}
	})
}

// FuzzReadAdapterConfig feeds mutated adapter_config.json files (PEFT's LoRA settings) to
// ReadAdapterConfig: settings or an error, never a panic, and settings it accepts are valid.
func FuzzReadAdapterConfig(f *testing.F) {
	f.Add([]byte(`{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 16, "lora_dropout": 0.05,
  "target_modules": ["q_proj", "v_proj"], "bias": "none", "base_model_name_or_path": "Qwen/Qwen3-0.6B"}`))
	f.Add([]byte(`{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": "q_proj", "rank_pattern": {}, "use_dora": false}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, AdapterConfigFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, _, err := ReadAdapterConfig(dir)
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("accepted settings are invalid: %v", err)
		}
	})
}
