package runner

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sftlab/sftlab/configs"
)

// TestDataConfigOf checks that the data configuration of a run changes with every setting its
// prepared data depends on and with nothing else, and that every key of the data section is
// classified here: a new data key fails this test until it is.
func TestDataConfigOf(t *testing.T) {
	modelDir := t.TempDir()
	// what each data key does to the prepared data: true when it changes it.
	dataKeys := map[string]struct {
		set     func(*configs.Config)
		changes bool
	}{
		"dataset":        {func(c *configs.Config) { c.Data.Dataset = "other.jsonl" }, true},
		"format":         {func(c *configs.Config) { c.Data.Format = "chat" }, true},
		"masking":        {func(c *configs.Config) { c.Data.Masking = "completion_only" }, true},
		"max_length":     {func(c *configs.Config) { c.Data.MaxLength++ }, true},
		"truncate":       {func(c *configs.Config) { c.Data.Truncate = !c.Data.Truncate }, true},
		"valid_fraction": {func(c *configs.Config) { c.Data.ValidFraction += 0.05 }, true},
		"split_seed":     {func(c *configs.Config) { c.Data.SplitSeed++ }, true},
		"eval_on":        {func(c *configs.Config) { c.Data.EvalOn = "train" }, true},
		"tokenizer":      {func(c *configs.Config) { c.Data.Tokenizer = "/some/tokenizer" }, true},
		// Padding and packing shape the batches the trainer builds, not the examples.
		"padding": {func(c *configs.Config) { c.Data.Padding = "max_length" }, false},
		"packing": {func(c *configs.Config) { c.Data.Packing = !c.Data.Packing }, false},
	}
	typ := reflect.TypeFor[configs.DataConfig]()
	for i := range typ.NumField() {
		tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if _, ok := dataKeys[tag]; !ok {
			t.Errorf("data.%s is not classified: add it to dataConfig if prepared data depends on it, and to this test either way", tag)
		}
	}
	tests := map[string]struct {
		set     func(*configs.Config)
		changes bool
	}{
		"model.pretrained":    {func(c *configs.Config) { c.Model.Pretrained = modelDir }, true},
		"model.vocab":         {func(c *configs.Config) { c.Model.Vocab = "compact" }, true},
		"train.seed":          {func(c *configs.Config) { c.Train.Seed++ }, false},
		"train.learning_rate": {func(c *configs.Config) { c.Train.LearningRate *= 2 }, false},
		"train.max_steps":     {func(c *configs.Config) { c.Train.MaxSteps++ }, false},
		"model.d_model":       {func(c *configs.Config) { c.Model.DModel *= 2 }, false},
		"output.dir":          {func(c *configs.Config) { c.Output.Dir = "elsewhere" }, false},
	}
	for k, v := range dataKeys {
		tests["data."+k] = v
	}
	base := configs.Default()
	base.Model.Vocab = "full"
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := base
			tt.set(&cfg)
			if changed := dataConfigOf(cfg) != dataConfigOf(base); changed != tt.changes {
				t.Errorf("data configuration changed: %v, want %v", changed, tt.changes)
			}
		})
	}
}

// sweep loads the smoke experiment with its output in dir, the sweep grid given (a YAML flow
// mapping) over seeds 1, 2 and 3, two steps per run and no sample completions.
func sweep(t *testing.T, dir, grid string, sets ...string) *configs.Experiment {
	t.Helper()
	sets = append([]string{"output.dir=" + dir, "sweep.grid=" + grid, "sweep.seeds=[1, 2, 3]", "train.max_steps=2", "eval.samples=0"}, sets...)
	exp, err := configs.Load(filepath.Join("..", "experiments", "smoke.yaml"), sets)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// formatsAndRates is a sweep grid of two data configurations, one per format.
const formatsAndRates = "{data.format: [sft, instruction], train.learning_rate: [1e-3, 3e-3]}"

// TestDataPreparedOncePerConfig prepares a sweep of 12 runs over formats, learning rates and
// seeds: the data is prepared once per format, the runs of a format share it, and nothing is
// created on disk.
func TestDataPreparedOncePerConfig(t *testing.T) {
	out := filepath.Join(t.TempDir(), "runs")
	exp := sweep(t, out, formatsAndRates)
	if len(exp.Runs) != 12 {
		t.Fatalf("%d runs, want 12", len(exp.Runs))
	}
	r := New(Options{})
	if err := r.prepareAll(context.Background(), exp, exp.Runs); err != nil {
		t.Fatal(err)
	}
	if n := len(r.cache.data); n != 2 {
		t.Errorf("data prepared for %d configurations, want 2 (one per format)", n)
	}
	byFormat := map[string]*preparedData{}
	for _, run := range exp.Runs {
		p, err := r.prepare(context.Background(), exp, run)
		if err != nil {
			t.Fatal(err)
		}
		format := run.Config.Data.Format
		if byFormat[format] == nil {
			byFormat[format] = p.preparedData
		} else if byFormat[format] != p.preparedData {
			t.Errorf("run %s has data of its own, want that of the other %s runs", run.Name, format)
		}
	}
	if byFormat["sft"] == byFormat["instruction"] {
		t.Error("the sft and instruction runs share their data")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output.dir exists after preparing (err %v), want nothing created", err)
	}
}

// TestBadDataReportedOncePerConfig sweeps two lengths that the data does not fit over three
// seeds: the sweep stops before any run starts, each problem reported once, naming its runs, and
// nothing is created.
func TestBadDataReportedOncePerConfig(t *testing.T) {
	out := filepath.Join(t.TempDir(), "runs")
	exp := sweep(t, out, "{data.format: [sft], data.max_length: [8, 9]}")
	sum, err := New(Options{}).Run(context.Background(), exp)
	if err == nil {
		t.Fatal("the sweep ran")
	}
	for _, want := range []string{"longer than 8 tokens", "longer than 9 tokens"} {
		if n := strings.Count(err.Error(), want); n != 1 {
			t.Errorf("%q reported %d times, want once:\n%v", want, n, err)
		}
	}
	if n := strings.Count(err.Error(), "and 2 more with the same data settings"); n != 2 {
		t.Errorf("the problems name their runs %d times, want 2:\n%v", n, err)
	}
	if len(sum.Outcomes) != 0 {
		t.Errorf("%d runs started", len(sum.Outcomes))
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output.dir exists (err %v), want nothing created", err)
	}
}

// TestOutputDirCheckedWithoutTrace checks that the output folder is checked before any run
// starts and that checking it leaves nothing behind: neither a folder that does not exist yet
// nor a file in one that does.
func TestOutputDirCheckedWithoutTrace(t *testing.T) {
	tmp := t.TempDir()
	blocker := filepath.Join(tmp, "blocker")
	if err := os.WriteFile(blocker, []byte("a file where a folder should be"), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(tmp, "existing")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		out     string
		wantErr string
	}{
		{"missing folders", filepath.Join(tmp, "a", "b", "runs"), ""},
		{"existing folder", existing, ""},
		{"a file in the way", filepath.Join(blocker, "runs"), "is not a folder (set output.dir to a writable folder)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := sweep(t, tt.out, formatsAndRates)
			err := New(Options{}).prepareAll(context.Background(), exp, exp.Runs)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(filepath.Join(tmp, "a")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a folder was created for output.dir (err %v)", err)
			}
			if entries, _ := os.ReadDir(existing); len(entries) != 0 {
				t.Errorf("left in the existing output folder: %v", entries)
			}
		})
	}
}

// TestRunFolderCreatedWhenRunStarts trains the first run of a two-run sweep and stops at its
// first step: by then the second run has no folder.
func TestRunFolderCreatedWhenRunStarts(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	out := t.TempDir()
	exp := sweep(t, out, "{data.format: [sft, instruction]}", "sweep.seeds=[1]")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var folders []string
	_, err := New(Options{AfterStep: func(configs.Run, int) {
		entries, _ := os.ReadDir(ExperimentDir(exp))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				folders = append(folders, e.Name())
			}
		}
		cancel()
	}}).Run(ctx, exp)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if len(folders) != 1 || folders[0] != exp.Runs[0].ID {
		t.Errorf("run folders while the first run trains: %v, want only %s", folders, exp.Runs[0].ID)
	}
}

// cancelOn is a slog handler that calls cancel when a record with message msg arrives and
// counts such records.
type cancelOn struct {
	msg    string
	cancel context.CancelFunc
	mu     *sync.Mutex
	n      *int
}

func (h cancelOn) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOn) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h cancelOn) WithGroup(string) slog.Handler            { return h }
func (h cancelOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.mu.Lock()
		*h.n++
		h.mu.Unlock()
		h.cancel()
	}
	return nil
}

// TestInterruptWhilePreparing cancels the sweep's context once the first of its six data
// configurations is prepared: Run returns ctx's error without preparing the others, starting a
// run or creating anything. A context cancelled before Run prepares nothing.
func TestInterruptWhilePreparing(t *testing.T) {
	grid := "{data.format: [sft, instruction], data.masking: [pad, eos_safe, completion_only]}"
	t.Run("after the first data configuration", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "runs")
		exp := sweep(t, out, grid)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		prepared := 0
		r := New(Options{Logger: slog.New(cancelOn{msg: "data prepared", cancel: cancel, mu: &mu, n: &prepared})})
		sum, err := r.Run(ctx, exp)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if prepared != 1 || len(r.cache.data) != 1 {
			t.Errorf("%d data configurations prepared (%d cached), want 1 of 6", prepared, len(r.cache.data))
		}
		if len(sum.Outcomes) != 0 {
			t.Errorf("%d runs started", len(sum.Outcomes))
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("output.dir exists (err %v), want nothing created", err)
		}
	})
	t.Run("before Run", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "runs")
		exp := sweep(t, out, grid)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := New(Options{})
		sum, err := r.Run(ctx, exp)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if len(r.cache.data) != 0 || len(sum.Outcomes) != 0 {
			t.Errorf("%d data configurations prepared, %d runs started; want none", len(r.cache.data), len(sum.Outcomes))
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("output.dir exists (err %v), want nothing created", err)
		}
	})
}
