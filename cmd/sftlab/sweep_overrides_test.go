package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetOfSweptKey checks `--set` of a key the experiment sweeps: an invalid value is refused
// (it used to be ignored with exit 0), and a valid one replaces the axis, which the log says;
// the regression gate then finds the baseline's runs missing instead of passing on old runs.
func TestSetOfSweptKey(t *testing.T) {
	tmp := t.TempDir()
	runs := filepath.Join(tmp, "runs")
	lrSweep := filepath.Join("..", "..", "experiments", "lr_sweep.yaml")
	smoke := filepath.Join("..", "..", "experiments", "smoke.yaml")

	refused := []struct {
		name, exp, set, wantErr string
	}{
		{"unknown format", lrSweep, "data.format=foo", `--set data.format: "foo" is not one of sft, instruction, chat`},
		{"negative learning rate", lrSweep, "train.learning_rate=-1", "--set train.learning_rate: must be a finite number > 0, got -1"},
		{"wrong type", smoke, "data.format=[sft]", "--set data.format: wrong type"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := sftlab(t, "run", tc.exp, "--set", "output.dir="+runs, "--set", tc.set, "--quiet")
			if code != 2 || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d, want 2 naming %q\nstdout: %s\nstderr: %s", code, tc.wantErr, out, errOut)
			}
		})
	}
	if _, err := os.Stat(runs); !os.IsNotExist(err) {
		t.Fatalf("a refused run wrote %s: %v", runs, err)
	}

	if testing.Short() {
		t.Skip("the rest trains a model")
	}
	baseline := filepath.Join(tmp, "smoke.json")
	const b = `{"experiment": "smoke", "runs": [
  {"id": "b2ecf8c430ee", "name": "format=sft", "status": "ok", "metrics": {"eval_loss": 6.6}, "provenance": {}},
  {"id": "7afb0c02d1c4", "name": "format=instruction", "status": "ok", "metrics": {"eval_loss": 6.6}, "provenance": {}}]}`
	if err := os.WriteFile(baseline, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := sftlab(t, "regress", smoke, "--set", "output.dir="+runs, "--set", "train.max_steps=2",
		"--set", "data.format=chat", "--baseline", baseline, "--out", filepath.Join(tmp, "regress.md"))
	if code != 1 {
		t.Fatalf("regress with the swept format set to chat: exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"--set data.format=chat replaces the swept values sweep.grid.data.format [sft, instruction]: 1 run instead of 2",
		"format=sft: MISSING", "format=instruction: MISSING",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if dirs := runDirs(t, runs, "smoke"); len(dirs) != 1 {
		t.Errorf("%d run folders, want the one chat run: %v", len(dirs), dirs)
	}
}
