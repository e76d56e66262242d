package train_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/train"
)

// TestDivergenceFactor checks that a loss far above the first step's ends training as
// diverged, although it stays finite; that 0 disables the check; and that a sane run is not
// stopped. The tiny model's first loss is 3.21 (uniform over 24 tokens); at lr 100 without
// clipping the second step's is 9e4, at lr 1 the third step's is 14.2 (4.4×).
func TestDivergenceFactor(t *testing.T) {
	tests := []struct {
		name     string
		lr       float64
		factor   float64
		wantStep int // the step that diverged; 0 = the run finishes
	}{
		{"finite blow-up", 100, 4, 2},
		{"slow blow-up", 1, 4, 3},
		{"check disabled", 100, 0, 0},
		{"sane learning rate", 3e-3, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.LR, cfg.MaxGradNorm, cfg.WarmupSteps, cfg.DivergenceFactor = tt.lr, 0, 0, tt.factor
			res, err := newTrainer(t, cfg).Run(context.Background(), randomData(30, 3), nil, train.Hooks{})
			if tt.wantStep == 0 {
				if err != nil || res.Steps != cfg.MaxSteps {
					t.Fatalf("err %v after %d steps, want %d steps", err, res.Steps, cfg.MaxSteps)
				}
				return
			}
			if !errors.Is(err, train.ErrDiverged) || res.Steps != tt.wantStep-1 {
				t.Fatalf("err %v after %d good steps, want ErrDiverged at step %d", err, res.Steps, tt.wantStep)
			}
			for _, want := range []string{"more than 4 × the first step's loss 3.20568", "divergence_factor 4"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestDivergenceFactorSurvivesResume stops a run that diverges at step 3 after step 2 and
// resumes it: the checkpoint carries the first step's loss, so the resumed run diverges at
// the same step instead of taking its own first loss as the reference.
func TestDivergenceFactorSurvivesResume(t *testing.T) {
	cfg := tinyConfig()
	cfg.LR, cfg.MaxGradNorm, cfg.WarmupSteps, cfg.DivergenceFactor = 1, 0, 0, 4
	cfg.CheckpointDir, cfg.CheckpointEvery = filepath.Join(t.TempDir(), "ckpt"), 2
	data := randomData(30, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := newTrainer(t, cfg).Run(ctx, data, nil, train.Hooks{OnStep: func(m train.StepMetrics) error {
		if m.Step == 2 {
			cancel()
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: %v, want it stopped after step 2", err)
	}
	resumed := newTrainer(t, cfg)
	from, err := resumed.LoadLatestCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	_, err = resumed.Run(context.Background(), data, nil, train.Hooks{})
	if from != 2 || !errors.Is(err, train.ErrDiverged) || !strings.Contains(err.Error(), "step 3:") {
		t.Fatalf("resumed from %d: %v, want resumed from 2 and diverged at step 3", from, err)
	}
}

func TestDivergenceFactorValidated(t *testing.T) {
	for _, f := range []float64{-1, math.NaN(), math.Inf(1)} {
		cfg := tinyConfig()
		cfg.DivergenceFactor = f
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "divergence_factor") {
			t.Errorf("factor %v: err %v, want it refused", f, err)
		}
	}
}
