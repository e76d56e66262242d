package train_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/train"
)

// relDiff is |a−b| / max(|a|, |b|, tiny).
func relDiff(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), 1e-30)
}

// TestGradAccumMatchesLargeBatch checks that k micro-batches of b examples per optimizer step
// train like one batch of k·b: same data order, epochs, token counts and learning rates, and
// losses, grad norms and weights equal up to float32 rounding.
func TestGradAccumMatchesLargeBatch(t *testing.T) {
	data := randomData(10, 5) // 10 examples in steps of 4: the last step of each epoch holds 2
	tests := []struct {
		name          string
		padding       string
		micro, accum  int
		lossTol       float64 // relative, losses and grad norms (measured ≈ 1e-7)
		weightTol     float64 // absolute, final weights (measured ≈ 1.5e-6: AdamW's normalised steps amplify rounding)
		wantMaxSteps  int
		wantLastEpoch float64
	}{
		{"longest 2x2", train.PadLongest, 2, 2, 1e-6, 1e-5, 5, 5.0 / 3},
		{"max_length 2x2", train.PadMaxLength, 2, 2, 1e-6, 1e-5, 5, 5.0 / 3},
		{"longest 4x1", train.PadLongest, 1, 4, 1e-6, 1e-5, 5, 5.0 / 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			big := tinyConfig()
			big.MaxSteps, big.Padding, big.MaxLength = tc.wantMaxSteps, tc.padding, tinyModel.Context
			big.BatchSize = tc.micro * tc.accum
			acc := big
			acc.BatchSize, acc.GradAccum = tc.micro, tc.accum
			ref, refW, _ := trace(t, big, data, -1)
			got, gotW, _ := trace(t, acc, data, -1)
			if len(got) != len(ref) {
				t.Fatalf("%d steps with accumulation, %d without", len(got), len(ref))
			}
			var maxLoss, maxNorm, maxWeight float64
			for i := range ref {
				r, g := ref[i], got[i]
				if g.Step != r.Step || g.LR != r.LR || g.Tokens != r.Tokens || g.Epoch != r.Epoch {
					t.Errorf("step %d: step/lr/tokens/epoch %d %v %d %v, one batch gives %d %v %d %v",
						i+1, g.Step, g.LR, g.Tokens, g.Epoch, r.Step, r.LR, r.Tokens, r.Epoch)
				}
				maxLoss = math.Max(maxLoss, relDiff(g.TrainLoss, r.TrainLoss))
				maxNorm = math.Max(maxNorm, relDiff(g.GradNorm, r.GradNorm))
			}
			if last := got[len(got)-1].Epoch; math.Abs(last-tc.wantLastEpoch) > 1e-12 {
				t.Errorf("last epoch %v, want %v", last, tc.wantLastEpoch)
			}
			for path, w := range refW {
				if strings.HasPrefix(path, "/grad_acc") {
					t.Errorf("run without accumulation has accumulator %s", path)
				}
				for j, x := range w {
					maxWeight = math.Max(maxWeight, math.Abs(float64(x)-float64(gotW[path][j])))
				}
			}
			t.Logf("max relative difference: loss %.3g, grad norm %.3g; max weight difference %.3g", maxLoss, maxNorm, maxWeight)
			if maxLoss > tc.lossTol || maxNorm > tc.lossTol || maxWeight > tc.weightTol {
				t.Errorf("loss %.3g, grad norm %.3g (tolerance %g), weights %.3g (tolerance %g)",
					maxLoss, maxNorm, tc.lossTol, maxWeight, tc.weightTol)
			}
		})
	}
}

// TestGradAccumTrainStep checks that TrainStep splits its examples into micro-batches.
func TestGradAccumTrainStep(t *testing.T) {
	data := randomData(5, 6)
	big := tinyConfig()
	big.BatchSize = 5
	acc := big
	acc.BatchSize, acc.GradAccum = 2, 3 // micro-batches of 2, 2 and 1
	trBig, trAcc := newTrainer(t, big), newTrainer(t, acc)
	for step := 1; step <= 3; step++ {
		wantLoss, wantNorm, err := trBig.TrainStep(data)
		if err != nil {
			t.Fatal(err)
		}
		loss, norm, err := trAcc.TrainStep(data)
		if err != nil {
			t.Fatal(err)
		}
		if relDiff(loss, wantLoss) > 1e-5 || relDiff(norm, wantNorm) > 1e-5 {
			t.Errorf("step %d: loss %v norm %v, one batch gives %v %v", step, loss, norm, wantLoss, wantNorm)
		}
	}
	unlabelled := []train.Example{{IDs: []int32{1, 2, 3}, Labels: []int32{train.IgnoreLabel, train.IgnoreLabel, train.IgnoreLabel}}}
	if _, _, err := trAcc.TrainStep(append(unlabelled, unlabelled...)); err == nil {
		t.Error("step without labelled positions: want an error")
	}
}

func TestGradAccumDeterminism(t *testing.T) {
	data := randomData(9, 7)
	cfg := tinyConfig()
	cfg.BatchSize, cfg.GradAccum = 2, 2
	ref, refW, _ := trace(t, cfg, data, -1)
	t.Run("GOMAXPROCS 1 vs 2", func(t *testing.T) {
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			got, gotW, _ := trace(t, cfg, data, -1)
			runtime.GOMAXPROCS(old)
			sameBits(t, "rerun", ref, got)
			sameWeights(t, "rerun", refW, gotW)
		}
	})
	t.Run("resume from a checkpoint", func(t *testing.T) {
		dir := t.TempDir()
		ck := cfg
		ck.CheckpointDir, ck.CheckpointEvery = dir, 2
		first, _, err := trace(t, ck, data, 3) // checkpoint at 2, stopped after 3
		if err == nil {
			t.Fatal("run was not stopped by its hook")
		}
		sameBits(t, "before the checkpoint", ref[:3], first)
		raw, err := os.ReadFile(filepath.Join(dir, "step-00000002", "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Settings struct {
				GradAccum int `json:"grad_accum"`
			} `json:"settings"`
			Variables []struct {
				Path string `json:"path"`
			} `json:"variables"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		if st.Settings.GradAccum != 2 {
			t.Errorf("checkpoint settings grad_accum = %d, want 2", st.Settings.GradAccum)
		}
		for _, v := range st.Variables {
			if strings.HasPrefix(v.Path, "/grad_acc") {
				t.Errorf("checkpoint holds the gradient accumulator %s", v.Path)
			}
		}
		rest, restW, _ := trace(t, ck, data, -1)
		sameBits(t, "after resuming", ref[2:], rest)
		sameWeights(t, "after resuming", refW, restW)
		for _, ga := range []int{1, 3} {
			changed := ck
			changed.BatchSize, changed.GradAccum = 2, ga
			if _, err := newTrainer(t, changed).LoadLatestCheckpoint(); err == nil || !strings.Contains(err.Error(), "settings") {
				t.Errorf("resume with grad_accum %d instead of 2: error %v, want a settings mismatch", ga, err)
			}
		}
	})
}

func TestValidateGradAccum(t *testing.T) {
	for _, tc := range []struct {
		gradAccum int
		wantErr   bool
	}{{-1, true}, {0, false}, {1, false}, {4, false}} {
		cfg := tinyConfig()
		cfg.GradAccum = tc.gradAccum
		err := cfg.Validate()
		if (err != nil) != tc.wantErr || (err != nil && !strings.Contains(err.Error(), "grad_accum")) {
			t.Errorf("GradAccum %d: Validate() = %v, want error %v", tc.gradAccum, err, tc.wantErr)
		}
	}
}
