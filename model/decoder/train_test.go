package decoder_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/train"
)

var _ train.TrainingModel = (*decoder.Model)(nil)

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

// loraModel loads fixture with fresh adapters l.
func loraModel(t *testing.T, fixture string, l decoder.LoRA) *decoder.Model {
	t.Helper()
	m, err := decoder.LoadDir(filepath.Join("testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.AddLoRA(l); err != nil {
		t.Fatal(err)
	}
	return m
}

// loraBatch is a small batch with masked prompt positions and padding.
var loraBatch = []train.Example{
	{IDs: []int32{5, 9, 200, 31, 77, 4, 300, 12}, Labels: []int32{-100, -100, 200, 31, 77, 4, 300, 12}},
	{IDs: []int32{12, 400, 3, 99, 18}, Labels: []int32{12, 400, 3, 99, 18}},
	{IDs: []int32{7, 8, 9, 10, 11, 12, 13}, Labels: []int32{-100, 8, 9, 10, 11, 12, 13}},
}

// TestLoRAFirstStepMatchesFull checks that with B = 0 the first step's loss equals full
// fine-tuning's bit for bit, that LoRA then trains only the adapters (the base weights are
// unchanged and have no AdamW state) and that its loss falls.
func TestLoRAFirstStepMatchesFull(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few steps")
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.Config{MaxSteps: 6, LR: 1e-2, WarmupSteps: 0, WeightDecay: 0.01, MaxGradNorm: 1, BatchSize: 3, Seed: 4, Padding: train.PadLongest}
	for _, fixture := range []string{"tiny", "qwen2", "llama"} {
		t.Run(fixture, func(t *testing.T) {
			full, err := decoder.LoadDir(filepath.Join("testdata", fixture))
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			fullTr, err := train.New(be, full, cfg)
			if err != nil {
				t.Fatal(err)
			}
			fullLoss, _, err := fullTr.TrainStep(loraBatch)
			if err != nil {
				t.Fatal(err)
			}
			m := loraModel(t, fixture, decoder.LoRA{Rank: 4, Alpha: 8, Dropout: 0.1, Targets: decoder.LoRAModules()})
			tr, err := train.New(be, m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			before := map[string][]float32{}
			for v := range tr.Store().IterVariables() {
				before[v.Path()] = tensors.MustCopyFlatData[float32](v.MustValue())
			}
			var losses []float64
			for range cfg.MaxSteps {
				loss, _, err := tr.TrainStep(loraBatch)
				if err != nil {
					t.Fatal(err)
				}
				losses = append(losses, loss)
			}
			if math.Float64bits(losses[0]) != math.Float64bits(fullLoss) {
				t.Errorf("first LoRA loss %v, full fine-tuning %v: want the same bits (B = 0)", losses[0], fullLoss)
			}
			if !(losses[len(losses)-1] < losses[0]-0.05) {
				t.Errorf("LoRA losses %v do not fall", losses)
			}
			moments, adapters := 0, 0
			for v := range tr.Store().IterVariables() {
				path := v.Path()
				switch {
				case strings.HasPrefix(path, "/adamw_"):
					moments++
					if !strings.Contains(path, "/lora_") {
						t.Errorf("optimizer state %s for a frozen weight", path)
					}
				case strings.Contains(path, "/lora_"):
					adapters++
				default:
					if !slices.Equal(tensors.MustCopyFlatData[float32](v.MustValue()), before[path]) {
						t.Errorf("frozen weight %s changed", path)
					}
				}
			}
			if adapters == 0 || moments != 2*adapters {
				t.Errorf("%d adapter variables, %d AdamW moments: want 2 per adapter", adapters, moments)
			}
			t.Logf("full first loss %.6f; LoRA losses %.4f", fullLoss, losses)
		})
	}
}

// TestLoRAResume stops a LoRA run with dropout and gradient accumulation after a checkpoint,
// resumes it, and compares every step and the final adapters with an uninterrupted run bit for
// bit; the checkpoint holds the adapters and their AdamW state only.
func TestLoRAResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few steps")
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	data := slices.Concat(loraBatch, loraBatch[1:], loraBatch[:2])
	l := decoder.LoRA{Rank: 2, Alpha: 4, Dropout: 0.2, Targets: []string{"q_proj", "v_proj", "down_proj"}}
	cfg := train.Config{MaxSteps: 5, LR: 5e-3, WarmupSteps: 1, MaxGradNorm: 1, BatchSize: 2, GradAccum: 2, Seed: 9, Padding: train.PadLongest}
	run := func(cfg train.Config, stopAfter int, resume bool) ([]train.StepMetrics, *train.Trainer) {
		t.Helper()
		tr, err := train.New(be, loraModel(t, "tiny_untied", l), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if resume {
			if _, err := tr.LoadLatestCheckpoint(); err != nil {
				t.Fatal(err)
			}
		}
		var steps []train.StepMetrics
		errStop := errors.New("stop")
		_, err = tr.Run(context.Background(), data, nil, train.Hooks{OnStep: func(s train.StepMetrics) error {
			steps = append(steps, s)
			if s.Step == stopAfter {
				return errStop
			}
			return nil
		}})
		if err != nil && !errors.Is(err, errStop) {
			t.Fatal(err)
		}
		return steps, tr
	}
	want, wantTr := run(cfg, -1, false)
	again, _ := run(cfg, -1, false)
	ck := cfg
	ck.CheckpointDir, ck.CheckpointEvery = t.TempDir(), 2
	first, _ := run(ck, 3, false) // checkpoint at 2, stopped after 3
	rest, restTr := run(ck, -1, true)
	got := append(first[:2], rest...)
	if len(got) != len(want) {
		t.Fatalf("%d steps after resuming, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Float64bits(got[i].TrainLoss) != math.Float64bits(want[i].TrainLoss) || math.Float64bits(got[i].GradNorm) != math.Float64bits(want[i].GradNorm) {
			t.Errorf("step %d: resumed loss %v, grad norm %v; uninterrupted %v, %v", i+1, got[i].TrainLoss, got[i].GradNorm, want[i].TrainLoss, want[i].GradNorm)
		}
		if math.Float64bits(again[i].TrainLoss) != math.Float64bits(want[i].TrainLoss) {
			t.Errorf("step %d: a second run gives loss %v, the first %v", i+1, again[i].TrainLoss, want[i].TrainLoss)
		}
	}
	for v := range wantTr.Store().IterVariables() {
		other := restTr.Store().GetVariable(v.Path())
		if other == nil || !slices.Equal(tensors.MustCopyFlatData[float32](other.MustValue()), tensors.MustCopyFlatData[float32](v.MustValue())) {
			t.Errorf("variable %s differs after resuming", v.Path())
		}
	}
	// The checkpoint's variable table: adapters and their moments only.
	state, err := os.ReadFile(filepath.Join(ck.CheckpointDir, "step-00000005", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Variables []struct{ Path string } `json:"variables"`
	}
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatal(err)
	}
	if want := 3 * 2 * 2 * 3; len(st.Variables) != want { // 3 projections × 2 layers × (A, B) × (value, m, v)
		t.Errorf("checkpoint holds %d variables, want %d (A and B of 3 projections × 2 layers, with m and v)", len(st.Variables), want)
	}
	for _, v := range st.Variables {
		if !strings.Contains(v.Path, "/lora_") {
			t.Errorf("checkpoint holds %s, not an adapter", v.Path)
		}
	}
}
