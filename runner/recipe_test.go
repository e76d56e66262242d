package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/train"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      metrics.Status
		wantError bool
	}{
		{"finished", nil, metrics.StatusOK, false},
		{"diverged", fmt.Errorf("step 3: %w", train.ErrDiverged), metrics.StatusDiverged, true},
		{"interrupted", fmt.Errorf("step 3: %w", context.Canceled), metrics.StatusInterrupted, true},
		{"failed", errors.New("disk full"), metrics.StatusFailed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, text := statusOf(tt.err)
			if got != tt.want || (text != "") != tt.wantError {
				t.Errorf("statusOf(%v) = %s, %q; want %s with error text %v", tt.err, got, text, tt.want, tt.wantError)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	modelDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(modelDir, "tokenizer.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	bare := t.TempDir() // a model directory without a tokenizer
	tests := []struct {
		name       string
		pretrained string
		tokenizer  string
		wantKind   modelKind
		wantTokDir string
	}{
		{"gpt, built-in tokenizer", "", "", gptKind{}, ""},
		{"gpt, data.tokenizer", "", "/tok", gptKind{}, "/tok"},
		{"pretrained with its own tokenizer", modelDir, "", pretrainedKind{}, modelDir},
		{"pretrained, data.tokenizer wins", modelDir, "/tok", pretrainedKind{}, "/tok"},
		{"pretrained without a tokenizer", bare, "", pretrainedKind{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			cfg.Model.Pretrained, cfg.Data.Tokenizer = tt.pretrained, tt.tokenizer
			if k := kindOf(cfg); k != tt.wantKind {
				t.Errorf("kindOf = %T, want %T", k, tt.wantKind)
			}
			if got := TokenizerDir(cfg); got != tt.wantTokDir {
				t.Errorf("TokenizerDir = %q, want %q", got, tt.wantTokDir)
			}
		})
	}
}

// TestModelChecksStopTheSweep checks that a setting the model cannot honour stops the whole
// sweep while it is prepared: no run starts, every problem is reported, nothing is recorded.
func TestModelChecksStopTheSweep(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want []string
	}{
		{"pretrained vocabulary smaller than the tokenizer's", []string{"model.pretrained=../model/decoder/testdata/tiny"},
			[]string{"config.json vocab_size", "is smaller than the 151669 tokens of the tokenizer"}},
		{"pretrained directory missing", []string{"model.pretrained=/nonexistent/model"},
			[]string{`model.pretrained: "/nonexistent/model" is not a directory`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			exp := smoke(t, out, tt.sets...)
			sum, err := New(Options{}).Run(context.Background(), exp)
			if err == nil {
				t.Fatal("the sweep ran")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(sum.Outcomes) != 0 {
				t.Errorf("%d runs started", len(sum.Outcomes))
			}
			if infos, _ := filepath.Glob(filepath.Join(out, "*", "*", metrics.RunInfoFile)); len(infos) != 0 {
				t.Errorf("run.json written: %v", infos)
			}
		})
	}
}

// TestLoadTrainedReportsLoadErrors loads runs whose model cannot be loaded: each must be an
// error naming the problem, never a nil model without an error.
func TestLoadTrainedReportsLoadErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	out := t.TempDir()
	exp := smoke(t, out, "train.max_steps=2", "eval.samples=0")
	if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
		t.Fatalf("%v, %d failed", err, sum.Failed())
	}
	dir := RunDir(exp, exp.Runs[0])
	if tr, err := LoadTrained(dir, ""); err != nil || tr == nil {
		t.Fatalf("finished run: %v, %v", tr, err)
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"bad vocab.json", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, vocabFile), []byte("{not json"), 0o644)
		}, "vocab.json"},
		{"no checkpoints", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, checkpointsDir))
		}, "no checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			copyDir := filepath.Join(t.TempDir(), "run")
			if err := os.CopyFS(copyDir, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, copyDir)
			tr, err := LoadTrained(copyDir, "")
			if err == nil || tr != nil {
				t.Fatalf("LoadTrained = %v, %v; want an error", tr, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

// TestResumeAfterKillKeepsEvalRows copies a run's folder as a kill -9 would leave it, in the
// middle of step 5 (checkpoint and evaluation every 4 steps), resumes from that copy and checks
// that every evaluation row of an uninterrupted run is there, with the same numbers.
func TestResumeAfterKillKeepsEvalRows(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	sets := []string{"train.max_steps=8", "train.checkpoint_every=4", "eval.every=4", "eval.samples=0"}
	want := runWhole(t, sets...).Evals

	exp := smoke(t, t.TempDir(), sets...)
	dir := RunDir(exp, exp.Runs[0])
	killed := filepath.Join(t.TempDir(), "killed")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	New(Options{AfterStep: func(_ configs.Run, step int) {
		if step == 5 { // what is on disk now is what a kill -9 during step 5 leaves
			if err := os.CopyFS(killed, os.DirFS(dir)); err != nil {
				t.Error(err)
			}
			cancel()
		}
	}}).Run(ctx, exp)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(killed, dir); err != nil {
		t.Fatal(err)
	}
	if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
		t.Fatalf("resumed run: %v, %d failed", err, sum.Failed())
	}
	got := readRun(t, dir).Evals
	if len(got) != len(want) {
		t.Fatalf("eval rows after resuming: %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i].Step != want[i].Step || got[i].Split != want[i].Split || got[i].Loss != want[i].Loss {
			t.Errorf("eval row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestStaleTempFilesRemoved leaves the temporary files of a killed writer in a run's folder and
// checks that the next run of it removes them.
func TestStaleTempFilesRemoved(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	exp := smoke(t, t.TempDir(), "train.max_steps=2", "eval.samples=0")
	dir := RunDir(exp, exp.Runs[0])
	stale := filepath.Join(dir, ".metrics.arrow.tmp4242")
	// A checkpoint folder whose writer was killed before renaming it into place.
	staleCkpt := filepath.Join(dir, checkpointsDir, ".step-00000004.tmp77")
	if err := os.MkdirAll(staleCkpt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(staleCkpt, "tensors.bin"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
		t.Fatalf("%v, %d failed", err, sum.Failed())
	}
	for _, path := range []string{stale, staleCkpt} {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s is still there", path)
		}
	}
}

// TestResumeAtLastStepKeepsRowsOnce leaves a finished run's folder as a kill after its last
// checkpoint leaves it (while the completions were sampled, or run.json was being written:
// every file written, run.json still "running"), runs it again and checks that every
// evaluation and generation row is there once, as in the uninterrupted run.
func TestResumeAtLastStepKeepsRowsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	exp := smoke(t, t.TempDir(), "train.max_steps=8", "train.checkpoint_every=4", "eval.every=4", "eval.generate_every=4", "eval.samples=1")
	if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
		t.Fatalf("uninterrupted run: %v, %d failed", err, sum.Failed())
	}
	dir := RunDir(exp, exp.Runs[0])
	want := readRun(t, dir)
	info := want.Info
	info.Status = metrics.StatusRunning
	if err := metrics.WriteRunInfo(filepath.Join(dir, metrics.RunInfoFile), info); err != nil {
		t.Fatal(err)
	}
	sum, err := New(Options{}).Run(context.Background(), exp)
	if err != nil || sum.Failed() != 0 || sum.Outcomes[0].Skipped {
		t.Fatalf("rerun: %v, %d failed, skipped %v; want it resumed and finished", err, sum.Failed(), sum.Outcomes[0].Skipped)
	}
	got := readRun(t, dir)
	if len(got.Evals) != len(want.Evals) || len(got.Generations) != len(want.Generations) || len(got.Steps) != len(want.Steps) {
		t.Fatalf("after resuming at the last step: %d steps, %d eval rows, %d generation rows; want %d, %d, %d",
			len(got.Steps), len(got.Evals), len(got.Generations), len(want.Steps), len(want.Evals), len(want.Generations))
	}
	for i := range want.Evals {
		if got.Evals[i].Step != want.Evals[i].Step || got.Evals[i].Split != want.Evals[i].Split || got.Evals[i].Loss != want.Evals[i].Loss {
			t.Errorf("eval row %d: %+v, want %+v", i, got.Evals[i], want.Evals[i])
		}
	}
}

// TestDamagedCheckpointRetrains truncates the checkpoint of an interrupted run and checks that
// the next run trains it from the first step, to the numbers of an uninterrupted run.
func TestDamagedCheckpointRetrains(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	sets := []string{"train.max_steps=8", "train.checkpoint_every=4", "eval.every=4", "eval.samples=0"}
	want := runWhole(t, sets...)

	exp, dir := interruptAfter(t, 6, sets...)
	bins, _ := filepath.Glob(filepath.Join(dir, checkpointsDir, "step-*", "tensors.bin"))
	if len(bins) != 1 {
		t.Fatalf("checkpoints of the interrupted run: %v, want one", bins)
	}
	if err := os.Truncate(bins[0], 100); err != nil {
		t.Fatal(err)
	}
	if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
		t.Fatalf("rerun: %v, %d failed", err, sum.Failed())
	}
	got := readRun(t, dir)
	if len(got.Steps) != len(want.Steps) || len(got.Evals) != len(want.Evals) {
		t.Fatalf("%d steps, %d eval rows; want %d, %d", len(got.Steps), len(got.Evals), len(want.Steps), len(want.Evals))
	}
	for i := range want.Steps {
		if got.Steps[i].TrainLoss != want.Steps[i].TrainLoss {
			t.Errorf("step %d: loss %v, want %v", i+1, got.Steps[i].TrainLoss, want.Steps[i].TrainLoss)
		}
	}
}

// TestLostGenerationRowsRetrain interrupts a run that scores completions every 2 steps after
// its checkpoint of step 4, deletes generation.arrow, and reruns: the checkpoint's generation
// rows (steps 2 and 4) are gone, so the run must train again from the first step rather than
// resume and leave them missing.
func TestLostGenerationRowsRetrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	sets := []string{"train.max_steps=8", "train.checkpoint_every=4", "eval.every=4", "eval.samples=1",
		"eval.generate_every=2", "eval.max_new_tokens=2"}
	want := runWhole(t, sets...).Generations

	exp, dir := interruptAfter(t, 6, sets...)
	if err := os.Remove(filepath.Join(dir, metrics.GenerationsFile)); err != nil {
		t.Fatal(err)
	}
	if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
		t.Fatalf("rerun: %v, %d failed", err, sum.Failed())
	}
	got := readRun(t, dir).Generations
	steps := func(gs []metrics.Generation) []int64 {
		var s []int64
		for _, g := range gs {
			s = append(s, g.Step)
		}
		return s
	}
	if !slices.Equal(steps(got), steps(want)) || len(want) < 4 {
		t.Errorf("generation rows at steps %v, want %v (an uninterrupted run's)", steps(got), steps(want))
	}
}

// runWhole runs the smoke experiment with sets, uninterrupted, in a new folder and returns its
// run.
func runWhole(t *testing.T, sets ...string) metrics.Run {
	t.Helper()
	exp := smoke(t, t.TempDir(), sets...)
	if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
		t.Fatalf("uninterrupted run: %v, %d failed", err, sum.Failed())
	}
	return readRun(t, RunDir(exp, exp.Runs[0]))
}

// interruptAfter runs the smoke experiment with sets in a new folder, stopping it (as an
// interrupt does) after step, and returns the experiment and its run's folder.
func interruptAfter(t *testing.T, step int, sets ...string) (*configs.Experiment, string) {
	t.Helper()
	exp := smoke(t, t.TempDir(), sets...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	New(Options{AfterStep: func(_ configs.Run, s int) {
		if s == step {
			cancel()
		}
	}}).Run(ctx, exp)
	return exp, RunDir(exp, exp.Runs[0])
}
