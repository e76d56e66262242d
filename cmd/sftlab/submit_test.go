package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

func TestSubmitSlurmWritesScripts(t *testing.T) {
	dir := t.TempDir()
	exp := repoExperiment(t, "lr_sweep")
	t.Chdir(dir)
	code, out, errOut := sftlab(t, "submit", "slurm", exp, "--shards", "3", "--sftlab", "/opt/bin/sftlab",
		"--set", "cluster.mem=3G", "--set", "output.dir="+filepath.Join(dir, "shared"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	jobDir := filepath.Join(dir, "shared", "lr_sweep", "_slurm")
	array, err := os.ReadFile(filepath.Join(jobDir, "array.sbatch"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --array=0-2\n", "#SBATCH --mem=3G\n", "#SBATCH --chdir=" + dir + "\n",
		"exec /opt/bin/sftlab run " + exp, `--shard "$((SLURM_ARRAY_TASK_ID + 1))/3"`} {
		if !strings.Contains(string(array), want) {
			t.Errorf("array.sbatch lacks %q:\n%s", want, array)
		}
	}
	if _, err := os.Stat(filepath.Join(jobDir, "logs")); err != nil {
		t.Errorf("logs folder not made: %v", err)
	}
	if !strings.Contains(out, "18 runs in 3 array tasks") || !strings.Contains(out, "sbatch --dependency=afterany:$id") {
		t.Errorf("output does not say what was written and how to submit it:\n%s", out)
	}
}

// repoExperiment is the absolute path of the repository's experiments/NAME.yaml.
func repoExperiment(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "experiments", name+".yaml")
}

// repoRoot is the repository: two folders above this package's, where the tests start.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestSubmitK8s(t *testing.T) {
	code, out, errOut := sftlab(t, "submit", "k8s", repoExperiment(t, "smoke"), "--set", "cluster.k8s.volume_claim=shared-runs")
	if code != 2 || !strings.Contains(errOut, "outside the working directory") {
		t.Fatalf("an experiment outside the working directory: exit %d, want 2 and a clear error\n%s%s", code, out, errOut)
	}
	t.Chdir(repoRoot(t))
	code, out, errOut = sftlab(t, "submit", "k8s", "smoke", "--set", "cluster.k8s.volume_claim=shared-runs")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(out), &job); err != nil {
		t.Fatalf("standard output is not a Job: %v\n%s", err, out)
	}
	if job.Kind != "Job" || *job.Spec.Completions != 2 || job.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "shared-runs" {
		t.Errorf("job %+v", job)
	}
	if cmd := strings.Join(job.Spec.Template.Spec.Containers[0].Command, " "); !strings.Contains(cmd, "run experiments/smoke.yaml") {
		t.Errorf("the pods do not run experiments/smoke.yaml: %s", cmd)
	}
}

func TestSubmitErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"wait without submit", []string{"submit", "slurm", "smoke", "--wait"}, "--wait needs --submit"},
		{"too many shards", []string{"submit", "slurm", "smoke", "--shards", "3"}, "only 2 runs"},
		{"bad cluster value", []string{"submit", "k8s", "smoke", "--set", "cluster.time=soon"}, "cluster.time"},
		{"unknown experiment", []string{"submit", "slurm", "nope"}, "nope.yaml"},
	}
	t.Chdir(repoRoot(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := sftlab(t, tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q\n%s", code, errOut, tt.want, out)
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown format", []string{"export", "smoke", "--format", "xlsx"}, 2, "want parquet, csv or arrow"},
		{"no runs", []string{"export", "smoke", "--runs", dir}, 1, "sftlab run experiments/smoke.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := sftlab(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q\n%s", code, errOut, tt.code, tt.want, out)
			}
		})
	}
}
