package configs

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "30", want: 30 * time.Minute},
		{in: "30:15", want: 30*time.Minute + 15*time.Second},
		{in: "2:00:00", want: 2 * time.Hour},
		{in: "1-12", want: 36 * time.Hour},
		{in: "1-00:30", want: 24*time.Hour + 30*time.Minute},
		{in: "2-01:02:03", want: 49*time.Hour + 2*time.Minute + 3*time.Second},
		{in: "0", wantErr: "above zero"},
		{in: "1h", wantErr: "not a time limit"},
		{in: "1:2:3:4", wantErr: "not a time limit"},
		{in: "-5", wantErr: "not a time limit"},
		{in: "365-00", want: 365 * 24 * time.Hour},
		{in: "365-00:00:01", wantErr: "more than 365 days"},
		// Numbers past int64 once wrapped around into a limit of any sign.
		{in: "99999999999999999999-00", wantErr: "not a time limit"},
		{in: "999999999-00", wantErr: "more than 365 days"},
		{in: "999999999:999999999:999999999", wantErr: "more than 365 days"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimeLimit(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTimeLimit(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTimeLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestClusterErrors(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want []string
	}{
		{"cpus", []string{"cluster.cpus=0"}, []string{"--set cluster.cpus: must be in [1, 1048576], got 0"}},
		{"memory unit", []string{"cluster.mem=4GB"}, []string{`--set cluster.mem: "4GB" is not a memory size`}},
		{"time", []string{"cluster.time=1h"}, []string{`--set cluster.time: "1h" is not a time limit`}},
		{"gpus and parallel", []string{"cluster.gpus=-1", "cluster.parallel=-2"}, []string{
			"--set cluster.gpus: must be in [0, 1048576], got -1", "--set cluster.parallel: must be in [0, 2147483647], got -2"}},
		// Kubernetes counts are int32: larger ones wrapped around to negative numbers.
		{"int32 counts", []string{"cluster.parallel=4294967297", "cluster.k8s.backoff_limit_per_index=2147483648"}, []string{
			"--set cluster.parallel: must be in [0, 2147483647], got 4294967297",
			"--set cluster.k8s.backoff_limit_per_index: must be in [0, 2147483647], got 2147483648"}},
		// A line break in a name written into an #SBATCH line would start a command of its own.
		{"partition with a line break", []string{`cluster.slurm.partition="gpu\nrm -rf ~"`}, []string{`--set cluster.slurm.partition: "gpu\nrm -rf ~" is not a partition name`}},
		{"account with a space", []string{`cluster.slurm.account=a b`}, []string{`--set cluster.slurm.account: "a b" is not an account name`}},
		{"extra with a carriage return", []string{`cluster.slurm.extra=["--qos=x\rexec sh"]`}, []string{`is not an sbatch option`}},
		{"memory digits", []string{"cluster.mem=9999999999999999T"}, []string{`"9999999999999999T" is not a memory size`}},
		{"extra line", []string{"cluster.slurm.extra=[qos=short]"}, []string{`--set cluster.slurm.extra: cluster.slurm.extra.0: "qos=short" is not an sbatch option`}},
		{"mount path", []string{"cluster.k8s.mount_path=runs"}, []string{`--set cluster.k8s.mount_path: "runs" must be an absolute path`}},
		{"not sweepable", []string{"sweep.grid.cluster.cpus=[1, 2]"}, []string{"--set sweep.grid.cluster.cpus: cannot be swept"}},
		{"unknown key", []string{"cluster.partition=gpu"}, []string{"did you mean cluster.slurm.partition?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempRepo(t, map[string]string{"x.yaml": testBase})
			_, err := Load("x.yaml", tt.sets)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestClusterFromFileAndSet(t *testing.T) {
	inTempRepo(t, map[string]string{"x.yaml": testBase + "cluster:\n  cpus: 4\n  mem: 8G\n  slurm:\n    partition: short\n    extra: [--qos=low]\n"})
	exp, err := Load("x.yaml", []string{"cluster.mem=16G", "cluster.time=01:00:00"})
	if err != nil {
		t.Fatal(err)
	}
	c := exp.Base.Cluster
	if c.CPUs != 4 || c.Mem != "16G" || c.Time != "01:00:00" || c.Slurm.Partition != "short" ||
		len(c.Slurm.Extra) != 1 || c.Slurm.Extra[0] != "--qos=low" || c.K8s.Image != Default().Cluster.K8s.Image {
		t.Errorf("cluster = %+v", c)
	}
}

// FuzzParseTimeLimit feeds mutated time limits to ParseTimeLimit: it must never panic, and a
// limit it accepts must be whole seconds above zero and at most MaxTimeLimit.
func FuzzParseTimeLimit(f *testing.F) {
	for _, s := range []string{"30", "30:15", "2:00:00", "1-12", "1-00:30", "2-01:02:03", "0", "1h",
		"99999999999999999999-00", "999999999-00", "365-00", "9223372036854775807", "1-1-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeLimit(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("an error (%v) with a limit %v", err, d)
			}
			return
		}
		if d <= 0 || d > MaxTimeLimit || d%time.Second != 0 {
			t.Fatalf("ParseTimeLimit(%q) = %v", s, d)
		}
	})
}
