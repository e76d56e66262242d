package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestExtendsChain(t *testing.T) {
	inTempRepo(t, map[string]string{
		"configs/root.yaml": "name: root\ndescription: from root\ntrain:\n  max_steps: 50\n  batch_size: 4\n",
		// relative to the repository root, not to this file
		"configs/mid.yaml": "extends: configs/root.yaml\nname: mid\ntrain:\n  batch_size: 6\ndata:\n  format: sft\n",
		// relative to this file
		"experiments/x.yaml": "extends: ../configs/mid.yaml\ndata:\n  masking: eos_safe\n",
	})
	exp, err := Load("experiments/x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"experiments/x.yaml", "configs/mid.yaml", "configs/root.yaml"}; !slices.Equal(exp.Files, want) {
		t.Errorf("Files = %q, want %q", exp.Files, want)
	}
	want := Default()
	want.Name = "x" // a base's name is not inherited
	want.Description = "from root"
	want.Train.MaxSteps = 50
	want.Train.BatchSize = 6
	want.Data.Format = "sft"
	want.Data.Masking = "eos_safe"
	if !reflect.DeepEqual(exp.Base, want) {
		t.Errorf("Base =\n%+v\nwant\n%+v", exp.Base, want)
	}
	if exp.Name != "x" || exp.Path != "experiments/x.yaml" {
		t.Errorf("Name, Path = %q, %q", exp.Name, exp.Path)
	}
}

// Outside a checkout, `extends: configs/NAME.yaml` falls back to the embedded presets, and an
// embedded preset's own extends resolves among them.
func TestExtendsBuiltin(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"x.yaml": "extends: configs/tiny.yaml\nname: mine\n"})
	t.Chdir(dir)
	exp, err := Load("x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x.yaml", "builtin:configs/tiny.yaml", "builtin:configs/base.yaml"}; !slices.Equal(exp.Files, want) {
		t.Errorf("Files = %q, want %q", exp.Files, want)
	}
	disk, err := Load(filepath.Join(packageDir, "tiny.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Runs[0].ID != disk.Runs[0].ID {
		t.Errorf("embedded tiny.yaml gives id %s, the file on disk %s", exp.Runs[0].ID, disk.Runs[0].ID)
	}
	if exp.Name != "mine" {
		t.Errorf("Name = %q, want mine", exp.Name)
	}
}

// packageDir is the directory of this package, where go test starts.
var packageDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}()

func TestSetOverrides(t *testing.T) {
	inTempRepo(t, map[string]string{"x.yaml": "train:\n  max_steps: 50\n  learning_rate: 1.0e-3\n"})
	tests := []struct {
		name  string
		sets  []string
		check func(c Config) bool
	}{
		{"int over file", []string{"train.max_steps=70"}, func(c Config) bool { return c.Train.MaxSteps == 70 }},
		{"float in exponent notation", []string{"train.learning_rate=1e-4"}, func(c Config) bool { return c.Train.LearningRate == 1e-4 }},
		{"int where a number is wanted", []string{"train.weight_decay=1"}, func(c Config) bool { return c.Train.WeightDecay == 1 }},
		{"bool", []string{"model.tie_embeddings=true"}, func(c Config) bool { return c.Model.TieEmbeddings }},
		{"string", []string{"data.format=sft"}, func(c Config) bool { return c.Data.Format == "sft" }},
		{"empty string", []string{"backend.plugin="}, func(c Config) bool { return c.Backend.Plugin == "" }},
		{"later flag wins", []string{"train.max_steps=70", "train.max_steps=80"}, func(c Config) bool { return c.Train.MaxSteps == 80 }},
		{"name", []string{"name=other"}, func(c Config) bool { return c.Name == "other" }},
		{"a sweep from the command line", []string{"sweep.seeds=[1, 2]"}, func(c Config) bool { return slices.Equal(c.Sweep.Seeds, []int{1, 2}) }},
		{"a grid key with dots", []string{"sweep.grid.data.format=[sft, chat]"}, func(c Config) bool {
			return reflect.DeepEqual(c.Sweep.Grid["data.format"], []any{"sft", "chat"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := Load("x.yaml", tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(exp.Base) {
				t.Errorf("--set %q not applied: %+v", tt.sets, exp.Base)
			}
		})
	}
}

func TestPresetLayers(t *testing.T) {
	inTempRepo(t, map[string]string{
		"base.yaml":     "model:\n  preset: tiny\n  d_model: 96\n  n_heads: 3\ndata:\n  max_length: 128\n",
		"small.yaml":    "extends: base.yaml\nmodel:\n  preset: small\n",
		"explicit.yaml": "extends: base.yaml\nmodel:\n  preset: small\n  d_model: 512\n",
		"custom.yaml":   "extends: base.yaml\nmodel:\n  n_layers: 6\n",
		"swept.yaml":    "extends: base.yaml\nsweep:\n  grid:\n    model.preset: [t1, t2]\n",
	})
	size := func(name string) ModelSize { s, _ := Preset(name); return s }
	get := func(m ModelConfig) ModelSize {
		return ModelSize{DModel: m.DModel, NHeads: m.NHeads, NLayers: m.NLayers, DMLP: m.DMLP, Context: m.Context}
	}
	tiny := size("tiny")
	tests := []struct {
		file string
		sets []string
		want []ModelSize
	}{
		{"base.yaml", nil, []ModelSize{{96, 3, tiny.NLayers, tiny.DMLP, tiny.Context}}},
		{"small.yaml", nil, []ModelSize{size("small")}},
		{"explicit.yaml", nil, []ModelSize{func() ModelSize { s := size("small"); s.DModel = 512; return s }()}},
		{"custom.yaml", nil, []ModelSize{{96, 3, 6, tiny.DMLP, tiny.Context}}},
		{"explicit.yaml", []string{"model.preset=t2"}, []ModelSize{size("t2")}},
		{"swept.yaml", nil, []ModelSize{size("t1"), size("t2")}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.file, tt.sets), func(t *testing.T) {
			exp, err := Load(tt.file, tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			var got []ModelSize
			for _, r := range exp.Runs {
				got = append(got, get(r.Config.Model))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("sizes = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSweepExpansionGolden(t *testing.T) {
	inTempRepo(t, map[string]string{
		"base.yaml": "model:\n  preset: tiny\ntrain:\n  max_steps: 40\n",
		"x.yaml": `extends: base.yaml
sweep:
  grid:
    train.learning_rate: [1.0e-3, 3.0e-3]
    data.format: [sft, instruction]
  zip:
    train.max_steps: [20, 40]
    train.warmup_steps: [2, 4]
  seeds: [1, 2]
`,
	})
	exp, err := Load("x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Runs) != 2*2*2*2 {
		t.Errorf("%d runs, want 16", len(exp.Runs))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs\n", len(exp.Runs))
	for _, r := range exp.Runs {
		fmt.Fprintf(&b, "%s %s\n", r.ID, r.Name)
		for _, p := range r.Params {
			if got := r.Config.Flat()[p.Key]; FormatValue(got) != FormatValue(p.Value) {
				t.Errorf("run %s: %s = %v in its config, want %v", r.Name, p.Key, got, p.Value)
			}
		}
		if !r.Config.Sweep.Empty() {
			t.Errorf("run %s keeps a sweep", r.Name)
		}
	}
	golden(t, "sweep.golden", []byte(b.String()))

	again, err := Load("x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Runs, exp.Runs) {
		t.Error("a second Load expands differently")
	}
}
