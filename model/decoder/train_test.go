package decoder_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/train"
)

var _ train.Model = (*decoder.Model)(nil)

// TestFineTune trains the tiny fixture with the train package, checks that its step-0 eval loss
// is the reference loss, that the loss falls, and that the saved checkpoint reloads to the same
// eval loss.
func TestFineTune(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few steps")
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "tiny")
	data, err := os.ReadFile(filepath.Join(dir, "logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		InputIDs []int32 `json:"input_ids"`
		Loss     float64 `json:"loss"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	example := train.Example{IDs: ref.InputIDs, Labels: ref.InputIDs}
	evalSet := []train.Example{example}

	m, err := decoder.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := train.Config{MaxSteps: 8, LR: 1e-2, WarmupSteps: 1, WeightDecay: 0.01, MaxGradNorm: 1, BatchSize: 1, Seed: 1, Padding: train.PadLongest}
	tr, err := train.New(be, m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	before, err := tr.Evaluate("fixture", evalSet)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(before.Loss-ref.Loss) > 1e-4 {
		t.Errorf("eval loss before training = %.6f, reference %.6f", before.Loss, ref.Loss)
	}
	var losses []float64
	for range cfg.MaxSteps {
		loss, _, err := tr.TrainStep([]train.Example{example})
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
	}
	after, err := tr.Evaluate("fixture", evalSet)
	if err != nil {
		t.Fatal(err)
	}
	if !(after.Loss < before.Loss-0.5) {
		t.Errorf("eval loss %.4f → %.4f after %d steps (per-step %v), want a drop of > 0.5", before.Loss, after.Loss, cfg.MaxSteps, losses)
	}

	t.Logf("eval loss %.4f → %.4f; per-step train loss %.4f", before.Loss, after.Loss, losses)

	out := t.TempDir()
	if err := m.Save(tr.Store(), out); err != nil {
		t.Fatal(err)
	}
	reloaded, err := decoder.LoadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer reloaded.Close()
	tr2, err := train.New(be, reloaded, cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := tr2.Evaluate("fixture", evalSet)
	if err != nil {
		t.Fatal(err)
	}
	if again.Loss != after.Loss {
		t.Errorf("eval loss of the saved fine-tuned model = %.7f, in training %.7f", again.Loss, after.Loss)
	}

	// The cached generator reads the trainer's store and agrees with the trainer's own decoder.
	gen := decoder.NewGenerator(be, tr.Store(), m)
	prompt := ref.InputIDs[:4]
	cached, err := gen.Generate(prompt, 6, -1)
	if err != nil {
		t.Fatal(err)
	}
	full, err := tr.Generate(prompt, 6, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != len(cached) {
		t.Fatalf("trainer generated %v, cached generator %v", full, cached)
	}
	for i := range full {
		if full[i] != cached[i] {
			t.Fatalf("trainer generated %v, cached generator %v", full, cached)
		}
	}
}

// TestResumeBitIdentical checks that a pretrained Qwen3 model resumed from a mid-run checkpoint
// continues with bit-identical losses.
func TestResumeBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few steps")
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := decoder.LoadDir(filepath.Join("testdata", "tiny_untied"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	batch := []train.Example{
		{IDs: []int32{5, 9, 200, 31, 77, 4}, Labels: []int32{-100, -100, 200, 31, 77, 4}},
		{IDs: []int32{12, 400, 3}, Labels: []int32{12, 400, 3}},
	}
	cfg := train.Config{MaxSteps: 4, LR: 5e-3, WarmupSteps: 1, WeightDecay: 0.1, MaxGradNorm: 1, BatchSize: 2, Seed: 3,
		Padding: train.PadLongest, CheckpointDir: t.TempDir()}
	first, err := train.New(be, m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for step := range cfg.MaxSteps {
		if step == 2 {
			if err := first.SaveCheckpoint(); err != nil {
				t.Fatal(err)
			}
		}
		loss, _, err := first.TrainStep(batch)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, loss)
	}
	resumed, err := train.New(be, m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.LoadCheckpoint(filepath.Join(cfg.CheckpointDir, "step-00000002")); err != nil {
		t.Fatal(err)
	}
	for step := 2; step < cfg.MaxSteps; step++ {
		loss, _, err := resumed.TrainStep(batch)
		if err != nil {
			t.Fatal(err)
		}
		if loss != want[step] {
			t.Errorf("step %d: resumed loss %v, uninterrupted %v", step+1, loss, want[step])
		}
	}
}
