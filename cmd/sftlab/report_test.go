package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
)

// writeTestRun writes one run folder of experiment exp under runsDir, as the runner lays it out.
func writeTestRun(t *testing.T, runsDir, exp, format string, seed int, evalLoss float64, status metrics.Status) string {
	t.Helper()
	name := fmt.Sprintf("format=%s,seed=%d", format, seed)
	dir := filepath.Join(runsDir, exp, fmt.Sprintf("%s-%d", format, seed))
	var steps []metrics.Step
	for s := int64(1); s <= 5; s++ {
		steps = append(steps, metrics.Step{Step: s, TrainLoss: evalLoss + float64(5-s)*0.5, LR: 1e-3, Tokens: 100, TokensPerS: 1000, ElapsedS: float64(s)})
	}
	evals := []metrics.Eval{{Step: 5, Split: metrics.SplitValid, Loss: evalLoss, TokenAccuracy: 0.5, Tokens: 50}}
	info := metrics.RunInfo{Name: name, ID: filepath.Base(dir), Experiment: exp, Status: status,
		Params:  []metrics.Param{{Key: "data.format", Value: format}, {Key: "train.seed", Value: seed}},
		Summary: metrics.Summarize(steps, evals)}
	if status == metrics.StatusDiverged {
		info.Error = "step 5: train_loss is NaN"
		steps[4].TrainLoss = math.NaN()
	}
	cfg := fmt.Sprintf("description: test experiment\ndata:\n  format: %s\n  masking: eos_safe\ntrain:\n  seed: %d\nreport:\n  baseline: format=sft\n", format, seed)
	for _, err := range []error{
		os.MkdirAll(dir, 0o755),
		metrics.WriteRunInfo(filepath.Join(dir, metrics.RunInfoFile), info),
		metrics.WriteSteps(filepath.Join(dir, metrics.StepsFile), steps),
		metrics.WriteEvals(filepath.Join(dir, metrics.EvalsFile), evals),
		os.WriteFile(filepath.Join(dir, metrics.ConfigFile), []byte(cfg), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runSftlab runs the command line args and returns the exit status, stdout and stderr.
func runSftlab(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestReportCommand(t *testing.T) {
	runsDir := t.TempDir()
	writeTestRun(t, runsDir, "exp", "sft", 1, 3.0, metrics.StatusOK)
	writeTestRun(t, runsDir, "exp", "sft", 2, 3.1, metrics.StatusOK)
	writeTestRun(t, runsDir, "exp", "instruction", 1, 2.8, metrics.StatusOK)
	writeTestRun(t, runsDir, "exp", "instruction", 2, 2.9, metrics.StatusDiverged)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // in stdout
		wantErr    string // in stderr
		wantColumn string // a header cell of comparison.md's run table ("" for none)
		noColumn   string
	}{
		{"report", []string{"exp"}, 0, "report: ", "", "seed", "masking"},
		{"all columns", []string{"exp", "--all-columns"}, 0, "1 diverged", "", "masking", ""},
		{"baseline flag", []string{"exp", "--baseline", "format=instruction"}, 0, "sft vs instruction", "", "Δ eval_loss vs format=instruction", ""},
		{"unknown baseline", []string{"exp", "--baseline", "lr=1"}, 0, "report: ", `is not a swept key (swept: format)`, "", ""},
		{"missing experiment", []string{"nope"}, 1, "", "sftlab run experiments/nope.yaml", "", ""},
		{"no name", nil, 1, "", "accepts 1 arg", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			args := append([]string{"report", "--runs", runsDir, "--out", out}, tt.args...)
			code, stdout, stderr := runSftlab(args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantOut) || !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q", code, stdout, stderr, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			if code != 0 {
				return
			}
			for _, f := range []string{"REPORT.md", "comparison.md", "loss_curves.png", "loss_curves.svg", "eval_loss_bars.png"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("missing output: %v", err)
				}
			}
			doc, _ := os.ReadFile(filepath.Join(out, "comparison.md"))
			header := ""
			for _, line := range strings.Split(string(doc), "\n") {
				if strings.HasPrefix(line, "| run |") {
					header = line
				}
			}
			if tt.wantColumn != "" && !strings.Contains(header, "| "+tt.wantColumn+" |") {
				t.Errorf("run table header %q lacks %q", header, tt.wantColumn)
			}
			if tt.noColumn != "" && strings.Contains(header, "| "+tt.noColumn+" |") {
				t.Errorf("run table header %q has the constant column %q", header, tt.noColumn)
			}
			if !strings.Contains(string(doc), "**diverged**") {
				t.Error("comparison.md does not mark the diverged run")
			}
		})
	}
}
