package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
)

// TestHugeLossIsDivergence trains at learning rate 1e3: the loss stays finite but grows far
// beyond the first step's, which train.divergence_factor calls divergence; with the check
// disabled the run finishes, as every such run used to.
func TestHugeLossIsDivergence(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	exp := filepath.Join("..", "..", "experiments", "smoke.yaml")
	tests := []struct {
		name       string
		factor     string
		wantCode   int
		wantStatus metrics.Status
	}{
		{"default factor", "", 1, metrics.StatusDiverged},
		{"check disabled", "0", 0, metrics.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := filepath.Join(t.TempDir(), "runs")
			args := []string{"run", exp, "--set", "output.dir=" + runs, "--set", "data.format=sft", "--set", "train.learning_rate=1e3",
				"--set", "train.max_steps=6", "--set", "eval.samples=0", "--quiet"}
			if tt.factor != "" {
				args = append(args, "--set", "train.divergence_factor="+tt.factor)
			}
			code, out, errOut := sftlab(t, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.wantCode, out, errOut)
			}
			dirs := runDirs(t, runs, "smoke")
			if len(dirs) != 1 {
				t.Fatalf("run folders %v, want 1", dirs)
			}
			r, err := metrics.ReadRunDir(dirs[0])
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.Status != tt.wantStatus {
				t.Fatalf("status %s (%s), want %s; losses %v", r.Info.Status, r.Info.Error, tt.wantStatus, r.Steps)
			}
			if tt.wantStatus == metrics.StatusDiverged && !strings.Contains(r.Info.Error, "the first step's loss") {
				t.Errorf("run.json error %q does not say why the run diverged", r.Info.Error)
			}
		})
	}
}

// TestReportNameValidated checks that `sftlab report` refuses names that would read or write
// outside runs/ and reports/, as run refuses them, and writes nothing.
func TestReportNameValidated(t *testing.T) {
	tmp := t.TempDir()
	t.Chdir(tmp)
	// A run folder that "../x" from runs/ would reach, and a report it would write beside it.
	if err := os.MkdirAll(filepath.Join("x", "0123456789ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "y/..", "/tmp/x", ".x", "a b", "x\x00"} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := sftlab(t, "report", name)
			if code != 2 || !strings.Contains(errOut, "is not a valid experiment name") {
				t.Fatalf("exit %d, want 2 with the name refused\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
	var files []string
	filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if len(files) > 0 {
		t.Errorf("files written: %v", files)
	}
}

// TestBadPretrainedWeightsStopTheSweep checks that a truncated or mismatched model.safetensors
// stops `sftlab run` before anything trains (exit 2, no run folder), instead of failing each
// run at its first step.
func TestBadPretrainedWeightsStopTheSweep(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		wantErr string
	}{
		{"truncated weights", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "model.safetensors")
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "file truncated"},
		{"config with more layers than the weights", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "config.json")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), `"num_hidden_layers": 2`, `"num_hidden_layers": 3`, 1))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "num_hidden_layers is 3 but the weights hold 2 layers"},
	}
	exp := filepath.Join("..", "..", "experiments", "qwen3_sft_vs_instruction.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pretrained := writeTinyQwen3(t, qwen3Vocab)
			tt.breakIt(t, pretrained)
			runs := filepath.Join(t.TempDir(), "runs")
			code, out, errOut := sftlab(t, "run", exp, "--set", "model.pretrained="+pretrained, "--set", "output.dir="+runs, "--quiet")
			if code != 2 || !strings.Contains(errOut, tt.wantErr) || !strings.Contains(errOut, "model.pretrained") {
				t.Fatalf("exit %d, want 2 naming model.pretrained and %q\nstdout: %s\nstderr: %s", code, tt.wantErr, out, errOut)
			}
			if dirs := runDirs(t, runs, "qwen3_sft_vs_instruction"); len(dirs) > 0 {
				t.Errorf("runs started despite the bad model: %v", dirs)
			}
		})
	}
}
