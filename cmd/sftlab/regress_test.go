package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegressUnusableBaseline checks that the gate refuses, with exit status 2 and before
// anything trains, a baseline that holds nothing it could fail on.
func TestRegressUnusableBaseline(t *testing.T) {
	const okRun = `{"id": "b2ecf8c430ee", "name": "format=sft", "status": "ok", "metrics": {"eval_loss": 6.6}, "provenance": {"backend": "cpu"}}`
	tests := []struct {
		name, json, wantErr string
	}{
		{"empty object", `{}`, "no runs"},
		{"no runs", `{"experiment": "smoke", "runs": []}`, "no runs"},
		{"run without metrics", `{"experiment": "smoke", "runs": [{"name": "format=sft", "status": "ok", "metrics": {}}]}`, "no metrics"},
		{"failed run", `{"experiment": "smoke", "runs": [{"name": "format=sft", "status": "failed", "metrics": {"eval_loss": 6.6}}]}`, `status "failed"`},
		{"another experiment", `{"experiment": "lr_sweep", "runs": [` + okRun + `]}`, `recorded for experiment "lr_sweep", not "smoke"`},
	}
	tmp := t.TempDir()
	exp := filepath.Join("..", "..", "experiments", "smoke.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(tmp, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			baseline := filepath.Join(dir, "baseline.json")
			if err := os.WriteFile(baseline, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			runs := filepath.Join(dir, "runs")
			code, out, errOut := sftlab(t, "regress", exp, "--set", "output.dir="+runs, "--baseline", baseline,
				"--out", filepath.Join(dir, "regress.md"), "--quiet")
			if code != 2 || strings.Contains(out, "PASS") || !strings.Contains(errOut, tt.wantErr) || !strings.Contains(errOut, baseline) {
				t.Fatalf("exit %d, want 2 with an error naming %s and %q\nstdout: %s\nstderr: %s", code, baseline, tt.wantErr, out, errOut)
			}
			if _, err := os.Stat(runs); !os.IsNotExist(err) {
				t.Errorf("runs trained despite the unusable baseline: %v", err)
			}
		})
	}
}
