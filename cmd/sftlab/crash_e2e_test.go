package main

import (
	"encoding/csv"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sftlab/sftlab/metrics"
)

// crashSets make smoke a one-run experiment of 24 steps, evaluated and checkpointed every 4,
// scoring one completion every 8 steps: a run with every kind of file, in about a second.
var crashSets = []string{
	"--set", "sweep.grid={data.format: [sft]}", "--set", "train.max_steps=24", "--set", "train.checkpoint_every=4",
	"--set", "eval.every=4", "--set", "eval.generate_every=8", "--set", "eval.samples=1", "--set", "eval.max_new_tokens=4",
}

// smokePath is the absolute path of experiments/smoke.yaml.
func smokePath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "experiments", "smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exportStatuses runs `sftlab export NAME --format csv -o -` on runs and returns the status
// column's values, each once.
func exportStatuses(t *testing.T, runs string) []string {
	t.Helper()
	code, out, errOut := sftlab(t, "export", "smoke", "--runs", runs, "--format", "csv", "-o", "-")
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("export: %d rows, %v\n%s", len(rows), err, out)
	}
	col := -1
	for i, name := range rows[0] {
		if name == "status" {
			col = i
		}
	}
	seen := map[string]bool{}
	var statuses []string
	for _, r := range rows[1:] {
		if !seen[r[col]] {
			seen[r[col]] = true
			statuses = append(statuses, r[col])
		}
	}
	return statuses
}

// waitFor polls until path exists or the process ends (false).
func waitFor(t *testing.T, path string, cmd *exec.Cmd, done <-chan struct{}) bool {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if matches, _ := filepath.Glob(path); len(matches) > 0 {
			return true
		}
		select {
		case <-done:
			return false
		default:
		}
	}
	cmd.Process.Kill()
	t.Fatalf("%s never appeared", path)
	return false
}

// TestKilledRunShownInterrupted trains a run in another process: while it trains, export shows
// it running; once that process is killed with SIGKILL (run.json still says running), export,
// report and the sweep summary of a `sftlab run --held=skip` show it interrupted.
func TestKilledRunShownInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	args := append([]string{"run", smokePath(t), "--set", "train.max_steps=100000", "--set", "output.dir=" + runs}, crashSets[:2]...)
	args = append(args, "--set", "train.checkpoint_every=4", "--set", "eval.samples=0")
	cmd, stdout, stderr := sftlabProcess(t, dir, args...)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if !waitFor(t, filepath.Join(runs, "smoke", "*", "checkpoints", "latest"), cmd, done) {
		t.Fatalf("the training process ended early\n%s\n%s", stdout, stderr)
	}
	if got := exportStatuses(t, runs); strings.Join(got, ",") != "running" {
		t.Errorf("while its process trains it: export shows %v, want running", got)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	dirs := runDirs(t, runs, "smoke")
	if info, err := metrics.ReadRunInfo(filepath.Join(dirs[0], metrics.RunInfoFile)); err != nil || info.Status != metrics.StatusRunning {
		t.Fatalf("run.json after the kill: %v, %v; want it still saying running", info.Status, err)
	}
	if got := exportStatuses(t, runs); strings.Join(got, ",") != "interrupted" {
		t.Errorf("after its process was killed: export shows %v, want interrupted", got)
	}
	reports := filepath.Join(dir, "reports")
	if code, out, errOut := sftlab(t, "report", "smoke", "--runs", runs, "--out", reports); code != 0 {
		t.Fatalf("report: exit %d\n%s\n%s", code, out, errOut)
	}
	md, err := os.ReadFile(filepath.Join(reports, "comparison.md"))
	if err != nil || !strings.Contains(string(md), "interrupted") || strings.Contains(string(md), "running") {
		t.Errorf("comparison.md (%v) does not show the run interrupted:\n%s", err, md)
	}
}

// corrupt damages the file at path as a crash or a bad disk can: it keeps the first half of
// its bytes and puts bytes no format accepts (NUL, 0xff) at its start.
func corrupt(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = data[:len(data)/2]
	if len(data) < 2 {
		data = make([]byte, 2)
	}
	data[0], data[1] = 0x00, 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkWhole checks that the one run under runs finished with every row once: the 24 steps,
// both splits evaluated every 4 steps, completions scored at steps 8, 16 and 24.
func checkWhole(t *testing.T, runs string) {
	t.Helper()
	dirs := runDirs(t, runs, "smoke")
	if len(dirs) != 1 {
		t.Fatalf("run folders %v, want one", dirs)
	}
	r, err := metrics.ReadRunDir(dirs[0])
	if err != nil || r.Err != nil {
		t.Fatalf("read the run: %v %v", err, r.Err)
	}
	if r.Info.Status != metrics.StatusOK {
		t.Fatalf("status %s (%s), want ok", r.Info.Status, r.Info.Error)
	}
	for i, s := range r.Steps {
		if s.Step != int64(i+1) {
			t.Fatalf("metrics.arrow row %d is of step %d", i, s.Step)
		}
	}
	seen := map[string]int{}
	for _, e := range r.Evals {
		seen[fmt.Sprintf("%s@%d", e.Split, e.Step)]++
	}
	var gens []int64
	for _, g := range r.Generations {
		gens = append(gens, g.Step)
	}
	if len(r.Steps) != 24 || len(r.Evals) != 12 || len(seen) != 12 || len(gens) != 3 || gens[0] != 8 || gens[2] != 24 {
		t.Errorf("%d steps, %d eval rows (%d distinct), generation rows at %v; want 24, 12 (12), [8 16 24]", len(r.Steps), len(r.Evals), len(seen), gens)
	}
}

// TestDamagedRunFilesRetrain damages, one at a time, every file of a finished run and of a run
// killed with SIGKILL while training, runs the experiment again and checks that it ends ok
// with every metrics row once, and that report and export work. A folder without a readable
// run.json beside the run is left out of the report, which says so.
func TestDamagedRunFilesRetrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	tmp := t.TempDir()
	exp := smokePath(t)
	rerun := func(t *testing.T, runs string) {
		t.Helper()
		args := append([]string{"run", exp, "--quiet", "--set", "output.dir=" + runs}, crashSets...)
		if code, out, errOut := sftlab(t, args...); code != 0 {
			t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
		}
	}

	// The finished run.
	finished := filepath.Join(tmp, "finished", "runs")
	rerun(t, finished)
	checkWhole(t, finished)

	// A run killed while training, after its first checkpoint.
	partial := filepath.Join(tmp, "partial", "runs")
	for attempt := 0; ; attempt++ {
		os.RemoveAll(partial)
		args := append([]string{"run", exp, "--set", "output.dir=" + partial}, crashSets...)
		cmd, _, stderr := sftlabProcess(t, tmp, args...)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		ok := waitFor(t, filepath.Join(partial, "smoke", "*", "checkpoints", "latest"), cmd, done)
		cmd.Process.Kill()
		<-done
		dirs := runDirs(t, partial, "smoke")
		if ok && len(dirs) == 1 {
			if info, err := metrics.ReadRunInfo(filepath.Join(dirs[0], metrics.RunInfoFile)); err == nil && info.Status == metrics.StatusRunning {
				break
			}
		}
		if attempt == 4 {
			t.Fatalf("could not kill the run while it trained\n%s", stderr)
		}
	}

	for _, tmpl := range []struct{ name, runs string }{{"finished", finished}, {"killed", partial}} {
		var files []string
		filepath.WalkDir(tmpl.runs, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !strings.Contains(path, metrics.ClaimsDir) {
				rel, _ := filepath.Rel(tmpl.runs, path)
				files = append(files, rel)
			}
			return nil
		})
		if len(files) < 8 {
			t.Fatalf("%s run: only %v", tmpl.name, files)
		}
		for _, f := range files {
			name := tmpl.name + "/" + filepath.Base(f)
			if strings.Contains(f, "checkpoints") && filepath.Base(f) != "latest" {
				name = tmpl.name + "/checkpoint " + filepath.Base(f)
			}
			t.Run(name, func(t *testing.T) {
				runs := filepath.Join(t.TempDir(), "runs")
				if err := os.CopyFS(runs, os.DirFS(tmpl.runs)); err != nil {
					t.Fatal(err)
				}
				corrupt(t, filepath.Join(runs, f))
				// Before the rerun the report works too, whatever it makes of the damage.
				if code, out, errOut := sftlab(t, "report", "smoke", "--runs", runs, "--out", filepath.Join(t.TempDir(), "before")); code != 0 && !strings.Contains(errOut, "no runs in") {
					t.Errorf("report of the damaged run: exit %d\n%s\n%s", code, out, errOut)
				}
				rerun(t, runs)
				checkWhole(t, runs)
				if code, out, errOut := sftlab(t, "report", "smoke", "--runs", runs, "--out", filepath.Join(t.TempDir(), "reports")); code != 0 {
					t.Errorf("report: exit %d\n%s\n%s", code, out, errOut)
				}
				if got := exportStatuses(t, runs); strings.Join(got, ",") != "ok" {
					t.Errorf("export statuses %v, want ok", got)
				}
			})
		}
	}

	t.Run("folder without run.json", func(t *testing.T) {
		runs := filepath.Join(t.TempDir(), "runs")
		if err := os.CopyFS(runs, os.DirFS(finished)); err != nil {
			t.Fatal(err)
		}
		stray := filepath.Join(runs, "smoke", "0123456789ab")
		if err := os.MkdirAll(stray, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(stray, metrics.ConfigFile), []byte("train: {max_steps: 3}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		reports := filepath.Join(t.TempDir(), "reports")
		code, out, errOut := sftlab(t, "report", "smoke", "--runs", runs, "--out", reports)
		if code != 0 || !strings.Contains(errOut, "0123456789ab") {
			t.Fatalf("report: exit %d, want 0 and a warning naming the folder\n%s\n%s", code, out, errOut)
		}
		md, err := os.ReadFile(filepath.Join(reports, "comparison.md"))
		if err != nil || strings.Count(string(md), "\n| format=sft |") != 1 || strings.Contains(string(md), "| 0123456789ab |") {
			t.Errorf("comparison.md (%v) shows the stray folder:\n%s", err, md)
		}
		if got := exportStatuses(t, runs); strings.Join(got, ",") != "ok" {
			t.Errorf("export statuses %v, want ok", got)
		}
	})
}
