package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
)

func TestCompareCommand(t *testing.T) {
	runsDir := t.TempDir()
	a := writeTestRun(t, runsDir, "one", "sft", 1, 3.0, metrics.StatusOK)
	b := writeTestRun(t, runsDir, "one", "instruction", 1, 2.75, metrics.StatusOK)
	writeTestRun(t, runsDir, "two", "instruction", 1, 2.5, metrics.StatusOK)
	writeTestRun(t, runsDir, "two", "instruction", 2, 2.7, metrics.StatusOK)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // in stdout (exit 0) or stderr
	}{
		{"two runs", []string{a, b}, 0, []string{"| data.format | sft | instruction |", "| eval_loss | 3.0000 | 2.7500 | -0.2500 |"}},
		{"two experiments", []string{"one", "two"}, 0, []string{"mean over the 2 finished of 2 runs", "| data.format | {instruction, sft} | instruction |", "| train.seed | 1 | {1, 2} |", "| eval_loss | 2.8750 | 2.6000 | -0.2750 |"}},
		{"same run", []string{a, a}, 0, []string{"No config differences.", "| eval_loss | 3.0000 | 3.0000 | +0.0000 |"}},
		{"run and experiment", []string{a, "two"}, 1, []string{"not one of each"}},
		{"missing run folder", []string{filepath.Join(runsDir, "none", "x"), b}, 1, []string{"run folder"}},
		{"one argument", []string{a}, 1, []string{"accepts 2 arg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runSftlab(append([]string{"compare", "--runs", runsDir}, tt.args...)...)
			got := stdout
			if tt.wantCode != 0 {
				got = stderr
			}
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
