package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestIDStability(t *testing.T) {
	inTempRepo(t, map[string]string{
		"a.yaml": "train:\n  max_steps: 40\n  learning_rate: 1.0e-3\ndata:\n  format: sft\n",
		// the same values, keys in another order, the float written differently
		"b.yaml": "data:\n  format: sft\ntrain:\n  learning_rate: 0.001\n  max_steps: 40\n",
		// the same values, with fields that do not change training
		"c.yaml": "name: other\ndescription: text\noutput:\n  dir: elsewhere\neval:\n  generate_every: 5\nreport:\n  baseline: format=sft\n" +
			"regress:\n  tolerances:\n    eval_loss: {abs: 0.1, rel: 0}\ndata:\n  format: sft\ntrain:\n  learning_rate: 0.001\n  max_steps: 40\n",
		// the same values, run on a cluster with its own resources
		"e.yaml": "cluster:\n  cpus: 8\n  mem: 16G\n  time: \"2:00:00\"\n  slurm:\n    partition: gpu\n    extra: [--qos=short]\n" +
			"data:\n  format: sft\ntrain:\n  learning_rate: 0.001\n  max_steps: 40\n",
		// the cpu backend's schedule: same results
		"f.yaml": "backend:\n  schedule: sequential\ndata:\n  format: sft\ntrain:\n  learning_rate: 0.001\n  max_steps: 40\n",
		// one value differs
		"d.yaml": "train:\n  max_steps: 41\n  learning_rate: 1.0e-3\ndata:\n  format: sft\n",
	})
	id := func(file string) string {
		t.Helper()
		exp, err := Load(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		return exp.Runs[0].ID
	}
	a := id("a.yaml")
	if len(a) != 12 {
		t.Errorf("id %q is not 12 hex digits", a)
	}
	tests := []struct {
		file string
		same bool
	}{{"b.yaml", true}, {"c.yaml", true}, {"e.yaml", true}, {"f.yaml", true}, {"d.yaml", false}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := id(tt.file); (got == a) != tt.same {
				t.Errorf("id(%s) = %s, id(a.yaml) = %s, want same = %v", tt.file, got, a, tt.same)
			}
		})
	}
	for _, key := range []string{"train.learning_rate", "train.seed", "data.format", "model.d_model", "backend.name", "eval.every", "data.packing"} {
		if !AffectsResults(key) {
			t.Errorf("%s is left out of the id but changes results", key)
		}
	}
}

// The default config's rendering and run ID are pinned: a change to either changes every run ID
// and the resolved config.yaml of every run.
func TestDefaultYAMLGolden(t *testing.T) {
	c := Default()
	c.Name = "classroom"
	b, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "default.yaml.golden", b)
	golden(t, "default.canonical.golden", []byte(c.Canonical()+"id "+c.ID()+"\n"))
}

// A run's config.yaml loads back to the same config and id.
func TestYAMLRoundTrip(t *testing.T) {
	inTempRepo(t, map[string]string{"x.yaml": `name: rt
description: |
  two lines
  of text
model:
  preset: small
  tie_embeddings: true
train:
  learning_rate: 3.0e-4
  weight_decay: 0.1
regress:
  tolerances:
    eval_loss: {abs: 0.01, rel: 0}
sweep:
  grid:
    data.format: [sft, chat]
`})
	exp, err := Load("x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exp.Runs {
		b, err := r.Config.YAML()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := Load(path, nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", r.Name, err, b)
		}
		if !reflect.DeepEqual(back.Base, r.Config) || back.Runs[0].ID != r.ID || back.Name != "rt" {
			t.Errorf("%s: round trip gives\n%+v (id %s)\nwant\n%+v (id %s)", r.Name, back.Base, back.Runs[0].ID, r.Config, r.ID)
		}
	}
}

func TestFlat(t *testing.T) {
	c := Default()
	c.Regress.Tolerances = map[string]Tolerance{"eval_loss": {Abs: 0.5}}
	c.Sweep.Grid = map[string][]any{"data.format": {"sft"}}
	f := c.Flat()
	tests := []struct {
		key  string
		want any
	}{
		{"train.learning_rate", 5e-5},
		{"model.d_model", 128},
		{"report.only_changed", true},
		{"regress.tolerances.eval_loss.abs", 0.5},
		{"sweep.grid.data.format", []any{"sft"}},
	}
	for _, tt := range tests {
		if got := f[tt.key]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Flat()[%s] = %#v, want %#v", tt.key, got, tt.want)
		}
	}
	if _, ok := f["sweep.seeds"]; ok {
		t.Error("an empty list is in Flat")
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{1e-4, "1e-4"},
		{5e-5, "5e-5"},
		{3e-3, "3e-3"},
		{0.01, "0.01"},
		{0.2, "0.2"},
		{1.0, "1"},
		{1e6, "1e6"},
		{2.5e-4, "2.5e-4"},
		{-1e-3, "-1e-3"},
		{42, "42"},
		{"sft", "sft"},
		{true, "true"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.in); got != tt.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatches(t *testing.T) {
	c := Default()
	c.Data.Format = "sft"
	c.Train.LearningRate = 1e-4
	c.Train.Seed = 1
	tests := []struct {
		sel     string
		want    bool
		wantErr string
	}{
		{"", true, ""},
		{"format=sft", true, ""},
		{"format=instruction", false, ""},
		{"data.format=sft,lr=1e-4", true, ""},
		{"lr=0.0001, seed=1", true, ""},
		{"seed=2", false, ""},
		{"fromat=sft", false, "not a config key (did you mean data.format?)"},
		{"format", false, "want key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			got, err := c.Matches(tt.sel)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Matches(%q) error = %v, want one containing %q", tt.sel, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Matches(%q) = %v, %v, want %v", tt.sel, got, err, tt.want)
			}
		})
	}
}

// Validate on its own names keys but no file.
func TestValidateAllAtOnce(t *testing.T) {
	c := Default()
	c.Train.LearningRate = 0
	c.Train.MaxSteps = -1
	c.Model.NHeads = 5
	c.Backend.Name = "tpu"
	c.Backend.Schedule = "serial"
	err := c.Validate()
	want := strings.Join([]string{
		`backend.name: "tpu" is not one of cpu, gpu (did you mean cpu?)`,
		`backend.schedule: "serial" is not one of auto, parallel, sequential`,
		"model.n_heads: model.d_model 128 is not divisible by n_heads 5",
		"train.learning_rate: must be a finite number > 0, got 0",
		"train.max_steps: must be > 0, got -1",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
}

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"learing_rate", "learning_rate", 1}, {"kitten", "sitting", 3}, {"指令", "指示", 1},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
