package train_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/train"
)

var tinyModel = model.Config{Vocab: 24, DModel: 16, Heads: 2, Layers: 1, MLP: 32, Context: 16}

func tinyConfig() train.Config {
	return train.Config{MaxSteps: 6, LR: 3e-3, WarmupSteps: 2, WeightDecay: 0.1, MaxGradNorm: 1,
		BatchSize: 3, Seed: 11, Padding: train.PadLongest}
}

// randomData returns n examples of random lengths in [4, 12], with the first two labels masked.
func randomData(n int, seed uint64) []train.Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]train.Example, n)
	for i := range out {
		ids := make([]int32, 4+rng.IntN(9))
		for j := range ids {
			ids[j] = int32(rng.IntN(tinyModel.Vocab))
		}
		labels := slices.Clone(ids)
		labels[0], labels[1] = train.IgnoreLabel, train.IgnoreLabel
		out[i] = train.Example{IDs: ids, Labels: labels}
	}
	return out
}

func newTrainer(t *testing.T, cfg train.Config) *train.Trainer {
	t.Helper()
	return newTrainerOn(t, backend.Config{Name: "cpu"}, cfg)
}

// newTrainerOn is newTrainer on the backend bc.
func newTrainerOn(t *testing.T, bc backend.Config, cfg train.Config) *train.Trainer {
	t.Helper()
	gpt, err := model.NewGPT(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.New(bc)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(be, gpt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// trace runs cfg on data and returns every step's metrics and the final weights.
func trace(t *testing.T, cfg train.Config, data []train.Example, stopAfter int) ([]train.StepMetrics, map[string][]float32, error) {
	t.Helper()
	return traceOn(t, backend.Config{Name: "cpu"}, cfg, data, stopAfter)
}

// traceOn is trace on the backend bc.
func traceOn(t *testing.T, bc backend.Config, cfg train.Config, data []train.Example, stopAfter int) ([]train.StepMetrics, map[string][]float32, error) {
	t.Helper()
	tr := newTrainerOn(t, bc, cfg)
	if cfg.CheckpointDir != "" { // resume from the latest checkpoint there, if any
		if _, err := tr.LoadLatestCheckpoint(); err != nil {
			t.Fatal(err)
		}
	}
	var steps []train.StepMetrics
	errStop := errors.New("stop")
	_, err := tr.Run(context.Background(), data, nil, train.Hooks{OnStep: func(m train.StepMetrics) error {
		steps = append(steps, m)
		if m.Step == stopAfter {
			return errStop
		}
		return nil
	}})
	if err != nil && !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	weights := map[string][]float32{}
	for v := range tr.Store().IterVariables() {
		weights[v.Path()] = tensors.MustCopyFlatData[float32](v.MustValue())
	}
	return steps, weights, err
}

func sameBits(t *testing.T, what string, a, b []train.StepMetrics) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d steps", what, len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i].TrainLoss) != math.Float64bits(b[i].TrainLoss) ||
			math.Float64bits(a[i].GradNorm) != math.Float64bits(b[i].GradNorm) ||
			a[i].Step != b[i].Step || a[i].LR != b[i].LR || a[i].Tokens != b[i].Tokens || a[i].Epoch != b[i].Epoch {
			t.Errorf("%s: step %d differs: %+v vs %+v", what, a[i].Step, a[i], b[i])
		}
	}
}

func sameWeights(t *testing.T, what string, a, b map[string][]float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d variables", what, len(a), len(b))
	}
	for path, va := range a {
		if !slices.Equal(va, b[path]) {
			t.Errorf("%s: variable %s differs", what, path)
		}
	}
}

func TestDeterminism(t *testing.T) {
	data := randomData(8, 1)
	cfg := tinyConfig()
	ref, refW, _ := trace(t, cfg, data, -1)
	if len(ref) != cfg.MaxSteps {
		t.Fatalf("%d steps, want %d", len(ref), cfg.MaxSteps)
	}
	if ref[0].LR != 0 || ref[2].LR != cfg.LR || ref[len(ref)-1].Epoch != 2 {
		t.Errorf("lr %v, %v (want 0 and %v), last epoch %v (want 2: 8 examples in batches of 3)", ref[0].LR, ref[2].LR, cfg.LR, ref[len(ref)-1].Epoch)
	}
	t.Run("same seed twice", func(t *testing.T) {
		again, againW, _ := trace(t, cfg, data, -1)
		sameBits(t, "rerun", ref, again)
		sameWeights(t, "rerun", refW, againW)
	})
	t.Run("GOMAXPROCS 1 vs 2", func(t *testing.T) {
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			got, gotW, _ := trace(t, cfg, data, -1)
			runtime.GOMAXPROCS(old)
			sameBits(t, "GOMAXPROCS", ref, got)
			sameWeights(t, "GOMAXPROCS", refW, gotW)
		}
	})
	t.Run("sequential schedule", func(t *testing.T) {
		// The schedule orders operations differently; each operation computes the same bits.
		got, gotW, _ := traceOn(t, backend.Config{Name: "cpu", Schedule: backend.ScheduleSeq}, cfg, data, -1)
		sameBits(t, "sequential schedule", ref, got)
		sameWeights(t, "sequential schedule", refW, gotW)
	})
	t.Run("other seed differs", func(t *testing.T) {
		other := cfg
		other.Seed++
		got, _, _ := trace(t, other, data, -1)
		if got[0].TrainLoss == ref[0].TrainLoss {
			t.Errorf("seeds %d and %d give the same first loss %v", cfg.Seed, other.Seed, got[0].TrainLoss)
		}
	})
	t.Run("resume with no checkpoint yet starts fresh", func(t *testing.T) {
		fresh := cfg
		fresh.CheckpointDir = t.TempDir()
		got, _, _ := trace(t, fresh, data, -1)
		sameBits(t, "fresh resume", ref, got)
	})
	t.Run("resume from a checkpoint", func(t *testing.T) {
		dir := t.TempDir()
		ck := cfg
		ck.CheckpointDir, ck.CheckpointEvery = dir, 3
		first, _, err := trace(t, ck, data, 4) // checkpoint at 3, stopped during 4
		if err == nil {
			t.Fatal("run was not stopped by its hook")
		}
		sameBits(t, "before the checkpoint", ref[:4], first)
		rest, restW, _ := trace(t, ck, data, -1)
		sameBits(t, "after resuming", ref[3:], rest)
		sameWeights(t, "after resuming", refW, restW)
		latest, err := os.ReadFile(filepath.Join(dir, "latest"))
		if err != nil || string(latest) != "step-00000006\n" {
			t.Errorf("latest = %q, %v; want step-00000006", latest, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Errorf("checkpoint dir holds %d entries, want latest + one checkpoint", len(entries))
		}
		changed := ck
		changed.LR *= 2
		if _, err := newTrainer(t, changed).LoadLatestCheckpoint(); err == nil {
			t.Error("resume with another lr: want an error")
		}
	})
}

func TestEvaluateIndependentOfBatching(t *testing.T) {
	data := randomData(7, 2)
	var ref train.EvalMetrics
	for i, tc := range []struct {
		name    string
		batch   int
		padding string
	}{{"batch 1", 1, train.PadLongest}, {"batch 3", 3, train.PadLongest}, {"batch 7 max_length", 7, train.PadMaxLength}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.EvalBatchSize, cfg.Padding, cfg.MaxLength = tc.batch, tc.padding, tinyModel.Context
			em, err := newTrainer(t, cfg).Evaluate("valid", data)
			if err != nil {
				t.Fatal(err)
			}
			var want int64
			for _, ex := range data {
				want += int64(len(ex.IDs) - 2)
			}
			if em.Tokens != want || em.Split != "valid" {
				t.Errorf("tokens %d split %q, want %d valid", em.Tokens, em.Split, want)
			}
			if math.Abs(em.Loss-math.Log(float64(tinyModel.Vocab))) > 0.1 || em.TokenAccuracy < 0 || em.TokenAccuracy > 0.3 {
				t.Errorf("untrained loss %v accuracy %v, want ≈ ln(%d) and low", em.Loss, em.TokenAccuracy, tinyModel.Vocab)
			}
			if i == 0 {
				ref = em
				return
			}
			if math.Abs(em.Loss-ref.Loss) > 1e-6*ref.Loss || em.TokenAccuracy != ref.TokenAccuracy {
				t.Errorf("loss %v accuracy %v, batch 1 gives %v %v", em.Loss, em.TokenAccuracy, ref.Loss, ref.TokenAccuracy)
			}
		})
	}
}

// nanModel poisons one weight, so the first loss is NaN.
type nanModel struct{ *model.GPT }

func (m nanModel) Init(store *mlmodel.Store, seed uint64) error {
	if err := m.GPT.Init(store, seed); err != nil {
		return err
	}
	v := store.GetVariable("/lm_head/weights")
	data := tensors.MustCopyFlatData[float32](v.MustValue())
	data[0] = float32(math.NaN())
	return v.SetValue(tensors.FromFlatDataAndDimensions(data, v.Shape().Dimensions...))
}

func TestStops(t *testing.T) {
	data := randomData(6, 3)
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	gpt, err := model.NewGPT(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hookErr := errors.New("hook failed")
	tests := []struct {
		name      string
		m         train.Model
		ctx       context.Context
		hooks     train.Hooks
		wantIs    error
		wantSteps int
	}{
		{"diverged", nanModel{gpt}, context.Background(), train.Hooks{}, train.ErrDiverged, 1},
		{"cancelled", gpt, ctx, train.Hooks{OnStep: func(m train.StepMetrics) error {
			if m.Step == 2 {
				cancel()
			}
			return nil
		}}, context.Canceled, 2},
		{"step hook error", gpt, context.Background(), train.Hooks{OnStep: func(m train.StepMetrics) error { return hookErr }}, hookErr, 1},
		{"eval hook error", gpt, context.Background(), train.Hooks{OnEval: func(m train.EvalMetrics) error { return hookErr }}, hookErr, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.EvalEvery = 2
			tr, err := train.New(be, tt.m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tr.Run(tt.ctx, data, map[string][]train.Example{"valid": data[:2]}, tt.hooks)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Run() error %v, want %v", err, tt.wantIs)
			}
			if tr.Step() != tt.wantSteps {
				t.Errorf("stopped after %d steps, want %d", tr.Step(), tt.wantSteps)
			}
		})
	}
}

// TestLearnsAndGenerates trains on a cyclic sequence and checks that greedy generation
// continues it, and that eval runs at the requested steps.
func TestLearnsAndGenerates(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for 150 steps")
	}
	var data []train.Example
	for start := range 8 {
		ids := make([]int32, 12)
		for j := range ids {
			ids[j] = int32((start + j) % 8)
		}
		data = append(data, train.Example{IDs: ids, Labels: ids})
	}
	cfg := tinyConfig()
	cfg.MaxSteps, cfg.LR, cfg.WarmupSteps, cfg.BatchSize, cfg.EvalEvery = 150, 1e-2, 10, 4, 50
	tr := newTrainer(t, cfg)
	var evalSteps []int
	res, err := tr.Run(context.Background(), data, map[string][]train.Example{"train": data}, train.Hooks{
		OnEval: func(m train.EvalMetrics) error { evalSteps = append(evalSteps, m.Step); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(evalSteps, []int{50, 100, 150}) {
		t.Errorf("evaluated at steps %v, want [50 100 150]", evalSteps)
	}
	if ev := res.Evals["train"]; ev.Loss > 0.1 || ev.TokenAccuracy != 1 {
		t.Errorf("final eval %+v: want loss < 0.1 and accuracy 1", ev)
	}
	got, err := tr.Generate([]int32{5, 6, 7}, 6, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("Generate(5 6 7, stop 3) = %v, want %v", got, want)
	}
	if _, err := tr.Generate(make([]int32, tinyModel.Context+1), 1, -1); err == nil {
		t.Error("prompt longer than the context: want an error")
	}
	got, err = tr.Generate([]int32{2}, 20, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != tinyModel.Context {
		t.Errorf("generated %d tokens without a stop, want %d (the context)", len(got), tinyModel.Context)
	}
}

// TestEvaluateAnswerLoss checks that AnswerLoss is the loss over the answer-labelled positions:
// the same as Loss when those positions are the labels.
func TestEvaluateAnswerLoss(t *testing.T) {
	data := randomData(7, 3)
	answersOnly := make([]train.Example, len(data))
	for i, ex := range data {
		answer := make([]int32, len(ex.IDs))
		for j := range answer {
			answer[j] = train.IgnoreLabel
			if j >= len(ex.IDs)-3 {
				answer[j] = ex.IDs[j]
			}
		}
		data[i].AnswerLabels = answer
		answersOnly[i] = train.Example{IDs: ex.IDs, Labels: answer}
	}
	cfg := tinyConfig()
	cfg.EvalBatchSize = 3
	tr := newTrainer(t, cfg)
	em, err := tr.Evaluate("valid", data)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := tr.Evaluate("valid", answersOnly)
	if err != nil {
		t.Fatal(err)
	}
	if em.AnswerTokens != 21 || ref.Tokens != 21 {
		t.Fatalf("answer tokens %d, reference tokens %d; want 21", em.AnswerTokens, ref.Tokens)
	}
	if math.Abs(em.AnswerLoss-ref.Loss) > 1e-6*ref.Loss {
		t.Errorf("AnswerLoss %v, loss over the answer positions %v", em.AnswerLoss, ref.Loss)
	}
	if !math.IsNaN(ref.AnswerLoss) {
		t.Errorf("examples without answer labels: AnswerLoss %v, want NaN", ref.AnswerLoss)
	}
}

// TestEvaluateBatchAverage checks eval_loss averaged as Hugging Face does: the mean of each eval
// batch's loss (batches of 3, 3 and 1 examples), weighted by its number of examples.
func TestEvaluateBatchAverage(t *testing.T) {
	data := randomData(7, 4)
	cfg := tinyConfig()
	cfg.EvalBatchSize = 3
	cfg.EvalLossAverage = train.AverageBatches
	tr := newTrainer(t, cfg)
	em, err := tr.Evaluate("train", data)
	if err != nil {
		t.Fatal(err)
	}
	var num float64
	for _, chunk := range [][]train.Example{data[:3], data[3:6], data[6:]} {
		b, err := tr.Evaluate("train", chunk) // one batch: its mean loss
		if err != nil {
			t.Fatal(err)
		}
		num += float64(len(chunk)) * b.Loss
	}
	if want := num / 7; math.Abs(em.Loss-want) > 1e-6*want {
		t.Errorf("batch-weighted eval loss %v, want %v", em.Loss, want)
	}
	cfg.EvalLossAverage = train.AverageTokens
	tokens, err := newTrainer(t, cfg).Evaluate("train", data)
	if err != nil {
		t.Fatal(err)
	}
	if em.Loss == tokens.Loss {
		t.Errorf("batch and token averages agree (%v) on batches of unequal token counts", em.Loss)
	}
}

// TestParamsHash checks that the hash of the initial weights depends on the seed only, and
// changes once a step has trained them.
func TestParamsHash(t *testing.T) {
	hash := func(tr *train.Trainer) string {
		t.Helper()
		h, err := tr.ParamsHash()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	cfg := tinyConfig()
	a := newTrainer(t, cfg)
	other := cfg
	other.LR = 1e-2 // does not change initialisation
	if ha, hb := hash(a), hash(newTrainer(t, other)); ha != hb {
		t.Errorf("same seed, other lr: hashes %s and %s differ", ha, hb)
	}
	reseeded := cfg
	reseeded.Seed++
	if ha, hc := hash(a), hash(newTrainer(t, reseeded)); ha == hc {
		t.Errorf("seeds %d and %d give the same hash %s", cfg.Seed, reseeded.Seed, ha)
	}
	before := hash(a)
	for range 2 { // the first step's learning rate is 0 (warmup)
		if _, _, err := a.TrainStep(randomData(3, 5)); err != nil {
			t.Fatal(err)
		}
	}
	if hash(a) == before {
		t.Error("a training step did not change the hash")
	}
	if n := a.ParamCount(); n <= 0 {
		t.Errorf("ParamCount = %d", n)
	}
}
