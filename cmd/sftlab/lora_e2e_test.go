package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/safetensors"
)

// tinyBase is the committed pretrained model of experiments/lora_rank.yaml.
var tinyBase = filepath.Join("..", "..", "experiments", "models", "qwen3-tiny-zh")

// TestLoRAEndToEnd runs experiments/lora_rank.yaml (two of its runs, a few steps) through the
// CLI, then checks each run's adapter/ folder (PEFT's layout, no model/ folder, no leftover
// checkpoint), that `sftlab generate` reproduces the run's sample completion from base and
// adapter, and that `sftlab merge` writes a plain model directory whose logits equal those of
// base + adapter within 1e-5 relative.
func TestLoRAEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("fine-tunes a model")
	}
	runs := filepath.Join(t.TempDir(), "runs")
	exp := filepath.Join("..", "..", "experiments", "lora_rank.yaml")
	code, out, errOut := sftlab(t, "run", exp, "--set", "model.pretrained="+tinyBase, "--set", "output.dir="+runs,
		"--set", "train.max_steps=4", "--set", "train.warmup_steps=1", "--set", "eval.samples=1",
		"--set", "eval.max_new_tokens=8", "--set", "data.dataset="+filepath.Join("testdata", "qwen3", "teaching_zh_8.jsonl"),
		"--shard", "1/3", "--quiet")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	dirs := runDirs(t, runs, "lora_rank")
	if len(dirs) != 2 {
		t.Fatalf("want 2 run folders (shard 1/3 of 6), got %v\n%s", dirs, out)
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		r, err := metrics.ReadRunDir(dir)
		if err != nil || r.Err != nil {
			t.Fatalf("read %s: %v %v", dir, err, r.Err)
		}
		t.Run(r.Info.Name, func(t *testing.T) {
			if r.Info.Status != metrics.StatusOK || len(r.Steps) != 4 || len(r.Samples) != 1 {
				t.Fatalf("status %s, %d steps, %d samples; want ok, 4, 1", r.Info.Status, len(r.Steps), len(r.Samples))
			}
			for _, gone := range []string{"model", "checkpoints"} {
				if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
					t.Errorf("a LoRA run left a %s/ folder", gone)
				}
			}
			var ac map[string]any
			data, err := os.ReadFile(filepath.Join(dir, "adapter", "adapter_config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &ac); err != nil {
				t.Fatal(err)
			}
			base, _ := filepath.Abs(tinyBase)
			if ac["peft_type"] != "LORA" || ac["lora_alpha"] != 16.0 || ac["lora_dropout"] != 0.05 || ac["base_model_name_or_path"] != base {
				t.Errorf("adapter_config.json: %v", ac)
			}
			st, err := safetensors.Open(filepath.Join(dir, "adapter", "adapter_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			names := st.Names()
			st.Close()
			if len(names) != 2*7*2 || !slices.Contains(names, "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight") {
				t.Errorf("adapter tensors: %v", names)
			}

			s := r.Samples[0]
			code, out, errOut := sftlab(t, "generate", dir, "--format", "raw", "--prompt", s.Prompt)
			if code != 0 || out != s.Completion+"\n" {
				t.Errorf("generate: exit %d, output %q, want the run's sample %q\n%s", code, out, s.Completion, errOut)
			}

			merged := filepath.Join(t.TempDir(), "merged")
			if code, out, errOut := sftlab(t, "merge", dir, merged); code != 0 || !strings.Contains(out, merged) {
				t.Fatalf("merge: exit %d\n%s\n%s", code, out, errOut)
			}
			for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"} {
				if _, err := os.Stat(filepath.Join(merged, f)); err != nil {
					t.Errorf("merged directory lacks %s", f)
				}
			}
			ids := []int32{2253, 100, 7, 1800, 42, 999, 5, 2000, 13, 600, 61}
			withAdapter := func() []float32 {
				m, err := decoder.LoadDir(tinyBase)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if _, err := m.LoadAdapter(filepath.Join(dir, "adapter")); err != nil {
					t.Fatal(err)
				}
				return allLogits(t, be, m, ids)
			}()
			plain := func(path string) []float32 {
				m, err := decoder.LoadDir(path)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if m.LoRA() != nil {
					t.Fatal("merged model has adapters")
				}
				return allLogits(t, be, m, ids)
			}
			mergedLogits, baseLogits := plain(merged), plain(tinyBase)
			var worst, scale, moved float64
			for i := range withAdapter {
				worst = math.Max(worst, math.Abs(float64(mergedLogits[i]-withAdapter[i])))
				scale = math.Max(scale, math.Abs(float64(withAdapter[i])))
				moved = math.Max(moved, math.Abs(float64(baseLogits[i]-withAdapter[i])))
			}
			if worst > 1e-5*scale {
				t.Errorf("merged vs base + adapter: max |Δlogit| %.3g, relative %.3g; want ≤ 1e-5", worst, worst/scale)
			}
			if moved < 100*worst {
				t.Errorf("training moved the logits by only %.3g: the comparison checks nothing", moved)
			}
			t.Logf("merged vs base + adapter: max |Δlogit| %.3g of %.3g; training moved logits by %.3g", worst, scale, moved)
		})
	}
	if code, _, errOut := sftlab(t, "merge", dirs[0], filepath.Join(t.TempDir(), "x"), "extra"); code == 0 {
		t.Errorf("merge with three arguments succeeded: %s", errOut)
	}
}

// allLogits initialises m in a fresh store and returns its logits for ids, [len(ids)·V].
func allLogits(t *testing.T, be compute.Backend, m *decoder.Model, ids []int32) []float32 {
	t.Helper()
	store := mlmodel.NewStore()
	if err := m.Init(store, 0); err != nil {
		t.Fatal(err)
	}
	out, err := mlmodel.CallOnce(be, store, func(scope *mlmodel.Scope, x *Node) *Node {
		h := m.Hidden(scope, x, nil)
		return m.Head(scope, Reshape(h, len(ids), -1))
	}, tensors.FromFlatDataAndDimensions(ids, 1, len(ids)))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out)
}
