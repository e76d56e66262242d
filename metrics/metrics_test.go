package metrics

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sameFloat reports whether a and b are equal, counting NaN equal to NaN.
func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// sameSummary compares two summaries field by field, NaN equal to NaN.
func sameSummary(a, b Summary) bool {
	return a.Steps == b.Steps && sameFloat(a.FinalTrainLoss, b.FinalTrainLoss) && sameFloat(a.EvalLoss, b.EvalLoss) &&
		sameFloat(a.EvalLossTrain, b.EvalLossTrain) && sameFloat(a.TokenAccuracy, b.TokenAccuracy) &&
		sameFloat(a.TokensPerS, b.TokensPerS) && sameFloat(a.ExactMatch, b.ExactMatch) && sameFloat(a.RougeL, b.RougeL) &&
		sameFloat(a.ChrF, b.ChrF) && sameFloat(a.GenerateS, b.GenerateS)
}

func TestStepsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rows []Step
	}{
		{"empty", nil},
		{"one", []Step{{Step: 1, Epoch: 0.25, TrainLoss: 11.93, LR: 1e-4, GradNorm: 3.5, Tokens: 812, TokensPerS: 4021.5, ElapsedS: 0.2}}},
		{"diverged", []Step{
			{Step: 1, TrainLoss: 5, LR: 1e-2},
			{Step: 2, TrainLoss: math.Inf(1), LR: 1e-2, GradNorm: math.NaN()},
			{Step: 3, TrainLoss: math.NaN(), LR: 1e-2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), StepsFile)
			if err := WriteSteps(path, tt.rows); err != nil {
				t.Fatal(err)
			}
			got, err := ReadSteps(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.rows) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(tt.rows))
			}
			for i, w := range tt.rows {
				g := got[i]
				if g.Step != w.Step || g.Tokens != w.Tokens || !sameFloat(g.Epoch, w.Epoch) || !sameFloat(g.TrainLoss, w.TrainLoss) ||
					!sameFloat(g.LR, w.LR) || !sameFloat(g.GradNorm, w.GradNorm) || !sameFloat(g.TokensPerS, w.TokensPerS) || !sameFloat(g.ElapsedS, w.ElapsedS) {
					t.Errorf("row %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestEvalsRoundTrip(t *testing.T) {
	rows := []Eval{
		{Step: 10, Split: SplitValid, Loss: 4.25, TokenAccuracy: 0.31, Tokens: 900, AnswerLoss: 4.5, AnswerTokens: 600},
		{Step: 10, Split: SplitTrain, Loss: 4.0, TokenAccuracy: 0.33, Tokens: 3000, AnswerLoss: 4.25, AnswerTokens: 2000},
		{Step: 20, Split: SplitValid, Loss: 3.5, TokenAccuracy: 0.4, Tokens: 900, AnswerLoss: 3.75, AnswerTokens: 600},
	}
	path := filepath.Join(t.TempDir(), EvalsFile)
	if err := WriteEvals(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEvals(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("got %+v, want %+v", got, rows)
	}
}

// TestReadEvalsWithoutAnswerColumns reads an eval.arrow written before the answer_loss and
// answer_tokens columns existed (committed in testdata): its rows read, answer_loss as NaN.
func TestReadEvalsWithoutAnswerColumns(t *testing.T) {
	rows, err := ReadEvals(filepath.Join("testdata", "eval_without_answer_loss.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for _, r := range rows {
		if r.Tokens == 0 || !(r.Loss > 0) || !math.IsNaN(r.AnswerLoss) || r.AnswerTokens != 0 {
			t.Fatalf("row %+v: want its loss and tokens, answer_loss NaN and answer_tokens 0", r)
		}
	}
	s := Summarize(nil, rows)
	if !(s.EvalLoss > 0) || !math.IsNaN(s.AnswerLoss) {
		t.Errorf("summary %+v: want eval_loss and a NaN answer_loss", s)
	}
}

// TestArrowFileSchema reads a written file with arrow-go's own IPC file reader, as pyarrow
// or DuckDB would, and checks the column names and types.
func TestArrowFileSchema(t *testing.T) {
	tests := []struct {
		name  string
		write func(string) error
		want  string
	}{
		{"metrics", func(p string) error { return WriteSteps(p, []Step{{Step: 1}, {Step: 2}}) },
			"step:int64 epoch:float64 train_loss:float64 lr:float64 grad_norm:float64 tokens:int64 tokens_per_s:float64 elapsed_s:float64"},
		{"eval", func(p string) error {
			return WriteEvals(p, []Eval{{Step: 1, Split: "valid"}, {Step: 2, Split: "train"}})
		},
			"step:int64 split:utf8 loss:float64 token_accuracy:float64 tokens:int64 answer_loss:float64 answer_tokens:int64"},
		{"generation", func(p string) error {
			return WriteGenerations(p, []Generation{{Step: 1, Split: "valid"}, {Step: 2, Split: "valid"}})
		},
			"step:int64 split:utf8 prompts:int64 exact_match:float64 rouge_l:float64 chrf:float64 new_tokens:int64 seconds:float64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.name+".arrow")
			if err := tt.write(path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "ARROW1") || !strings.HasSuffix(string(data), "ARROW1") {
				t.Fatalf("%s: not framed by the ARROW1 magic of the IPC file format", path)
			}
			f, _ := os.Open(path)
			defer f.Close()
			r, err := ipc.NewFileReader(f)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var fields []string
			for _, fl := range r.Schema().Fields() {
				fields = append(fields, fl.Name+":"+fl.Type.String())
			}
			if got := strings.Join(fields, " "); got != tt.want {
				t.Errorf("schema %s, want %s", got, tt.want)
			}
			rows := 0
			for i := range r.NumRecords() {
				rec, err := r.RecordBatch(i)
				if err != nil {
					t.Fatal(err)
				}
				rows += int(rec.NumRows())
			}
			if rows != 2 {
				t.Errorf("%d rows, want 2", rows)
			}
		})
	}
}

func TestReadArrowErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.arrow")
	os.WriteFile(garbage, []byte("not arrow at all"), 0o644)
	// A file with the right format but a wrong column type.
	wrong := filepath.Join(dir, "wrong.arrow")
	schema := arrow.NewSchema([]arrow.Field{{Name: "step", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	b.Field(0).(*array.Float64Builder).Append(1)
	rec := b.NewRecordBatch()
	f, _ := os.Create(wrong)
	w, _ := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	w.Write(rec)
	w.Close()
	f.Close()

	tests := []struct {
		name, path, wantErr string
	}{
		{"missing file", filepath.Join(dir, "none.arrow"), "no such file"},
		{"not arrow", garbage, "not an Arrow IPC file"},
		{"wrong type", wrong, `column "step" is float64, want int64`},
		{"missing column", wrong, `column "epoch" missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSteps(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunInfoRoundTrip(t *testing.T) {
	info := RunInfo{
		Name: "format=sft,lr=0.001,seed=1", ID: "3fa2c1", Experiment: "lr_sweep", Status: StatusDiverged,
		Error:  "step 7: train_loss is NaN",
		Params: []Param{{"data.format", "sft"}, {"train.learning_rate", 0.001}, {"train.seed", 1.0}},
		Provenance: Provenance{GitCommit: "abc", GitDirty: true, GoVersion: "go1.26", Backend: "cpu",
			StartTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), EndTime: time.Date(2026, 1, 2, 3, 4, 9, 0, time.UTC), WallS: 4},
		Data: DataStats{TrainExamples: 60, ValidExamples: 14, Eval: ScoredTokens{Split: SplitValid, Scored: 584, Prompt: 161, Answer: 437,
			Unseen: 30, UnseenAnswer: 25, PromptShare: 161.0 / 584, UnseenShare: 30.0 / 584, UnseenAnswerShare: 25.0 / 437}},
		Model: ModelStats{VocabSize: 1200, Parameters: 700000, InitHash: "9f86d081"},
		Summary: Summary{FinalTrainLoss: math.NaN(), TrainLoss: 5.5, EvalLoss: math.Inf(1), AnswerLoss: 4.5, EvalLossTrain: 3.25,
			AnswerLossTrain: math.NaN(), TokenAccuracy: 0.5, TokensPerS: math.Inf(-1), Steps: 7},
	}
	path := filepath.Join(t.TempDir(), RunInfoFile)
	if err := WriteRunInfo(path, info); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{`"final_train_loss": "NaN"`, `"eval_loss": "+Inf"`, `"tokens_per_s": "-Inf"`, `"eval_loss_train": 3.25`, `"wall_s": 4`,
		`"train_loss": 5.5`, `"answer_loss": 4.5`, `"init_hash": "9f86d081"`, `"prompt": 161`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("run.json lacks %s:\n%s", want, data)
		}
	}
	got, err := ReadRunInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	gs, ws := got.Summary, info.Summary
	if !sameFloat(gs.FinalTrainLoss, ws.FinalTrainLoss) || !sameFloat(gs.EvalLoss, ws.EvalLoss) || gs.EvalLossTrain != ws.EvalLossTrain ||
		gs.TrainLoss != ws.TrainLoss || gs.AnswerLoss != ws.AnswerLoss || !sameFloat(gs.AnswerLossTrain, ws.AnswerLossTrain) ||
		gs.TokenAccuracy != ws.TokenAccuracy || !sameFloat(gs.TokensPerS, ws.TokensPerS) || gs.Steps != ws.Steps {
		t.Errorf("summary %+v, want %+v", gs, ws)
	}
	got.Summary, info.Summary = Summary{}, Summary{}
	if !reflect.DeepEqual(got, info) {
		t.Errorf("got %+v\nwant %+v", got, info)
	}
}

func TestRunInfoMissingSummaryIsNaN(t *testing.T) {
	path := filepath.Join(t.TempDir(), RunInfoFile)
	os.WriteFile(path, []byte(`{"name":"a","status":"failed","summary":{"eval_loss":null,"steps":3}}`), 0o644)
	got, err := ReadRunInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(got.Summary.EvalLoss) || !math.IsNaN(got.Summary.FinalTrainLoss) || got.Summary.Steps != 3 {
		t.Errorf("summary %+v, want NaN losses and 3 steps", got.Summary)
	}
	// A run.json written before generation scores and padding were recorded reads them as
	// unmeasured.
	if !math.IsNaN(got.Summary.ChrF) || !math.IsNaN(got.Summary.ExactMatch) || got.Data.PaddingShare != nil {
		t.Errorf("summary %+v, data %+v: want NaN scores and no padding share", got.Summary, got.Data)
	}
}

func TestRunInfoScoresAndPadding(t *testing.T) {
	path := filepath.Join(t.TempDir(), RunInfoFile)
	info := RunInfo{Name: "a", Status: StatusOK, Summary: EmptySummary(),
		Data: DataStats{TrainExamples: 4, PaddingShare: &PaddingShare{Unpacked: 0.625, Packed: 0.125}}}
	info.Summary.ExactMatch, info.Summary.RougeL, info.Summary.ChrF, info.Summary.GenerateS = 0.5, 0.25, 33.5, 2
	if err := WriteRunInfo(path, info); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, key := range []string{`"exact_match": 0.5`, `"rouge_l": 0.25`, `"chrf": 33.5`, `"generate_s": 2`, `"unpacked": 0.625`, `"packed": 0.125`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("run.json lacks %s:\n%s", key, data)
		}
	}
	got, err := ReadRunInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sameSummary(got.Summary, info.Summary) || *got.Data.PaddingShare != *info.Data.PaddingShare {
		t.Errorf("read back %+v %+v, want %+v %+v", got.Summary, got.Data, info.Summary, info.Data)
	}
}

func TestSummarize(t *testing.T) {
	steps := []Step{{Step: 1, TrainLoss: 9, TokensPerS: 10}, {Step: 2, TrainLoss: 8, TokensPerS: 100}, {Step: 3, TrainLoss: 7, TokensPerS: 200}}
	evals := []Eval{
		{Step: 3, Split: SplitValid, Loss: 7.5, TokenAccuracy: 0.2, AnswerLoss: 7.75},
		{Step: 3, Split: SplitTrain, Loss: 7.1, AnswerLoss: 7.25},
		{Step: 1, Split: SplitValid, Loss: 9.5, TokenAccuracy: 0.1, AnswerLoss: 9.75},
	}
	got := Summarize(steps, evals)
	// train_loss is the mean over the steps, (9 + 8 + 7) / 3, as Hugging Face reports it.
	nan := math.NaN()
	want := Summary{FinalTrainLoss: 7, TrainLoss: 8, EvalLoss: 7.5, AnswerLoss: 7.75, EvalLossTrain: 7.1, AnswerLossTrain: 7.25,
		TokenAccuracy: 0.2, TokensPerS: 150, Steps: 3, ExactMatch: nan, RougeL: nan, ChrF: nan, GenerateS: nan}
	if !sameSummary(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got.AddGenerations([]Generation{
		{Step: 3, Split: SplitValid, Prompts: 4, ExactMatch: 0.25, RougeL: 0.5, ChrF: 40, Seconds: 1.5},
		{Step: 1, Split: SplitValid, Prompts: 4, ExactMatch: 0, RougeL: 0.1, ChrF: 10, Seconds: 1},
	})
	want.ExactMatch, want.RougeL, want.ChrF, want.GenerateS = 0.25, 0.5, 40, 1.5
	if !sameSummary(got, want) {
		t.Errorf("with generations: got %+v, want %+v", got, want)
	}
	empty := Summarize(nil, nil)
	if !math.IsNaN(empty.EvalLoss) || !math.IsNaN(empty.FinalTrainLoss) || !math.IsNaN(empty.TokensPerS) {
		t.Errorf("empty summary %+v, want NaNs", empty)
	}
}

// writeRun writes a complete run folder for tests.
func writeRun(t *testing.T, dir string, info RunInfo) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(dir, 0o755))
	must(WriteRunInfo(filepath.Join(dir, RunInfoFile), info))
	must(WriteSteps(filepath.Join(dir, StepsFile), []Step{{Step: 1, TrainLoss: 5}}))
	must(WriteEvals(filepath.Join(dir, EvalsFile), []Eval{{Step: 1, Split: SplitValid, Loss: 6}}))
	must(os.WriteFile(filepath.Join(dir, ConfigFile), []byte("description: test\ntrain:\n  seed: 1\n  learning_rate: 1.0e-3\ndata:\n  format: sft\n  tags: [a, b]\n"), 0o644))
	must(WriteSamples(filepath.Join(dir, SamplesFile), []Sample{{Prompt: "问题：一\n回答：", Completion: "二", Reference: "三", Format: "sft"}}))
}

func TestReadRunDir(t *testing.T) {
	root := t.TempDir()
	complete := filepath.Join(root, "complete")
	writeRun(t, complete, RunInfo{Name: "format=sft", Status: StatusOK})
	noArrow := filepath.Join(root, "no_arrow")
	writeRun(t, noArrow, RunInfo{Name: "format=instruction", Status: StatusOK})
	os.Remove(filepath.Join(noArrow, StepsFile))
	failedEarly := filepath.Join(root, "failed_early")
	os.MkdirAll(failedEarly, 0o755)
	WriteRunInfo(filepath.Join(failedEarly, RunInfoFile), RunInfo{Name: "x", Status: StatusFailed, Error: "boom"})
	os.WriteFile(filepath.Join(failedEarly, ConfigFile), []byte("a: 1\n"), 0o644)
	noInfo := filepath.Join(root, "no_info")
	writeRun(t, noInfo, RunInfo{})
	os.Remove(filepath.Join(noInfo, RunInfoFile))
	badSamples := filepath.Join(root, "bad_samples")
	writeRun(t, badSamples, RunInfo{Name: "s", Status: StatusOK})
	os.WriteFile(filepath.Join(badSamples, SamplesFile), []byte("{\"prompt\":\"a\"}\n{oops\n"), 0o644)

	tests := []struct {
		name       string
		dir        string
		wantStatus Status
		wantErr    string // "" means Run.Err must be nil
		wantSteps  int
	}{
		{"complete", complete, StatusOK, "", 1},
		{"ok run without metrics is failed", noArrow, StatusFailed, StepsFile, 0},
		{"failed run without arrow files", failedEarly, StatusFailed, "", 0},
		{"missing run.json", noInfo, StatusFailed, RunInfoFile, 1},
		{"corrupt samples", badSamples, StatusOK, SamplesFile + ":2", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ReadRunDir(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.Status != tt.wantStatus {
				t.Errorf("status %q, want %q", r.Info.Status, tt.wantStatus)
			}
			if tt.wantErr == "" && r.Err != nil {
				t.Errorf("Err %v, want nil", r.Err)
			}
			if tt.wantErr != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.wantErr)) {
				t.Errorf("Err %v, want one mentioning %q", r.Err, tt.wantErr)
			}
			if len(r.Steps) != tt.wantSteps {
				t.Errorf("%d steps, want %d", len(r.Steps), tt.wantSteps)
			}
			if r.Info.Name == "" {
				t.Error("run has no name")
			}
		})
	}
	t.Run("generation scores", func(t *testing.T) {
		r, _ := ReadRunDir(complete)
		if r.Generations != nil {
			t.Errorf("a run without generation.arrow (as recorded before scores existed) read %+v, want none", r.Generations)
		}
		scored := filepath.Join(root, "scored")
		writeRun(t, scored, RunInfo{Name: "g", Status: StatusOK})
		rows := []Generation{{Step: 1, Split: SplitValid, Prompts: 2, ExactMatch: 0.5, RougeL: 0.75, ChrF: 60.5, NewTokens: 30, Seconds: 0.25}}
		if err := WriteGenerations(filepath.Join(scored, GenerationsFile), rows); err != nil {
			t.Fatal(err)
		}
		r, _ = ReadRunDir(scored)
		if r.Err != nil || !reflect.DeepEqual(r.Generations, rows) {
			t.Errorf("generations %+v (err %v), want %+v", r.Generations, r.Err, rows)
		}
		os.WriteFile(filepath.Join(scored, GenerationsFile), []byte("not arrow"), 0o644)
		if r, _ = ReadRunDir(scored); r.Err == nil || !strings.Contains(r.Err.Error(), GenerationsFile) {
			t.Errorf("corrupt generation.arrow: Err %v, want it named", r.Err)
		}
	})
	t.Run("config and samples", func(t *testing.T) {
		r, _ := ReadRunDir(complete)
		want := map[string]any{"description": "test", "train.seed": 1, "train.learning_rate": 0.001, "data.format": "sft", "data.tags": []any{"a", "b"}}
		if !reflect.DeepEqual(r.Config, want) {
			t.Errorf("config %#v, want %#v", r.Config, want)
		}
		if len(r.Samples) != 1 || r.Samples[0].Completion != "二" || r.Samples[0].Format != "sft" {
			t.Errorf("samples %+v", r.Samples)
		}
	})
	t.Run("not a folder", func(t *testing.T) {
		if _, err := ReadRunDir(filepath.Join(complete, RunInfoFile)); err == nil {
			t.Error("no error for a file")
		}
	})
}

func TestReadExperiment(t *testing.T) {
	root := t.TempDir()
	for _, r := range []struct{ dir, name string }{{"c1", "seed=2"}, {"a9", "seed=1"}, {"b5", "seed=10"}} {
		writeRun(t, filepath.Join(root, "exp", r.dir), RunInfo{Name: r.name, Status: StatusOK})
	}
	os.MkdirAll(filepath.Join(root, "exp", ".tmp-partial"), 0o755)
	// Folders without a readable run.json: one being started, one damaged. Neither is a run.
	os.MkdirAll(filepath.Join(root, "exp", "starting"), 0o755)
	writeRun(t, filepath.Join(root, "exp", "damaged"), RunInfo{Name: "seed=3", Status: StatusOK})
	os.WriteFile(filepath.Join(root, "exp", "damaged", RunInfoFile), []byte(`{"name": "seed=3", "sta`), 0o644)
	runs, skipped, err := ReadExperiment(root, "exp")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range runs {
		names = append(names, r.Info.Name)
	}
	if got, want := strings.Join(names, " "), "seed=1 seed=10 seed=2"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	if len(skipped) != 2 || !strings.Contains(errors.Join(skipped...).Error(), "damaged") || !strings.Contains(errors.Join(skipped...).Error(), "starting") {
		t.Errorf("skipped %v, want the two folders without a readable run.json named", skipped)
	}
	for _, name := range []string{"missing", "empty", "unreadable"} {
		os.MkdirAll(filepath.Join(root, "empty"), 0o755)
		os.MkdirAll(filepath.Join(root, "unreadable", "abc"), 0o755)
		t.Run(name, func(t *testing.T) {
			if _, _, err := ReadExperiment(root, name); err == nil || !strings.Contains(err.Error(), "sftlab run experiments/"+name+".yaml") {
				t.Errorf("error %v, want a hint to run the experiment", err)
			}
		})
	}
}

// TestCurrentStatus checks that a run recorded as running shows as running only while a live
// process holds its claim, and as interrupted once none does.
func TestCurrentStatus(t *testing.T) {
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot start a process: %v", err)
	}
	holder := func(host string, pid int) string {
		return fmt.Sprintf(`{"host":%q,"pid":%d,"token":"x","since":"2026-01-01T00:00:00Z"}`, host, pid)
	}
	tests := []struct {
		name     string
		recorded Status
		claim    string // the claim file's content; "" for none
		age      time.Duration
		want     Status
	}{
		{"held by this process", StatusRunning, holder(host, os.Getpid()), 0, StatusRunning},
		{"no claim", StatusRunning, "", 0, StatusInterrupted},
		{"no status recorded, no claim", "", "", 0, StatusInterrupted},
		{"holder's pid dead", StatusRunning, holder(host, dead.Process.Pid), 0, StatusInterrupted},
		{"other host, fresh heartbeat", StatusRunning, holder("elsewhere", 1), time.Second, StatusRunning},
		{"other host, heartbeat stopped", StatusRunning, holder("elsewhere", 1), time.Hour, StatusInterrupted},
		{"finished, claim held", StatusOK, holder(host, os.Getpid()), 0, StatusOK},
		{"failed, no claim", StatusFailed, "", 0, StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "exp", "0123abcd")
			writeRun(t, dir, RunInfo{Name: "format=sft", Status: tt.recorded})
			if tt.claim != "" {
				lock := ClaimFile(dir)
				if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(lock, []byte(tt.claim), 0o644); err != nil {
					t.Fatal(err)
				}
				old := time.Now().Add(-tt.age)
				if err := os.Chtimes(lock, old, old); err != nil {
					t.Fatal(err)
				}
			}
			if got := CurrentStatus(dir, tt.recorded); got != tt.want {
				t.Errorf("CurrentStatus: %q, want %q", got, tt.want)
			}
			r, err := ReadRunDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.Status != tt.want {
				t.Errorf("ReadRunDir: status %q, want %q", r.Info.Status, tt.want)
			}
			if tt.want == StatusInterrupted && !strings.Contains(r.Info.Error, "killed") {
				t.Errorf("ReadRunDir: error %q, want it to say the process was killed", r.Info.Error)
			}
		})
	}
}
