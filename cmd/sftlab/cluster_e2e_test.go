package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sftlab/sftlab/internal/claim"
	"github.com/sftlab/sftlab/metrics"
)

// fastSweep shrinks lr_sweep's 18 runs to seconds each: a smaller model and fewer steps.
var fastSweep = []string{
	"model.d_model=64", "model.n_layers=1", "model.d_mlp=128", "train.max_steps=8", "train.batch_size=4",
	"train.warmup_steps=2", "eval.samples=0",
}

const fastSteps = 8

// sftlabProcess starts the test binary as sftlab (see TestMain) in dir.
func sftlabProcess(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

// tableRow matches a row of the sweep summary: run name, id, status.
var tableRow = regexp.MustCompile(`(?m)^\| (\S+) \| ([0-9a-f]{12}) \| ([^|]+) \|`)

// trainedHere returns the ids of the runs a `sftlab run` summary says this process trained:
// status "ok" or "ok (after HOLDER)", not "ok (reused)" nor "ok (by HOLDER)".
func trainedHere(summary string) (trained []string, all []string) {
	for _, m := range tableRow.FindAllStringSubmatch(summary, -1) {
		status := strings.TrimSpace(m[3])
		all = append(all, m[2])
		if status == "ok" || strings.HasPrefix(status, "ok (after ") {
			trained = append(trained, m[2])
		}
	}
	return trained, all
}

// Two `sftlab run` processes started together on lr_sweep (its 18 runs made fast) into one
// output folder: each run is trained by exactly one of them, every run folder is whole, each
// process's summary lists every run, and the export of the result reads back from Parquet.
func TestTwoProcessesOneFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	exp, err := filepath.Abs(filepath.Join("..", "..", "experiments", "lr_sweep.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"run", exp}
	for _, s := range fastSweep {
		args = append(args, "--set", s)
	}
	type proc struct {
		cmd            *exec.Cmd
		stdout, stderr *bytes.Buffer
	}
	var procs []proc
	for range 2 {
		cmd, stdout, stderr := sftlabProcess(t, dir, args...)
		procs = append(procs, proc{cmd, stdout, stderr})
	}
	trainedBy := map[string]int{}
	for i, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s\n%s", i, err, p.stdout, p.stderr)
		}
		trained, all := trainedHere(p.stdout.String())
		if len(all) != 18 {
			t.Errorf("process %d lists %d runs, want all 18:\n%s", i, len(all), p.stdout)
		}
		for _, id := range trained {
			trainedBy[id]++
		}
		t.Logf("process %d trained %d runs; held by the other: %d", i, len(trained), strings.Count(p.stderr.String(), "held by another process"))
	}
	dirs := runDirs(t, filepath.Join(dir, "runs"), "lr_sweep")
	if len(dirs) != 18 {
		t.Fatalf("%d run folders, want 18", len(dirs))
	}
	for _, d := range dirs {
		id := filepath.Base(d)
		if trainedBy[id] != 1 {
			t.Errorf("run %s trained %d times, want once", id, trainedBy[id])
		}
		r, err := metrics.ReadRunDir(d)
		if err != nil || r.Err != nil {
			t.Errorf("run %s: %v %v", id, err, r.Err)
			continue
		}
		if r.Info.Status != metrics.StatusOK || len(r.Steps) != fastSteps || len(r.Evals) == 0 {
			t.Errorf("run %s: status %s, %d steps, %d evals; want ok, %d steps, evals", id, r.Info.Status, len(r.Steps), len(r.Evals), fastSteps)
		}
		for i, s := range r.Steps {
			if s.Step != int64(i+1) {
				t.Errorf("run %s: row %d holds step %d", id, i, s.Step)
				break
			}
		}
		if tmp, _ := filepath.Glob(filepath.Join(d, ".*tmp*")); len(tmp) > 0 {
			t.Errorf("run %s: temporary files left: %v", id, tmp)
		}
	}
	if locks, _ := filepath.Glob(filepath.Join(dir, "runs", "lr_sweep", ".claims", "*")); len(locks) > 0 {
		t.Errorf("claims not released: %v", locks)
	}

	// The export of the same runs, read back by arrow-go's Parquet reader.
	cmd, stdout, stderr := sftlabProcess(t, dir, "export", "lr_sweep", "--format", "parquet")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("export: %v\n%s\n%s", err, stdout, stderr)
	}
	checkExport(t, filepath.Join(dir, "reports", "lr_sweep", "lr_sweep.parquet"), dirs)
}

// checkExport reads the Parquet export and compares each run's final valid eval_loss with its
// eval.arrow.
func checkExport(t *testing.T, path string, dirs []string) {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	col := map[string]int{}
	for i, f := range tbl.Schema().Fields() {
		col[f.Name] = i
	}
	for _, name := range []string{"run_id", "format", "lr", "seed", "step", "split", "metric", "value"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("export lacks column %s: %v", name, tbl.Schema())
		}
	}
	// 18 runs × (8 steps × 7 metrics + evals × 3 metrics).
	if want := int64(18 * (fastSteps*7 + 2*3)); tbl.NumRows() != want {
		t.Errorf("export has %d rows, want %d", tbl.NumRows(), want)
	}
	chunk := func(name string) any { return tbl.Column(col[name]).Data().Chunk(0) }
	ids, metric, split, value := chunk("run_id").(*array.String), chunk("metric").(*array.String), chunk("split").(*array.String), chunk("value").(*array.Float64)
	got := map[string]float64{}
	for i := range int(tbl.NumRows()) {
		if metric.Value(i) == "eval_loss" && !split.IsNull(i) && split.Value(i) == metrics.SplitValid {
			got[ids.Value(i)] = value.Value(i)
		}
	}
	for _, d := range dirs {
		info, err := metrics.ReadRunInfo(filepath.Join(d, metrics.RunInfoFile))
		if err != nil {
			t.Fatal(err)
		}
		if got[info.ID] != info.Summary.EvalLoss {
			t.Errorf("run %s: exported eval_loss %v, run.json says %v", info.ID, got[info.ID], info.Summary.EvalLoss)
		}
	}
}

// slurmJobID finds "submitted array job N" in the output of sftlab submit slurm.
var slurmJobID = regexp.MustCompile(`submitted array job (\d+)`)

// TestSlurmEndToEnd submits the smoke experiment to a real Slurm cluster as a job array with
// its report job, waits for both, checks that every run finished once and the report was
// written, then submits again and checks that nothing trains. It needs a cluster this machine
// can submit to (scripts/slurm-local.sh start makes one) and a built sftlab binary that the
// compute node can run: `make slurm-test` sets SFTLAB_BIN. Without SFTLAB_BIN it is skipped.
func TestSlurmEndToEnd(t *testing.T) {
	bin := os.Getenv("SFTLAB_BIN")
	if bin == "" {
		t.Skip("SKIPPED: the Slurm end-to-end test needs SFTLAB_BIN and a Slurm cluster: run `make slurm-test` (scripts/slurm-local.sh start sets up one)")
	}
	if out, err := exec.Command("sinfo", "-h", "-o", "%t").CombinedOutput(); err != nil {
		t.Fatalf("SFTLAB_BIN is set but there is no Slurm cluster to submit to (sinfo: %v: %s): run scripts/slurm-local.sh start", err, out)
	}
	dir := t.TempDir()
	exp, err := filepath.Abs(filepath.Join("..", "..", "experiments", "smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	submit := func() (string, []string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "submit", "slurm", exp, "--submit", "--wait")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sftlab submit slurm: %v\n%s", err, out)
		}
		m := slurmJobID.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no array job id in:\n%s", out)
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "runs", "smoke", "_slurm", "logs", string(m[1])+"_*.out"))
		return string(m[1]), logs
	}

	job, logs := submit()
	if len(logs) != 2 {
		t.Fatalf("array job %s left %d task logs, want 2: %v", job, len(logs), logs)
	}
	trainedBy := map[string]int{}
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		trained, all := trainedHere(string(data))
		if len(all) != 1 {
			t.Errorf("%s: %d runs in the task's summary, want 1:\n%s", l, len(all), data)
		}
		for _, id := range trained {
			trainedBy[id]++
		}
	}
	dirs := runDirs(t, filepath.Join(dir, "runs"), "smoke")
	if len(dirs) != 2 {
		t.Fatalf("%d run folders, want 2", len(dirs))
	}
	before := map[string]time.Time{}
	for _, d := range dirs {
		id := filepath.Base(d)
		if trainedBy[id] != 1 {
			t.Errorf("run %s trained %d times, want once", id, trainedBy[id])
		}
		info, err := metrics.ReadRunInfo(filepath.Join(d, metrics.RunInfoFile))
		if err != nil || info.Status != metrics.StatusOK {
			t.Errorf("run %s: %v, status %s; want ok", id, err, info.Status)
		}
		before[id] = info.Provenance.StartTime
	}
	if _, err := os.Stat(filepath.Join(dir, "reports", "smoke", "REPORT.md")); err != nil {
		t.Errorf("the report job wrote no report: %v", err)
	}

	// Submitting again trains nothing: every task reuses its finished run.
	job2, logs := submit()
	if job2 == job || len(logs) != 2 {
		t.Fatalf("second array job %s left %d logs", job2, len(logs))
	}
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if trained, _ := trainedHere(string(data)); len(trained) > 0 || !strings.Contains(string(data), "ok (reused)") {
			t.Errorf("%s: resubmission trained %v:\n%s", l, trained, data)
		}
	}
	for _, d := range dirs {
		info, _ := metrics.ReadRunInfo(filepath.Join(d, metrics.RunInfoFile))
		if !info.Provenance.StartTime.Equal(before[filepath.Base(d)]) {
			t.Errorf("run %s was rewritten by the resubmission", filepath.Base(d))
		}
	}
}

// A `sftlab run` killed with SIGKILL while training leaves its claim behind; the next
// `sftlab run` on this host sees that the holder is gone, takes the claim over and trains the
// run instead of waiting for it.
func TestKilledRunIsTakenOver(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	exp, err := filepath.Abs(filepath.Join("..", "..", "experiments", "smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sets := []string{"--set", "sweep.grid={data.format: [sft]}", "--set", "eval.samples=0"}
	long := append([]string{"run", exp, "--set", "train.max_steps=100000"}, sets...)
	cmd, stdout, stderr := sftlabProcess(t, dir, long...)
	claims := filepath.Join(dir, "runs", "smoke", ".claims", "*.lock")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if held, _ := filepath.Glob(claims); len(held) == 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the first process never claimed its run\n%s\n%s", stdout, stderr)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if held, _ := filepath.Glob(claims); len(held) != 1 {
		t.Fatalf("the killed process left %d claims, want its one", len(held))
	}

	// The same run again, in this process: it must take the claim over at once (not wait for
	// the dead holder), train, and release the claim when stopped.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tookOver := make(chan bool, 1)
	go func() {
		defer cancel()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			held, _ := filepath.Glob(claims)
			if len(held) != 1 {
				continue
			}
			data, _ := os.ReadFile(held[0])
			var o claim.Owner
			if json.Unmarshal(data, &o) == nil && o.PID == os.Getpid() {
				tookOver <- true
				return
			}
		}
		tookOver <- false
	}()
	var out, errOut bytes.Buffer
	code := run(ctx, append(long, "--set", "output.dir="+filepath.Join(dir, "runs")), strings.NewReader(""), &out, &errOut)
	if !<-tookOver {
		t.Fatalf("the claim of the killed process was not taken over (exit %d)\n%s\n%s", code, out.String(), errOut.String())
	}
	if strings.Contains(errOut.String(), "waiting for the run held by another process") {
		t.Errorf("waited for a dead holder:\n%s", errOut.String())
	}
	if held, _ := filepath.Glob(claims); len(held) != 0 {
		t.Errorf("claim not released after the run stopped: %v", held)
	}
	dirs := runDirs(t, filepath.Join(dir, "runs"), "smoke")
	if len(dirs) != 1 {
		t.Fatalf("%d run folders, want 1", len(dirs))
	}
	info, err := metrics.ReadRunInfo(filepath.Join(dirs[0], metrics.RunInfoFile))
	if err != nil || info.Status != metrics.StatusInterrupted || info.Provenance.Host == "" {
		t.Errorf("run.json after the stop: %+v, %v; want interrupted", info, err)
	}
}
