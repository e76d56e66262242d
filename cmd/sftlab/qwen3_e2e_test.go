package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/tokenizer"
)

// qwen3Vocab is the vocab_size of every Qwen3 checkpoint (the tokenizer uses 151,669 of them).
const qwen3Vocab = 151936

// writeTinyQwen3 writes a random 2-layer Qwen3 model with vocabulary size vocab (bf16 weights,
// as Qwen3 is published) and the repository's Qwen3 tokenizer files into a new directory.
func writeTinyQwen3(t *testing.T, vocab int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "qwen3-tiny")
	cfg := decoder.Config{ModelType: "qwen3",
		VocabSize: vocab, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8, RMSNormEps: 1e-6, RopeTheta: 1e6,
		MaxPositionEmbeddings: 1024, TieWordEmbeddings: true, TorchDtype: "bfloat16",
	}
	if err := decoder.WriteRandom(dir, cfg, 7); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tokenizer.json.gz", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "tokenizer", "qwen3", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestQwen3EndToEnd fine-tunes a tiny random Qwen3 checkpoint with the full Qwen3 vocabulary
// through `sftlab run experiments/qwen3_sft_vs_instruction.yaml`, on eight examples of the
// built-in data (the loss over 151,936 logits per token dominates the time), then checks each
// run's metrics, that its model/ folder is a loadable Hugging Face model directory, and that
// `sftlab generate` on the run reproduces the run's own sample completion.
func TestQwen3EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("fine-tunes a model")
	}
	pretrained := writeTinyQwen3(t, qwen3Vocab)
	const steps = 3
	runs := runClassroomOn(t, pretrained, steps, 8)
	for dir, r := range runs {
		t.Run(r.Info.Name, func(t *testing.T) {
			// A random model over the full vocabulary starts near the uniform loss ln(V).
			if first, uniform := r.Steps[0].TrainLoss, math.Log(qwen3Vocab); math.Abs(first-uniform) > 0.5 {
				t.Errorf("first train loss %.4f, want about ln(%d) = %.4f", first, qwen3Vocab, uniform)
			}
			if _, err := os.Stat(filepath.Join(dir, "vocab.json")); err == nil {
				t.Errorf("a pretrained run must use the full vocabulary, but vocab.json was written")
			}

			saved := filepath.Join(dir, "model")
			m, err := decoder.LoadDir(saved)
			if err != nil {
				t.Fatalf("the fine-tuned model does not reload: %v", err)
			}
			if c := m.Config(); c.VocabSize != qwen3Vocab || c.NumHiddenLayers != 2 || c.TorchDtype != "float32" {
				t.Errorf("saved config: vocab %d, layers %d, dtype %q; want %d, 2, float32 (model.dtype)", c.VocabSize, c.NumHiddenLayers, c.TorchDtype, qwen3Vocab)
			}
			m.Close()
			if _, err := os.Stat(filepath.Join(saved, "tokenizer.json")); err != nil {
				t.Errorf("tokenizer.json not written uncompressed next to the model: %v", err)
			}
			tok, err := tokenizer.Load(saved)
			if err != nil {
				t.Fatalf("the tokenizer next to the model does not load: %v", err)
			}
			if tok.VocabSize() != 151669 {
				t.Errorf("saved tokenizer has %d tokens, want Qwen3's 151669", tok.VocabSize())
			}

			checkSampleReproduces(t, dir, r.Samples[0])
		})
	}
}

// runClassroomOn fine-tunes the pretrained directory with experiments/qwen3_sft_vs_instruction.yaml
// for steps steps on eight examples of the built-in data (the loss over the full vocabulary
// dominates the time), sampling one completion of up to maxNew tokens per run, and returns the
// two runs by folder, each checked to be ok with steps steps, evaluations and its sample.
func runClassroomOn(t *testing.T, pretrained string, steps, maxNew int) map[string]metrics.Run {
	t.Helper()
	runs := filepath.Join(t.TempDir(), "runs")
	exp := filepath.Join("..", "..", "experiments", "qwen3_sft_vs_instruction.yaml")
	code, out, errOut := sftlab(t, "run", exp, "--set", "model.pretrained="+pretrained, "--set", "output.dir="+runs,
		"--set", fmt.Sprintf("train.max_steps=%d", steps), "--set", "train.warmup_steps=1", "--set", "eval.samples=1",
		"--set", fmt.Sprintf("eval.max_new_tokens=%d", maxNew), "--set", "data.dataset="+filepath.Join("testdata", "qwen3", "teaching_zh_8.jsonl"), "--quiet")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	dirs := runDirs(t, runs, "qwen3_sft_vs_instruction")
	if len(dirs) != 2 {
		t.Fatalf("want 2 run folders, got %v\n%s", dirs, out)
	}
	got := map[string]metrics.Run{}
	for _, dir := range dirs {
		r, err := metrics.ReadRunDir(dir)
		if err != nil || r.Err != nil {
			t.Fatalf("read %s: %v %v", dir, err, r.Err)
		}
		if r.Info.Status != metrics.StatusOK || len(r.Steps) != steps || len(r.Evals) == 0 || len(r.Samples) != 1 {
			t.Fatalf("%s: status %s, %d steps, %d evals, %d samples; want ok, %d, > 0, 1", r.Info.Name, r.Info.Status, len(r.Steps), len(r.Evals), len(r.Samples), steps)
		}
		got[dir] = r
	}
	return got
}

// checkSampleReproduces checks that `sftlab generate` on the run in dir, given its sample's
// prompt as raw text, prints the sample's completion.
func checkSampleReproduces(t *testing.T, dir string, s metrics.Sample) {
	t.Helper()
	if s.Completion == "" {
		t.Fatal("the run's sample completion is empty: nothing to compare with")
	}
	code, out, errOut := sftlab(t, "generate", dir, "--format", "raw", "--prompt", s.Prompt)
	if code != 0 || out != s.Completion+"\n" {
		t.Errorf("generate: exit %d, output %q, want the run's sample %q\n%s", code, out, s.Completion, errOut)
	}
}

// TestQwen3BadPretrained checks that a missing or mismatched pretrained directory stops
// `sftlab run` before training (exit 2), naming the key and the fix.
func TestQwen3BadPretrained(t *testing.T) {
	exp := filepath.Join("..", "..", "experiments", "qwen3_sft_vs_instruction.yaml")
	small := writeTinyQwen3(t, 1000)
	tests := []struct {
		name string
		sets []string
		want []string
	}{
		{"not given", nil, []string{`model.pretrained: "QWEN3_MODEL_DIR" is not a directory`, "--set model.pretrained="}},
		{"vocabulary smaller than the tokenizer", []string{"model.pretrained=" + small},
			[]string{"model.pretrained " + small + ": config.json vocab_size 1000 is smaller than the 151669 tokens", `data.tokenizer ""`}},
		{"context shorter than max_length", []string{"model.pretrained=" + small, "data.max_length=2048"},
			[]string{"data.max_length: 2048 exceeds max_position_embeddings 1024"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs := filepath.Join(t.TempDir(), "runs")
			args := []string{"run", exp, "--set", "output.dir=" + runs, "--quiet"}
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			code, out, errOut := sftlab(t, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s\n%s", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if dirs := runDirs(t, runs, "qwen3_sft_vs_instruction"); len(dirs) != 0 {
				t.Errorf("runs were started: %v", dirs)
			}
		})
	}
}
