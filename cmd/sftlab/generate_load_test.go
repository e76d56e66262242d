package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/configs"
)

// writeRunConfig writes cfg as dir/config.yaml, the resolved config a run folder holds.
func writeRunConfig(t *testing.T, dir string, cfg configs.Config) {
	t.Helper()
	data, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateUnloadableModel checks that `sftlab generate` on a run whose model cannot be
// loaded exits 1 with an error that says why, instead of crashing on a nil model: the loader's
// own error must survive the panic guard around it.
func TestGenerateUnloadableModel(t *testing.T) {
	tiny, err := filepath.Abs(filepath.Join("..", "..", "model", "decoder", "testdata", "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{"compact vocabulary missing", func(t *testing.T, dir string) {
			writeRunConfig(t, dir, configs.Default())
		}, "vocabulary cannot be read"},
		{"vocab.json damaged", func(t *testing.T, dir string) {
			writeRunConfig(t, dir, configs.Default())
			if err := os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"ids": [1, 2`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "vocab.json"},
		{"vocab.json of another tokenizer", func(t *testing.T, dir string) {
			writeRunConfig(t, dir, configs.Default())
			if err := os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"full_vocab_size": 2147483647, "ids": [5, 2147483646]}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "maps ids of a 2147483647-token vocabulary, but the run's tokenizer has 151669 tokens"},
		{"no checkpoint", func(t *testing.T, dir string) {
			cfg := configs.Default()
			cfg.Model.Vocab = "full"
			writeRunConfig(t, dir, cfg)
		}, "no checkpoint in"},
		{"pretrained run without its saved model", func(t *testing.T, dir string) {
			cfg := configs.Default()
			cfg.Model.Pretrained = tiny
			writeRunConfig(t, dir, cfg)
		}, "no fine-tuned model in"},
		{"pretrained run with a truncated model.safetensors", func(t *testing.T, dir string) {
			cfg := configs.Default()
			cfg.Model.Pretrained = tiny
			writeRunConfig(t, dir, cfg)
			model := filepath.Join(dir, "model")
			if err := os.MkdirAll(model, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"config.json", "model.safetensors"} {
				data, err := os.ReadFile(filepath.Join(tiny, name))
				if err != nil {
					t.Fatal(err)
				}
				if name == "model.safetensors" {
					data = data[:len(data)/2]
				}
				if err := os.WriteFile(filepath.Join(model, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, "model.safetensors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			tc.setup(t, dir)
			code, out, errOut := sftlab(t, "generate", dir, "--prompt", "你好")
			if code != 1 || out != "" || !strings.Contains(errOut, tc.wantErr) || !strings.Contains(errOut, dir) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and an error naming %s and %q", code, out, errOut, dir, tc.wantErr)
			}
		})
	}
}

// TestMergeWithoutAdapter checks that `sftlab merge` on a LoRA run whose adapter is missing
// exits 1 saying so and writes nothing: the error set inside the panic guard used to be
// overwritten by the guard's nil result, and merge reported success.
func TestMergeWithoutAdapter(t *testing.T) {
	base, err := filepath.Abs(filepath.Join("..", "..", "experiments", "models", "qwen3-tiny-zh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	cfg := configs.Default()
	cfg.Model.Pretrained = base
	cfg.Model.LoRA.Rank = 4
	writeRunConfig(t, dir, cfg)
	out := filepath.Join(t.TempDir(), "merged")
	code, stdout, errOut := sftlab(t, "merge", dir, out)
	if code != 1 || !strings.Contains(errOut, "no trained adapter in") {
		t.Fatalf("exit %d, want 1 naming the missing adapter\nstdout: %s\nstderr: %s", code, stdout, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("merge wrote %s: %v", out, err)
	}
}
