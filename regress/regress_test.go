package regress

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sftlab/sftlab/metrics"
)

func run(name string, evalLoss, acc float64) Run {
	return Run{ID: "id-" + name, Name: name, Status: "ok", Metrics: map[string]float64{
		EvalLoss: evalLoss, EvalLossTrain: evalLoss - 0.5, TrainLoss: evalLoss - 0.4, TokenAccuracy: acc,
	}}
}

// withScores adds generation scores to r.
func withScores(r Run, exact, rougeL, chrf float64) Run {
	r.Metrics[ExactMatch], r.Metrics[RougeL], r.Metrics[ChrF] = exact, rougeL, chrf
	return r
}

func TestCompare(t *testing.T) {
	base, err := Record("smoke", []Run{run("format=sft", 3.0, 0.40), run("format=instruction", 2.5, 0.45)}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		current    []Run
		tol        map[string]Tolerance
		strict     bool
		wantFail   bool
		wantInText []string // each must appear in the problems
	}{
		{
			name:    "identical passes",
			current: []Run{run("format=sft", 3.0, 0.40), run("format=instruction", 2.5, 0.45)},
		},
		{
			name:       "worse eval_loss fails exact gate",
			current:    []Run{run("format=sft", 3.0, 0.40), run("format=instruction", 2.5000001, 0.45)},
			wantFail:   true,
			wantInText: []string{"format=instruction: eval_loss REGRESSED"},
		},
		{
			name:    "worse eval_loss within absolute tolerance passes",
			current: []Run{run("format=sft", 3.0, 0.40), run("format=instruction", 2.501, 0.45)},
			tol:     map[string]Tolerance{EvalLoss: {Abs: 0.01}, EvalLossTrain: {Abs: 0.01}, TrainLoss: {Abs: 0.01}},
		},
		{
			name:       "relative tolerance",
			current:    []Run{run("format=sft", 3.0, 0.40), run("format=instruction", 2.6, 0.45)},
			tol:        map[string]Tolerance{EvalLoss: {Rel: 0.01}, EvalLossTrain: {Rel: 0.1}, TrainLoss: {Rel: 0.1}},
			wantFail:   true,
			wantInText: []string{"format=instruction: eval_loss REGRESSED"},
		},
		{
			name:       "lower accuracy is a regression",
			current:    []Run{run("format=sft", 3.0, 0.39), run("format=instruction", 2.5, 0.45)},
			wantFail:   true,
			wantInText: []string{"format=sft: token_accuracy REGRESSED"},
		},
		{
			name:    "improvement passes unless strict",
			current: []Run{run("format=sft", 2.9, 0.40), run("format=instruction", 2.5, 0.45)},
		},
		{
			name:       "improvement fails when strict",
			current:    []Run{run("format=sft", 2.9, 0.40), run("format=instruction", 2.5, 0.45)},
			strict:     true,
			wantFail:   true,
			wantInText: []string{"format=sft: eval_loss improved"},
		},
		{
			name:       "missing run fails",
			current:    []Run{run("format=sft", 3.0, 0.40)},
			wantFail:   true,
			wantInText: []string{"format=instruction: MISSING"},
		},
		{
			name:       "failed run fails",
			current:    []Run{run("format=sft", 3.0, 0.40), {Name: "format=instruction", Status: "diverged"}},
			wantFail:   true,
			wantInText: []string{"format=instruction: FAILED run status diverged"},
		},
		{
			name:       "NaN is a regression whatever the tolerance",
			current:    []Run{run("format=sft", math.NaN(), 0.40), run("format=instruction", 2.5, 0.45)},
			tol:        map[string]Tolerance{EvalLoss: {Abs: 100}},
			wantFail:   true,
			wantInText: []string{"format=sft: eval_loss REGRESSED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compare(base, tt.current, tt.tol, tt.strict)
			if res.Failed() != tt.wantFail {
				t.Fatalf("Failed() = %v, want %v\n%s", res.Failed(), tt.wantFail, res.Markdown())
			}
			text := strings.Join(res.Problems(), "\n")
			for _, want := range tt.wantInText {
				if !strings.Contains(text, want) {
					t.Errorf("problems do not mention %q:\n%s", want, text)
				}
			}
			md := res.Markdown()
			wantVerdict := "**PASS**"
			if tt.wantFail {
				wantVerdict = "**FAIL**"
			}
			if !strings.Contains(md, wantVerdict) {
				t.Errorf("markdown lacks %s:\n%s", wantVerdict, md)
			}
		})
	}
}

// TestCompareScores gates generation scores: higher is better, and a baseline recorded before
// they existed skips them.
func TestCompareScores(t *testing.T) {
	scored, err := Record("smoke", []Run{withScores(run("format=sft", 3.0, 0.40), 0.25, 0.5, 40)}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	old, err := Record("smoke", []Run{run("format=sft", 3.0, 0.40)}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		base     Baseline
		current  Run
		wantFail bool
		want     string
	}{
		{"same scores pass", scored, withScores(run("format=sft", 3.0, 0.40), 0.25, 0.5, 40), false, ""},
		{"lower chrF regresses", scored, withScores(run("format=sft", 3.0, 0.40), 0.25, 0.5, 39.5), true, "chrf REGRESSED"},
		{"lower ROUGE-L regresses", scored, withScores(run("format=sft", 3.0, 0.40), 0.25, 0.4, 40), true, "rouge_l REGRESSED"},
		{"higher exact match improves", scored, withScores(run("format=sft", 3.0, 0.40), 0.5, 0.5, 40), false, ""},
		{"not measured now", scored, run("format=sft", 3.0, 0.40), true, "exact_match MISSING"},
		{"baseline without scores skips them", old, withScores(run("format=sft", 3.0, 0.40), 0, 0, 0), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compare(tt.base, []Run{tt.current}, nil, false)
			if res.Failed() != tt.wantFail {
				t.Fatalf("Failed() = %v, want %v\n%s", res.Failed(), tt.wantFail, res.Markdown())
			}
			if tt.want != "" && !strings.Contains(strings.Join(res.Problems(), "\n"), tt.want) {
				t.Errorf("problems %q lack %q", res.Problems(), tt.want)
			}
		})
	}
}

func TestRecordRefusesUnfinishedRuns(t *testing.T) {
	_, err := Record("smoke", []Run{run("a", 1, 0.5), {Name: "b", Status: "failed"}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "b (failed)") {
		t.Fatalf("err = %v, want it to name run b", err)
	}
	if _, err := Record("smoke", nil, time.Now()); err == nil {
		t.Fatal("want an error for an empty baseline")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baselines", "smoke.json")
	base, err := Record("smoke", []Run{run("b", 1.25, 0.5), run("a", 1.5, 0.25)}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(path, base); err != nil {
		t.Fatal(err)
	}
	got, err := LoadBaseline(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Runs[0].Name != "a" || got.Runs[1].Metrics[EvalLoss] != 1.25 || !got.Recorded.Equal(base.Recorded) {
		t.Fatalf("round trip changed the baseline: %+v", got)
	}
	if res := Compare(got, []Run{run("a", 1.5, 0.25), run("b", 1.25, 0.5)}, nil, true); res.Failed() {
		t.Fatalf("reloaded baseline does not match its own runs exactly:\n%s", res.Markdown())
	}
	if _, err := LoadBaseline(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "sftlab baseline") {
		t.Fatalf("missing baseline error = %v, want a hint to record one", err)
	}
}

// TestParseBaselineRefusesUnusable checks that a baseline that could not fail the gate, since
// it holds nothing to compare, is refused with the reason.
func TestParseBaselineRefusesUnusable(t *testing.T) {
	const okRun = `{"id": "a1", "name": "format=sft", "status": "ok", "metrics": {"eval_loss": 2.5}, "provenance": {}}`
	tests := []struct {
		name, json, wantErr string
	}{
		{"empty object", `{}`, "no experiment name"},
		{"no runs", `{"experiment": "smoke", "runs": []}`, "no runs"},
		{"null runs", `{"experiment": "smoke", "runs": null}`, "no runs"},
		{"run without metrics", `{"experiment": "smoke", "runs": [{"name": "format=sft", "status": "ok", "metrics": {}}]}`, `run "format=sft": no metrics`},
		{"run with metrics missing", `{"experiment": "smoke", "runs": [{"name": "format=sft", "status": "ok"}]}`, `run "format=sft": no metrics`},
		{"failed run", `{"experiment": "smoke", "runs": [{"name": "format=sft", "status": "failed", "metrics": {"eval_loss": 2}}]}`, `run "format=sft": status "failed", want ok`},
		{"run without status", `{"experiment": "smoke", "runs": [{"name": "format=sft", "metrics": {"eval_loss": 2}}]}`, `status "", want ok`},
		{"run without name", `{"experiment": "smoke", "runs": [{"status": "ok", "metrics": {"eval_loss": 2}}]}`, "run 1: no name"},
		{"run twice", `{"experiment": "smoke", "runs": [` + okRun + `,` + okRun + `]}`, `run "format=sft": recorded twice`},
		{"unknown metric", `{"experiment": "smoke", "runs": [{"name": "a", "status": "ok", "metrics": {"eval_los": 2}}]}`, `unknown metric "eval_los"`},
		{"unknown field", `{"experiment": "smoke", "runz": []}`, "invalid JSON"},
		{"trailing data", `{"experiment": "smoke", "runs": [` + okRun + `]} {}`, "data after the baseline object"},
		{"not JSON", `experiment: smoke`, "invalid JSON"},
		{"usable", `{"experiment": "smoke", "runs": [` + okRun + `]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBaseline("b.json", []byte(tt.json))
			if tt.wantErr == "" {
				if err != nil || len(b.Runs) != 1 {
					t.Fatalf("err = %v, %d runs; want the baseline", err, len(b.Runs))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "b.json") {
				t.Fatalf("err = %v, want one naming b.json and %q", err, tt.wantErr)
			}
		})
	}
}

func TestFile(t *testing.T) {
	tests := []struct {
		name, kernel, want string
	}{
		{"gpu", "", "baselines/smoke.json"},
		{"avx2", "avx2", "baselines/smoke.avx2.json"},
		{"avx512", "avx512", "baselines/smoke.avx512.json"},
		{"kernels off", "off (GOMLX_GO_DOT_MATMUL=false)", "baselines/smoke.scalar.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := File(Dir, "smoke", tt.kernel); got != tt.want {
				t.Errorf("File(%q) = %q, want %q", tt.kernel, got, tt.want)
			}
		})
	}
}

// TestFromRunInfoCoversMetrics checks that every metric regress.tolerances accepts is one the
// gate reads from a run, and that unmeasured ones are left out.
func TestFromRunInfoCoversMetrics(t *testing.T) {
	info := metrics.RunInfo{Name: "r", Status: metrics.StatusOK, Summary: metrics.EmptySummary()}
	if got := FromRunInfo(info).Metrics; len(got) != 0 {
		t.Errorf("an unmeasured run has metrics %v", got)
	}
	s := &info.Summary
	for i, p := range []*float64{&s.EvalLoss, &s.EvalLossTrain, &s.AnswerLoss, &s.AnswerLossTrain, &s.TrainLoss,
		&s.FinalTrainLoss, &s.TokenAccuracy, &s.ExactMatch, &s.RougeL, &s.ChrF} {
		*p = float64(i + 1)
	}
	got := FromRunInfo(info).Metrics
	for _, m := range Metrics {
		if _, ok := got[m]; !ok {
			t.Errorf("metric %s is accepted by regress.tolerances but not read from runs", m)
		}
	}
	if len(got) != len(Metrics) {
		t.Errorf("runs give %d metrics, the gate knows %d", len(got), len(Metrics))
	}
}

func TestLoadBaselineRefusesHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.json")
	if err := os.WriteFile(path, []byte(`{"experiment": "`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, MaxBaselineSize+1); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBaseline(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want the size refused", err)
	}
}

func TestCheckExperiment(t *testing.T) {
	b := Baseline{Experiment: "smoke"}
	if err := b.CheckExperiment("smoke"); err != nil {
		t.Fatal(err)
	}
	if err := b.CheckExperiment("lr_sweep"); err == nil || !strings.Contains(err.Error(), `recorded for experiment "smoke", not "lr_sweep"`) {
		t.Fatalf("err = %v, want the two names", err)
	}
}

// TestCompareNothingMatches checks that a gate with no baseline run to compare fails, naming
// the cause, even when the current runs all finished.
func TestCompareNothingMatches(t *testing.T) {
	base := Baseline{Experiment: "smoke", Runs: []Run{run("format=chat", 3, 0.4)}}
	tests := []struct {
		name    string
		current []Run
	}{
		{"other names", []Run{run("format=sft", 3, 0.4)}},
		{"no current runs", nil},
		{"no common metric", []Run{{Name: "format=chat", Status: "ok", Metrics: map[string]float64{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compare(base, tt.current, nil, false)
			if !res.Failed() {
				t.Fatalf("gate passed with nothing compared:\n%s", res.Markdown())
			}
			if text := strings.Join(res.Problems(), "\n"); !strings.Contains(text, "nothing compared") {
				t.Errorf("problems do not say nothing was compared:\n%s", text)
			}
		})
	}
	// An empty baseline (never loadable, but a value of the type) fails too.
	if res := Compare(Baseline{Experiment: "smoke"}, []Run{run("a", 1, 0.5)}, nil, false); !res.Failed() {
		t.Fatalf("empty baseline passed:\n%s", res.Markdown())
	}
}

// TestRecordDropsUnmeasured checks that a metric a run did not measure (NaN) is left out of the
// baseline, which JSON could not otherwise hold, and that a run measuring nothing is refused.
func TestRecordDropsUnmeasured(t *testing.T) {
	r := run("a", 1, 0.5)
	r.Metrics[EvalLoss] = math.NaN()
	base, err := Record("smoke", []Run{r}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := base.Runs[0].Metrics[EvalLoss]; ok || len(base.Runs[0].Metrics) != 3 {
		t.Fatalf("metrics %v, want eval_loss left out", base.Runs[0].Metrics)
	}
	if !math.IsNaN(r.Metrics[EvalLoss]) {
		t.Fatal("Record changed its argument's metrics")
	}
	if err := Save(filepath.Join(t.TempDir(), "b.json"), base); err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	_, err = Record("smoke", []Run{{Name: "a", Status: "ok", Metrics: map[string]float64{EvalLoss: nan, TrainLoss: nan}}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "measured none") {
		t.Fatalf("err = %v, want a run without any metric refused", err)
	}
}
