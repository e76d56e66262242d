package runner

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
		picks   []int // indices selected among 0..5
	}{
		{in: "", want: Shard{}, picks: []int{0, 1, 2, 3, 4, 5}},
		{in: "1/1", want: Shard{1, 1}, picks: []int{0, 1, 2, 3, 4, 5}},
		{in: "1/3", want: Shard{1, 3}, picks: []int{0, 3}},
		{in: "3/3", want: Shard{3, 3}, picks: []int{2, 5}},
		{in: "0/3", wantErr: true},
		{in: "4/3", wantErr: true},
		{in: "1-3", wantErr: true},
		{in: "a/b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseShard(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			var picks []int
			for i := range 6 {
				if got.Selects(i) {
					picks = append(picks, i)
				}
			}
			if len(picks) != len(tt.picks) {
				t.Fatalf("selects %v, want %v", picks, tt.picks)
			}
			for i := range picks {
				if picks[i] != tt.picks[i] {
					t.Fatalf("selects %v, want %v", picks, tt.picks)
				}
			}
		})
	}
}

// smoke loads the smoke experiment with its output in dir and extra overrides.
func smoke(t *testing.T, dir string, sets ...string) *configs.Experiment {
	t.Helper()
	sets = append([]string{"output.dir=" + dir, "sweep.grid={data.format: [instruction]}"}, sets...)
	exp, err := configs.Load(filepath.Join("..", "experiments", "smoke.yaml"), sets)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestResumeAfterInterrupt interrupts a run after step 6 (the trainer checkpoints when it is
// stopped), runs the experiment again, and checks that the resumed run's metrics equal those of
// an uninterrupted run bit for bit. checkpoint_every is left at its default, 0.
func TestResumeAfterInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	sets := []string{"eval.generate_every=4", "eval.samples=2"}

	whole := smoke(t, t.TempDir(), sets...)
	sum, err := New(Options{}).Run(context.Background(), whole)
	if err != nil || sum.Failed() != 0 {
		t.Fatalf("uninterrupted run: %v, %d failed", err, sum.Failed())
	}
	want := readRun(t, RunDir(whole, whole.Runs[0]))

	exp := smoke(t, t.TempDir(), sets...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, err = New(Options{AfterStep: func(_ configs.Run, step int) {
		if step == 6 {
			cancel()
		}
	}}).Run(ctx, exp)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	dir := RunDir(exp, exp.Runs[0])
	interrupted := readRun(t, dir).Info
	if interrupted.Status != metrics.StatusInterrupted {
		t.Fatalf("status after interrupt = %s, want interrupted", interrupted.Status)
	}

	var resumedAt []int
	sum, err = New(Options{AfterStep: func(_ configs.Run, step int) { resumedAt = append(resumedAt, step) }}).Run(context.Background(), exp)
	if err != nil || sum.Failed() != 0 {
		t.Fatalf("resumed run: %v, %d failed", err, sum.Failed())
	}
	if len(resumedAt) == 0 || resumedAt[0] != 7 {
		t.Fatalf("resumed run trained steps %v, want it to start at step 7 (after the step-6 checkpoint)", resumedAt)
	}
	got := readRun(t, dir)
	if len(got.Steps) != len(want.Steps) {
		t.Fatalf("resumed run has %d steps, want %d", len(got.Steps), len(want.Steps))
	}
	for i := range want.Steps {
		a, b := want.Steps[i], got.Steps[i]
		if a.Step != b.Step || a.TrainLoss != b.TrainLoss || a.LR != b.LR || a.GradNorm != b.GradNorm || a.Tokens != b.Tokens {
			t.Errorf("step %d: uninterrupted %+v, resumed %+v", a.Step, a, b)
		}
	}
	if got.Info.Provenance.WallS <= interrupted.Provenance.WallS {
		t.Errorf("resumed run's wall_s %v does not include the interrupted attempt's %v", got.Info.Provenance.WallS, interrupted.Provenance.WallS)
	}
	if w, g := want.Info.Summary, got.Info.Summary; w.EvalLoss != g.EvalLoss || w.EvalLossTrain != g.EvalLossTrain || w.TokenAccuracy != g.TokenAccuracy {
		t.Errorf("summary differs: uninterrupted %+v, resumed %+v", w, g)
	}
	// The completions scored at step 4, before the interruption, are kept; 8 and 12 follow.
	if len(got.Generations) != 3 || len(want.Generations) != 3 {
		t.Fatalf("generation rows: resumed %+v, uninterrupted %+v; want steps 4, 8, 12", got.Generations, want.Generations)
	}
	for i, w := range want.Generations {
		g := got.Generations[i]
		if g.Step != w.Step || g.ChrF != w.ChrF || g.RougeL != w.RougeL || g.ExactMatch != w.ExactMatch || g.NewTokens != w.NewTokens {
			t.Errorf("generation row %d: uninterrupted %+v, resumed %+v", i, w, g)
		}
	}
}

// TestDivergedRunIsRecorded trains at an absurd learning rate without clipping: the loss
// becomes non-finite, the run is recorded as diverged, and Run itself succeeds.
func TestDivergedRunIsRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	exp := smoke(t, t.TempDir(), "train.learning_rate=1e38", "train.max_grad_norm=0", "train.warmup_steps=0")
	sum, err := New(Options{}).Run(context.Background(), exp)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed() != 1 {
		t.Fatalf("%d failed, want 1", sum.Failed())
	}
	info := readRun(t, RunDir(exp, exp.Runs[0])).Info
	if info.Status != metrics.StatusDiverged || info.Error == "" {
		t.Fatalf("status %s (error %q), want diverged with an error", info.Status, info.Error)
	}
}

func readRun(t *testing.T, dir string) metrics.Run {
	t.Helper()
	r, err := metrics.ReadRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGradAccum trains with 2 micro-batches of 2 and checks the step losses against one batch
// of 4: gradient accumulation reaches the trainer and changes nothing but float rounding.
func TestGradAccum(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	one := smoke(t, t.TempDir(), "train.batch_size=4", "train.max_steps=4", "eval.samples=0")
	two := smoke(t, t.TempDir(), "train.batch_size=2", "train.grad_accum=2", "train.max_steps=4", "eval.samples=0")
	for _, exp := range []*configs.Experiment{one, two} {
		if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
			t.Fatalf("%v, %d failed", err, sum.Failed())
		}
	}
	a := readRun(t, RunDir(one, one.Runs[0])).Steps
	b := readRun(t, RunDir(two, two.Runs[0])).Steps
	if len(a) != 4 || len(b) != 4 {
		t.Fatalf("steps: %d and %d, want 4", len(a), len(b))
	}
	for i := range a {
		if d := math.Abs(a[i].TrainLoss-b[i].TrainLoss) / a[i].TrainLoss; d > 1e-5 {
			t.Errorf("step %d: loss %v with one batch of 4, %v with 2×2 (relative %.2g)", i+1, a[i].TrainLoss, b[i].TrainLoss, d)
		}
	}
}
