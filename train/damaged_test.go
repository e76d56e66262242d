package train_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/sftlab/sftlab/train"
)

// weightsOf copies every variable of tr.
func weightsOf(tr *train.Trainer) map[string][]float32 {
	w := map[string][]float32{}
	for v := range tr.Store().IterVariables() {
		w[v.Path()] = tensors.MustCopyFlatData[float32](v.MustValue())
	}
	return w
}

// TestDamagedCheckpoint damages each file of a finished run's checkpoint and checks that
// LatestCheckpointStep and LoadLatestCheckpoint refuse it, naming the problem, and that a
// refused load leaves the trainer as it was: it then trains exactly as a fresh one.
func TestDamagedCheckpoint(t *testing.T) {
	data := randomData(8, 1)
	cfg := tinyConfig()
	cfg.CheckpointEvery = 3
	cfg.CheckpointDir = t.TempDir()
	ref, _, _ := trace(t, cfg, data, -1) // checkpoints at 3 and 6; 6 is kept
	if step, err := train.LatestCheckpointStep(cfg.CheckpointDir); err != nil || step != cfg.MaxSteps {
		t.Fatalf("intact checkpoint: step %d, %v; want %d", step, err, cfg.MaxSteps)
	}
	if step, err := train.LatestCheckpointStep(t.TempDir()); err != nil || step != 0 {
		t.Errorf("no checkpoint: step %d, %v; want 0, nil", step, err)
	}
	ckpt := filepath.Join(cfg.CheckpointDir, "step-00000006")
	tensorsBin := filepath.Join(ckpt, "tensors.bin")
	intact, err := os.ReadFile(tensorsBin)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), intact...)
	flipped[len(flipped)/2] ^= 0x40

	tests := []struct {
		name      string
		file      string
		body      []byte
		peekFails bool   // LatestCheckpointStep sees it without reading the tensors
		want      string // in LoadLatestCheckpoint's error
	}{
		{"tensors.bin truncated", tensorsBin, intact[:len(intact)/2], true, "tensors.bin holds"},
		{"tensors.bin empty", tensorsBin, nil, true, "tensors.bin holds 0 bytes"},
		{"a bit flipped in tensors.bin", tensorsBin, flipped, false, "damaged"},
		{"state.json truncated", filepath.Join(ckpt, "state.json"), []byte(`{"step": 6, "posi`), true, "state.json"},
		{"latest names no checkpoint", filepath.Join(cfg.CheckpointDir, "latest"), []byte("step-00000009\n"), true, "step-00000009"},
		{"latest garbage", filepath.Join(cfg.CheckpointDir, "latest"), []byte("\x00\x17junk"), true, "not a checkpoint folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tt.file, tt.body, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(tt.file, before, 0o644)
			if _, err := train.LatestCheckpointStep(cfg.CheckpointDir); (err != nil) != tt.peekFails {
				t.Errorf("LatestCheckpointStep: %v, want an error: %v", err, tt.peekFails)
			}
			tr := newTrainer(t, cfg)
			fresh := weightsOf(tr)
			step, err := tr.LoadLatestCheckpoint()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadLatestCheckpoint: step %d, %v; want an error mentioning %q", step, err, tt.want)
			}
			sameWeights(t, "after the refused load", fresh, weightsOf(tr))
			if tr.Step() != 0 {
				t.Errorf("step %d after the refused load, want 0", tr.Step())
			}
		})
	}

	// A refused load changed nothing: training from there gives the uninterrupted run.
	tr := newTrainer(t, cfg)
	if err := os.WriteFile(tensorsBin, flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LoadLatestCheckpoint(); err == nil {
		t.Fatal("flipped bit not noticed")
	}
	var got []train.StepMetrics
	_, err = tr.Run(context.Background(), data, nil, train.Hooks{OnStep: func(m train.StepMetrics) error {
		got = append(got, m)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "trained after a refused load", ref, got)
}

// TestResumeAtLastStepEvaluatesNothing resumes from the checkpoint of the last step, which a
// run killed after it (while sampling completions, say) leaves: that step's evaluation was
// done before the checkpoint, so Run must neither train nor evaluate again.
func TestResumeAtLastStepEvaluatesNothing(t *testing.T) {
	data := randomData(8, 1)
	cfg := tinyConfig()
	cfg.CheckpointDir = t.TempDir()
	cfg.EvalEvery = 3
	evals := map[string][]train.Example{"valid": randomData(3, 2)}
	count := func(tr *train.Trainer) (steps, evalRows int) {
		_, err := tr.Run(context.Background(), data, evals, train.Hooks{
			OnStep: func(train.StepMetrics) error { steps++; return nil },
			OnEval: func(train.EvalMetrics) error { evalRows++; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		return steps, evalRows
	}
	if steps, rows := count(newTrainer(t, cfg)); steps != cfg.MaxSteps || rows != 2 {
		t.Fatalf("uninterrupted run: %d steps, %d eval rows; want %d, 2", steps, rows, cfg.MaxSteps)
	}
	resumed := newTrainer(t, cfg)
	if step, err := resumed.LoadLatestCheckpoint(); err != nil || step != cfg.MaxSteps {
		t.Fatalf("resume: step %d, %v", step, err)
	}
	if steps, rows := count(resumed); steps != 0 || rows != 0 {
		t.Errorf("resumed at the last step: %d steps, %d eval rows; want none", steps, rows)
	}
}
