package configs

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "update golden files")

// golden compares got with testdata/name, rewriting the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(packageDir, "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from golden file (go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// writeFiles writes files (path → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// inTempRepo makes a temporary repository root (with go.mod), writes files there and changes
// into it, so that error messages carry short relative paths.
func inTempRepo(t testing.TB, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/x\n"})
	writeFiles(t, dir, files)
	t.Chdir(dir)
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default() is invalid:\n%v", err)
	}
	tiny, _ := Preset("tiny")
	if got := Default().Model.WithSize(tiny); !reflect.DeepEqual(got, Default().Model) {
		t.Errorf("Default model dimensions %+v differ from the tiny preset %+v", Default().Model, tiny)
	}
}

// base.yaml restates the defaults for reading; it must not drift from Default().
func TestBaseYAMLEqualsDefault(t *testing.T) {
	exp, err := Load("base.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Name = "base"
	if !reflect.DeepEqual(exp.Base, want) {
		t.Errorf("base.yaml resolves to\n%+v\nwant Default()\n%+v", exp.Base, want)
	}
	// Every key but the preset's dimensions and the optional sections is written out.
	data, err := os.ReadFile("base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	k := koanf.New(".")
	if err := k.Load(mapProviderFromYAML(t, data), nil); err != nil {
		t.Fatal(err)
	}
	skip := []string{"name", "description", "model.d_model", "model.n_heads", "model.n_layers", "model.d_mlp", "model.context"}
	for key := range Default().Flat() {
		if !slices.Contains(skip, key) && !k.Exists(key) {
			t.Errorf("base.yaml does not set %s", key)
		}
	}
}

func mapProviderFromYAML(t *testing.T, data []byte) mapProvider {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return mapProvider(m)
}

func TestPresetsLoad(t *testing.T) {
	for _, name := range []string{"base.yaml", "tiny.yaml"} {
		t.Run(name, func(t *testing.T) {
			exp, err := Load(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(exp.Runs) != 1 || exp.Runs[0].Name != "default" {
				t.Errorf("runs = %+v, want one run named default", exp.Runs)
			}
		})
	}
}

// The experiment files of the repository must load and validate.
func TestRepositoryExperimentsLoad(t *testing.T) {
	files, _ := filepath.Glob("../experiments/*.yaml")
	if len(files) == 0 {
		t.Skip("no experiment files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			exp, err := Load(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(exp.Runs) == 0 {
				t.Error("no runs")
			}
		})
	}
}

// Unlike koanf's default, decoding is strict: a quoted number is not an integer, 1 is not a
// boolean, and unknown keys are refused.
func TestWeakTypingIsOff(t *testing.T) {
	k := koanf.New(".")
	if err := k.Load(mapProvider{"train": map[string]any{"max_steps": "30", "bogus": 1}, "model": map[string]any{"tie_embeddings": 1}}, nil); err != nil {
		t.Fatal(err)
	}
	// koanf's own default converts and ignores: this is what we must not do.
	var loose Config
	if err := k.UnmarshalWithConf("", &loose, koanf.UnmarshalConf{Tag: "yaml"}); err != nil {
		t.Fatalf("koanf default decoding failed: %v", err)
	}
	if loose.Train.MaxSteps != 30 || !loose.Model.TieEmbeddings {
		t.Fatalf("koanf default no longer weakly typed (got %+v): revisit decoderConfig", loose.Train)
	}
	dc := decoderConfig()
	if !dc.ErrorUnused || dc.WeaklyTypedInput {
		t.Fatalf("decoderConfig: ErrorUnused=%v WeaklyTypedInput=%v, want true, false", dc.ErrorUnused, dc.WeaklyTypedInput)
	}
	cfg := Default()
	got := decode(k, &cfg, false)
	var keys []string
	for _, p := range got {
		keys = append(keys, p.Key+": "+p.Msg)
	}
	slices.Sort(keys)
	want := []string{
		`model.tie_embeddings: wrong type: want true or false, got the integer 1`,
		`train.max_steps: wrong type: want an integer, got the string "30"`,
		`train: unknown keys: bogus`,
	}
	if !slices.Equal(keys, want) {
		t.Errorf("strict decode problems:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkLoadSweep loads tiny.yaml (two files) with an 18-run sweep given as --set flags.
func BenchmarkLoadSweep(b *testing.B) {
	sets := []string{"sweep.grid.data.format=[sft, instruction]", "sweep.grid.train.learning_rate=[1e-3, 3e-3, 1e-2]", "sweep.seeds=[1, 2, 3]"}
	for b.Loop() {
		exp, err := Load("tiny.yaml", sets)
		if err != nil || len(exp.Runs) != 18 {
			b.Fatalf("Load: %v", err)
		}
	}
}
