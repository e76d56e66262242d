package cluster

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"

	"github.com/sftlab/sftlab/configs"
)

var update = flag.Bool("update", false, "update golden files")

// golden compares got with testdata/name, rewriting the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// smokePlan loads the repository's smoke experiment with sets, as the tasks will.
func smokePlan(t *testing.T, shards int, sets ...string) Plan {
	t.Helper()
	const path = "../experiments/smoke.yaml"
	exp, err := configs.Load(path, sets)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(exp, "experiments/smoke.yaml", sets, shards)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlan(t *testing.T) {
	exp, err := configs.Load("../experiments/lr_sweep.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		shards  int
		tasks   int
		wantErr string
	}{
		{shards: 0, tasks: 18},
		{shards: 4, tasks: 4},
		{shards: 18, tasks: 18},
		{shards: 19, wantErr: "only 18 runs"},
		{shards: -1, wantErr: "want a number of tasks"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("shards=%d", tt.shards), func(t *testing.T) {
			p, err := NewPlan(exp, "experiments/lr_sweep.yaml", nil, tt.shards)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || p.Tasks != tt.tasks {
				t.Fatalf("tasks = %d, %v; want %d", p.Tasks, err, tt.tasks)
			}
			// Every run belongs to exactly one task, and task i is what --shard i+1/N selects.
			seen := map[string]int{}
			for i := range p.Tasks {
				for _, r := range p.TaskRuns(i) {
					seen[r.ID]++
				}
			}
			for j, r := range exp.Runs {
				if seen[r.ID] != 1 {
					t.Errorf("run %s is in %d tasks", r.Name, seen[r.ID])
				}
				if got := p.TaskRuns(j % p.Tasks); !containsRun(got, r) {
					t.Errorf("run %d (%s) is not in task %d", j, r.Name, j%p.Tasks)
				}
			}
		})
	}
}

func containsRun(runs []configs.Run, r configs.Run) bool {
	for _, x := range runs {
		if x.ID == r.ID {
			return true
		}
	}
	return false
}

func TestSlurmScripts(t *testing.T) {
	tests := []struct {
		name   string
		shards int
		sets   []string
	}{
		{"smoke", 0, []string{"output.dir=/shared/runs"}},
		{"smoke_resources", 1, []string{"cluster.cpus=4", "cluster.mem=8G", "cluster.time=1-00:00:00", "cluster.gpus=1",
			"cluster.parallel=1", "cluster.slurm.partition=gpu", "cluster.slurm.account=course", "cluster.slurm.extra=[--qos=short, --constraint=avx2]",
			"train.learning_rate=1e-3", "description=it's quoted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := smokePlan(t, tt.shards, tt.sets...)
			j, err := NewSlurmJob(p, SlurmOptions{Sftlab: "/opt/sftlab/bin/sftlab", WorkDir: "/home/ana/sftlab", Dir: "/home/ana/sftlab/runs/smoke/_slurm"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".array.sbatch", []byte(j.Array))
			golden(t, tt.name+".report.sbatch", []byte(j.Report))
		})
	}
	if _, err := NewSlurmJob(smokePlan(t, 0), SlurmOptions{Sftlab: "bin/sftlab", WorkDir: "/w", Dir: "/w/j"}); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("relative sftlab path: %v, want an error asking for an absolute path", err)
	}
}

// The Job is written from the typed structs; its YAML must decode back, strictly, through the
// API machinery (kind and version known, no unknown field) into the same object.
func TestK8sJobRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		shards int
		sets   []string
	}{
		{"smoke", 0, nil},
		{"smoke_volume", 0, []string{"cluster.cpus=2", `cluster.mem="1536"`, "cluster.gpus=1", "cluster.time=30:00", "cluster.parallel=1",
			"cluster.k8s.image=registry.example.org/sftlab:v1", "cluster.k8s.namespace=course", "cluster.k8s.volume_claim=sftlab-runs",
			"cluster.k8s.backoff_limit_per_index=3", "train.learning_rate=1e-3"}},
	}
	scheme := runtime.NewScheme()
	if err := batchv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, err := K8sJob(smokePlan(t, tt.shards, tt.sets...))
			if err != nil {
				t.Fatal(err)
			}
			out, err := K8sYAML(job)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".job.yaml", out)

			obj, gvk, err := decoder.Decode(out, nil, nil)
			if err != nil {
				t.Fatalf("the API machinery refuses the YAML: %v", err)
			}
			if gvk.Group != "batch" || gvk.Version != "v1" || gvk.Kind != "Job" {
				t.Errorf("decoded as %v, want batch/v1 Job", gvk)
			}
			back, ok := obj.(*batchv1.Job)
			if !ok {
				t.Fatalf("decoded a %T", obj)
			}
			back.TypeMeta = job.TypeMeta // the decoder leaves it empty on typed objects
			if !equality.Semantic.DeepEqual(job, back) {
				t.Errorf("round trip changed the Job:\n%s", out)
			}
			var strict batchv1.Job
			if err := yaml.UnmarshalStrict(out, &strict); err != nil {
				t.Errorf("strict YAML decoding: %v", err)
			}
		})
	}
}

func TestK8sJobFields(t *testing.T) {
	p := smokePlan(t, 0, "cluster.mem=4G", "cluster.k8s.volume_claim=runs-pvc", "cluster.time=2:00:00")
	job, err := K8sJob(p)
	if err != nil {
		t.Fatal(err)
	}
	s := job.Spec
	if *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 2 || *s.Parallelism != 2 || *s.BackoffLimitPerIndex != 1 {
		t.Errorf("spec = %+v", s)
	}
	pod := s.Template.Spec
	if *pod.ActiveDeadlineSeconds != 7200 || pod.RestartPolicy != "Never" {
		t.Errorf("pod deadline %d, restart %s; want 7200, Never", *pod.ActiveDeadlineSeconds, pod.RestartPolicy)
	}
	c := pod.Containers[0]
	if got := c.Resources.Limits.Memory().String(); got != "4Gi" {
		t.Errorf("memory limit %s, want 4Gi", got)
	}
	cmd := strings.Join(c.Command, " ")
	for _, want := range []string{"--set output.dir=/runs", `--shard "$((JOB_COMPLETION_INDEX + 1))/2"`, "run experiments/smoke.yaml"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %q", cmd, want)
		}
	}
	if pod.Volumes[0].PersistentVolumeClaim.ClaimName != "runs-pvc" || c.VolumeMounts[0].MountPath != "/runs" {
		t.Errorf("volume %+v mounted as %+v", pod.Volumes, c.VolumeMounts)
	}
}

func TestMemQuantity(t *testing.T) {
	tests := []struct{ in, want string }{{"4G", "4Gi"}, {"512", "512Mi"}, {"100K", "100Ki"}, {"1T", "1Ti"}}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := memQuantity(tt.in)
			if err != nil || q.String() != tt.want {
				t.Errorf("memQuantity(%q) = %s, %v; want %s", tt.in, q.String(), err, tt.want)
			}
		})
	}
}

func TestDNSLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sftlab-lr_sweep", "sftlab-lr-sweep"},
		{"sftlab-Qwen3.sft_vs_instruction", "sftlab-qwen3-sft-vs-instruction"},
		{"sftlab-" + strings.Repeat("x", 60), "sftlab-" + strings.Repeat("x", 45)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := dnsLabel(tt.in, maxJobName); got != tt.want {
				t.Errorf("dnsLabel(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
