package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
)

// sftlab runs the CLI in-process and returns its exit status and output.
func sftlab(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// runDirs lists the run folders of experiment name under runs.
func runDirs(t *testing.T, runs, name string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(runs, name, "*", metrics.RunInfoFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

// TestEndToEnd runs the smoke experiment through the CLI: train, reuse, rerun one deleted run
// bit-identically, report, baseline and the regression gate (passing, then failing on a
// planted learning-rate change).
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	tmp := t.TempDir()
	runs := filepath.Join(tmp, "runs")
	exp := filepath.Join("..", "..", "experiments", "smoke.yaml")
	set := "output.dir=" + runs

	code, out, errOut := sftlab(t, "run", exp, "--set", set, "--quiet")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	dirs := runDirs(t, runs, "smoke")
	if len(dirs) != 2 {
		t.Fatalf("want 2 run folders, got %v", dirs)
	}
	for _, want := range []string{"format=sft", "format=instruction", "| ok |"} {
		if !strings.Contains(out, want) {
			t.Errorf("run summary lacks %q:\n%s", want, out)
		}
	}
	first := map[string][]metrics.Step{}
	for _, d := range dirs {
		r, err := metrics.ReadRunDir(d)
		if err != nil || r.Err != nil {
			t.Fatalf("read %s: %v %v", d, err, r.Err)
		}
		if r.Info.Status != metrics.StatusOK || len(r.Steps) != 12 || len(r.Samples) != 1 {
			t.Fatalf("%s: status %s, %d steps, %d samples; want ok, 12, 1", d, r.Info.Status, len(r.Steps), len(r.Samples))
		}
		if dt := r.Info.Data; dt.TrainExamples == 0 || dt.ValidExamples == 0 || dt.TrainedTokens == 0 || dt.Truncated != 0 {
			t.Errorf("%s: run.json data stats %+v, want examples and trained tokens counted, none truncated", d, dt)
		}
		if _, err := os.Stat(filepath.Join(d, "vocab.json")); err != nil {
			t.Errorf("compact vocabulary not recorded: %v", err)
		}
		first[filepath.Base(d)] = r.Steps
	}

	// A second run reuses both.
	code, out, _ = sftlab(t, "run", exp, "--set", set, "--quiet")
	if code != 0 || strings.Count(out, "ok (reused)") != 2 {
		t.Fatalf("rerun: exit %d, want both runs reused:\n%s", code, out)
	}

	// Deleting one run folder trains only that one again, with the same numbers.
	if err := os.RemoveAll(dirs[0]); err != nil {
		t.Fatal(err)
	}
	code, out, _ = sftlab(t, "run", exp, "--set", set, "--quiet")
	if code != 0 || strings.Count(out, "ok (reused)") != 1 {
		t.Fatalf("after deleting one run: exit %d, want one reused:\n%s", code, out)
	}
	again, err := metrics.ReadSteps(filepath.Join(dirs[0], metrics.StepsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := first[filepath.Base(dirs[0])]
	for i := range want {
		a, b := want[i], again[i]
		if a.TrainLoss != b.TrainLoss || a.LR != b.LR || a.GradNorm != b.GradNorm || a.Tokens != b.Tokens || a.Epoch != b.Epoch {
			t.Fatalf("step %d differs after rerun: %+v vs %+v", a.Step, a, b)
		}
	}

	// The report.
	reports := filepath.Join(tmp, "reports", "smoke")
	code, out, errOut = sftlab(t, "report", "smoke", "--runs", runs, "--out", reports)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, f := range []string{"REPORT.md", "comparison.md"} {
		if _, err := os.Stat(filepath.Join(reports, f)); err != nil {
			t.Errorf("report file missing: %v", err)
		}
	}

	// Baseline, then the gate passes on the same numbers.
	baseline := filepath.Join(tmp, "baselines", "smoke.json")
	code, out, errOut = sftlab(t, "baseline", exp, "--set", set, "--out", baseline)
	if code != 0 {
		t.Fatalf("baseline: exit %d\n%s\n%s", code, out, errOut)
	}
	gate := filepath.Join(tmp, "regress.md")
	code, out, errOut = sftlab(t, "regress", exp, "--set", set, "--baseline", baseline, "--out", gate, "--quiet")
	if code != 0 || !strings.Contains(out, "**PASS**") {
		t.Fatalf("regress on unchanged code: exit %d\n%s\n%s", code, out, errOut)
	}

	// A baseline none of whose runs is a run of the experiment fails the gate: nothing is compared.
	data, err := os.ReadFile(baseline)
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(tmp, "baselines", "renamed.json")
	if err := os.WriteFile(renamed, []byte(strings.ReplaceAll(string(data), `"name": "format=`, `"name": "masking=`)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = sftlab(t, "regress", exp, "--set", set, "--baseline", renamed, "--out", gate, "--quiet")
	if code != 1 || !strings.Contains(errOut, "nothing compared") || !strings.Contains(errOut, "masking=sft: MISSING") {
		t.Fatalf("regress against a baseline of other runs: exit %d, want 1 naming the missing runs\n%s\n%s", code, out, errOut)
	}

	// A planted regression: a much smaller learning rate trains less; the gate names eval_loss.
	code, out, errOut = sftlab(t, "regress", exp, "--set", set, "--set", "train.learning_rate=1e-5",
		"--baseline", baseline, "--out", gate, "--quiet")
	if code != 1 {
		t.Fatalf("regress with lr 1e-5: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"format=sft: eval_loss REGRESSED", "format=instruction: train_loss REGRESSED"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("gate failure does not name %q:\n%s", want, errOut)
		}
	}
	if md, err := os.ReadFile(gate); err != nil || !strings.Contains(string(md), "**FAIL**") {
		t.Errorf("regress.md not written with the failure: %v\n%s", err, md)
	}
}

// TestRunBadInput checks that each bad input stops `sftlab run` with a clear error, exit
// status 2, and nothing written.
func TestRunBadInput(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := write("long.jsonl", `{"instruction":"复述","input":"`+strings.Repeat("很长的句子。", 200)+`","output":"好"}`+"\n")
	empty := write("empty.jsonl", "")
	blocker := write("blocker", "a file where a folder should be")
	tests := []struct {
		name string
		yaml string
		sets []string
		want []string
	}{
		{"malformed YAML", "train:\n  max_steps: [1,\n", nil, []string{"bad.yaml:"}},
		{"unknown key", "train:\n  learing_rate: 1e-3\n", nil, []string{"bad.yaml:5", "train.learing_rate", "did you mean train.learning_rate"}},
		{"wrong type", "train:\n  batch_size: two\n", nil, []string{"bad.yaml:5", "train.batch_size"}},
		{"negative lr", "train:\n  learning_rate: -1e-3\n", nil, []string{"bad.yaml:5", "train.learning_rate"}},
		{"zero steps", "train:\n  max_steps: 0\n", nil, []string{"bad.yaml:5", "train.max_steps"}},
		{"batch 0 via --set", "", []string{"train.batch_size=0"}, []string{"--set", "train.batch_size"}},
		{"missing dataset", "data:\n  dataset: " + filepath.Join(tmp, "nope.jsonl") + "\n", nil, []string{"data.dataset", "nope.jsonl"}},
		{"empty dataset", "data:\n  dataset: " + empty + "\n", nil, []string{"empty.jsonl"}},
		{"example longer than max_length", "data:\n  dataset: " + long + "\n  max_length: 64\n  valid_fraction: 0\n  eval_on: train\n", nil, []string{"data.max_length", "data.truncate"}},
		{"unwritable output", "output:\n  dir: " + filepath.Join(blocker, "runs") + "\n", nil, []string{"output directory", "output.dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(tmp, "out-"+strings.ReplaceAll(tt.name, " ", "_"))
			exp := write("bad.yaml", "extends: configs/base.yaml\nmodel:\n  preset: tiny\n"+tt.yaml)
			args := []string{"run", exp, "--quiet"}
			if !strings.Contains(tt.yaml, "output:") {
				args = append(args, "--set", "output.dir="+out)
			}
			for _, s := range tt.sets {
				args = append(args, "--set", s)
			}
			code, stdout, stderr := sftlab(t, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, stderr)
				}
			}
			if entries, _ := filepath.Glob(filepath.Join(out, "*", "*", "*")); len(entries) > 0 {
				t.Errorf("files written despite the error: %v", entries)
			}
		})
	}
}

// TestRunRefusesHugeSweep checks that sftlab run refuses a sweep over --max-runs at once, with
// the count, and writes nothing.
func TestRunRefusesHugeSweep(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "huge.yaml")
	lrs := make([]string, 200)
	for i := range lrs {
		lrs[i] = fmt.Sprintf("%de-5", i+1)
	}
	yaml := "output:\n  dir: " + filepath.Join(dir, "runs") + "\nsweep:\n  grid:\n    train.learning_rate: [" + strings.Join(lrs, ", ") + "]\n  seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
	if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := sftlab(t, "run", exp, "--quiet")
	if code != 2 || !strings.Contains(errOut, "2000") {
		t.Fatalf("exit %d, stderr %q; want 2 and the run count", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "runs")); err == nil {
		t.Error("the refused sweep created its output folder")
	}
}
