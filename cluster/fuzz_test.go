package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/configs"
)

// FuzzParseJobID feeds mutated sbatch answers to parseJobID: it must never panic, and an id it
// returns goes into another job's --dependency, so it must be a short decimal number.
func FuzzParseJobID(f *testing.F) {
	for _, s := range []string{"4121\n", "4121;cluster\n", "Submitted batch job 7\n12\n", "", ";", "-1", "+5", "12 13", "1\n\n", "99999999999", "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		id, err := parseJobID(out)
		if err != nil {
			if id != "" {
				t.Fatalf("an error (%v) with an id %q", err, id)
			}
			return
		}
		if id == "" || len(id) > maxJobIDDigits || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("id %q from %q", id, out)
		}
	})
}

// fuzzBase is the experiment the cluster sections of FuzzJobs are added to: two runs.
const fuzzBase = `extends: configs/base.yaml
model: {preset: tiny}
train: {max_steps: 4, warmup_steps: 1}
sweep:
  grid:
    data.format: [sft, instruction]
`

// FuzzJobs loads an experiment with a mutated cluster section (and other keys) and writes its
// Slurm scripts and Kubernetes Job: an experiment Load accepts must give scripts whose every
// line is a comment, a directive or the script's own command, and a Job, without panicking.
func FuzzJobs(f *testing.F) {
	for _, s := range []string{
		"cluster:\n  cpus: 4\n  mem: 8G\n  gpus: 1\n  time: 1-00:00:00\n  parallel: 2\n  slurm:\n    partition: gpu\n    account: lab\n    extra: [--qos=short]\n",
		"cluster:\n  k8s:\n    image: sftlab:1\n    namespace: ml\n    volume_claim: runs\n    mount_path: /runs\n    backoff_limit_per_index: 3\n",
		"cluster:\n  slurm:\n    partition: \"gpu\\nrm -rf ~\"\n",
		"cluster:\n  slurm:\n    extra: [\"--qos=x\\rexec sh\"]\n",
		"cluster:\n  time: 99999999999-00\n",
		"cluster:\n  mem: 99999999999999999999999999T\n",
		"cluster:\n  parallel: 4294967297\n  k8s: {backoff_limit_per_index: 2147483648}\n",
		"name: x\ncluster: {cpus: 1}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.yaml")
		if err := os.WriteFile(path, append([]byte(fuzzBase), data...), 0o644); err != nil {
			t.Fatal(err)
		}
		exp, err := configs.Load(path, nil)
		if err != nil {
			return
		}
		plan, err := NewPlan(exp, "experiments/x.yaml", nil, 0)
		if err != nil {
			return
		}
		job, err := NewSlurmJob(plan, SlurmOptions{Sftlab: "/bin/sftlab", WorkDir: "/work", Dir: "/work/jobs"})
		if err == nil {
			for _, script := range []string{job.Array, job.Report} {
				checkScriptLines(t, script)
			}
		}
		k, err := K8sJob(plan)
		if err != nil {
			return
		}
		if *k.Spec.Parallelism <= 0 || *k.Spec.BackoffLimitPerIndex < 0 || *k.Spec.Completions <= 0 {
			t.Fatalf("job counts out of range: parallelism %d, backoff %d, completions %d", *k.Spec.Parallelism, *k.Spec.BackoffLimitPerIndex, *k.Spec.Completions)
		}
		if d := k.Spec.Template.Spec.ActiveDeadlineSeconds; d != nil && *d <= 0 {
			t.Fatalf("active deadline %d", *d)
		}
		if _, err := K8sYAML(k); err != nil {
			t.Fatal(err)
		}
	})
}

// checkScriptLines fails unless every line of script is a comment, a directive or one of the
// script's own commands, with exactly one exec.
func checkScriptLines(t *testing.T, script string) {
	t.Helper()
	execs := 0
	for _, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "#"), line == "set -euo pipefail",
			line == `export GOMLX_GO_SIMD_AVX512="${GOMLX_GO_SIMD_AVX512:-false}"`:
		case strings.HasPrefix(line, "exec "):
			execs++
		default:
			t.Fatalf("a line the script does not write: %q\n%s", line, script)
		}
		if strings.ContainsAny(line, "\r\x00") {
			t.Fatalf("a control character in %q", line)
		}
	}
	if execs != 1 {
		t.Fatalf("%d exec lines\n%s", execs, script)
	}
}

// TestSlurmJobRefusesControlCharacters checks that a line break in text a job script writes
// outside shell quotes (the experiment path, a run name) is refused: it would end the comment or
// directive it is in and start a command of its own.
func TestSlurmJobRefusesControlCharacters(t *testing.T) {
	opts := SlurmOptions{Sftlab: "/bin/sftlab", WorkDir: "/work", Dir: "/work/jobs"}
	for _, mutate := range []func(p *Plan){
		func(p *Plan) { p.ExperimentPath = "experiments/x\nrm -rf ~\n.yaml" },
		func(p *Plan) { p.Experiment.Runs[0].Name = "format=x\nexec sh" },
		func(p *Plan) { p.Experiment.Base.Cluster.Slurm.Partition = "gpu\rexec sh" },
	} {
		p := smokePlan(t, 0)
		p.Experiment.Runs = append([]configs.Run{}, p.Experiment.Runs...)
		mutate(&p)
		if j, err := NewSlurmJob(p, opts); err == nil || !strings.Contains(err.Error(), "control character") {
			t.Errorf("NewSlurmJob = %v; want an error about a control character\n%s", err, j.Array)
		}
	}
	if _, err := NewSlurmJob(smokePlan(t, 0), opts); err != nil {
		t.Errorf("the smoke experiment: %v", err)
	}
}

// TestParseJobID checks what sbatch --parsable prints, and that a signed or overlong id is
// refused (it would go into another job's --dependency as it is).
func TestParseJobID(t *testing.T) {
	for in, want := range map[string]string{"4121\n": "4121", "4121;cluster\n": "4121", "warning: x\n77\n": "77", " 12 \n": "12"} {
		if got, err := parseJobID([]byte(in)); err != nil || got != want {
			t.Errorf("parseJobID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "+5", "1 2", "12345678901", "Submitted batch job 5"} {
		if got, err := parseJobID([]byte(in)); err == nil {
			t.Errorf("parseJobID(%q) = %q, want an error", in, got)
		}
	}
}

// TestFuzzJobsSeedsLoad checks that FuzzJobs' base experiment loads, so that its inputs reach
// the job writers.
func TestFuzzJobsSeedsLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(path, []byte(fuzzBase+"cluster: {cpus: 2, time: \"1:00:00\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exp, err := configs.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Runs) != 2 || exp.Base.Cluster.CPUs != 2 {
		t.Fatalf("%d runs, %d cpus", len(exp.Runs), exp.Base.Cluster.CPUs)
	}
}
