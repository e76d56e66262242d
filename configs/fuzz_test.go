package configs

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds mutated experiment files and --set flags to Load: it must return an
// experiment or an error, never panic, and every run of an experiment it accepts must be
// valid and render to a config.yaml that loads back as that one run.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"lr_sweep.yaml", "smoke.yaml", "masking.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "experiments", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "train.learning_rate=1e-3")
	}
	f.Add([]byte(sweepFile), "sweep.seeds=[1, 2]")
	f.Add([]byte("a: &a [*a, *a]\n"), "data={format: chat}")
	f.Add([]byte("extends: configs/tiny.yaml\nsweep:\n  zip:\n    train.max_steps: [10, 20]\n    train.warmup_steps: [1, 2]\n"), "train.max_steps=5")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(testBase), 0o644); err != nil {
			t.Fatal(err)
		}
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		exp, err := Load(path, sets)
		if err != nil {
			return
		}
		if len(exp.Runs) == 0 {
			t.Fatal("an experiment without runs")
		}
		for _, r := range exp.Runs[:min(len(exp.Runs), 3)] {
			if err := r.Config.Validate(); err != nil {
				t.Fatalf("run %s is invalid: %v", r.Name, err)
			}
			yml, err := r.Config.YAML()
			if err != nil {
				t.Fatalf("run %s: %v", r.Name, err)
			}
			back := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(back, yml, 0o644); err != nil {
				t.Fatal(err)
			}
			again, err := Load(back, nil)
			if err != nil || len(again.Runs) != 1 || again.Runs[0].ID != r.ID {
				t.Fatalf("run %s: its config.yaml does not load back as itself: %v\n%s", r.Name, err, yml)
			}
		}
	})
}
