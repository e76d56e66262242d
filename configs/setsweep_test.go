package configs

import (
	"slices"
	"strings"
	"testing"
)

// sweepFile sweeps a grid, a zip and seeds: 2 × 3 × 2 × 2 = 24 runs.
const sweepFile = `extends: base.yaml
sweep:
  grid:
    data.format: [sft, instruction]
    train.learning_rate: [1.0e-3, 3.0e-3, 1.0e-2]
  zip:
    train.max_steps: [20, 40]
    train.warmup_steps: [2, 4]
  seeds: [1, 2]
`

// TestSetOfSweptKey checks that a --set of a key the sweep varies replaces that axis by its
// value (reported in SweepOverrides), and that the value is validated and located on the --set.
func TestSetOfSweptKey(t *testing.T) {
	tests := []struct {
		name      string
		sets      []string
		wantRuns  int
		wantNames []string // some of the run names
		wantAxes  []string // SweepOverride.Axis, in order
		wantErr   []string // the lines of the error, in order
	}{
		{name: "no --set", wantRuns: 24},
		{name: "unswept key", sets: []string{"data.masking=eos_safe"}, wantRuns: 24},
		{
			name: "grid key", sets: []string{"train.learning_rate=5e-4"}, wantRuns: 8,
			wantNames: []string{"format=sft,lr=5e-4,steps=20,seed=1,warmup=2"}, wantAxes: []string{"sweep.grid.train.learning_rate"},
		},
		{
			name: "zip key, the others still zipped", sets: []string{"train.max_steps=30"}, wantRuns: 24,
			wantNames: []string{"format=sft,lr=1e-3,steps=30,seed=1,warmup=2", "format=sft,lr=1e-3,steps=30,seed=1,warmup=4"}, wantAxes: []string{"sweep.zip.train.max_steps"},
		},
		{
			name: "seed", sets: []string{"train.seed=7"}, wantRuns: 12,
			wantNames: []string{"format=instruction,lr=0.01,steps=40,seed=7,warmup=4"}, wantAxes: []string{"sweep.seeds"},
		},
		{
			name: "two keys, one as a section", sets: []string{"data={format: chat}", "train.learning_rate=1e-3"}, wantRuns: 4,
			wantAxes: []string{"sweep.grid.data.format", "sweep.grid.train.learning_rate"},
		},
		{name: "the axis itself", sets: []string{"sweep.grid.train.learning_rate=[1e-4]"}, wantRuns: 8},
		{
			name: "invalid enum", sets: []string{"data.format=foo"},
			wantErr: []string{`--set data.format: "foo" is not one of sft, instruction, chat`},
		},
		{
			name: "invalid number", sets: []string{"train.learning_rate=-1"},
			wantErr: []string{"--set train.learning_rate: must be a finite number > 0, got -1"},
		},
		{
			name: "wrong type", sets: []string{"train.learning_rate=fast"},
			wantErr: []string{`--set train.learning_rate: wrong type: want a number, got the string "fast"`},
		},
		{
			name: "value and axis both set", sets: []string{"train.learning_rate=1e-3", "sweep.grid.train.learning_rate=[1e-4, 1e-3]"},
			wantErr: []string{"--set train.learning_rate: also swept by --set sweep.grid.train.learning_rate: give one or the other"},
		},
		{
			name: "seed and seeds both set", sets: []string{"train.seed=3", "sweep.seeds=[1]"},
			wantErr: []string{"--set train.seed: also swept by --set sweep.seeds: give one or the other"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempRepo(t, map[string]string{"base.yaml": testBase, "x.yaml": sweepFile})
			exp, err := Load("x.yaml", tt.sets)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Load succeeded with %d runs, want errors:\n%s", len(exp.Runs), strings.Join(tt.wantErr, "\n"))
				}
				if got, want := err.Error(), strings.Join(tt.wantErr, "\n"); got != want {
					t.Errorf("errors:\n%s\nwant:\n%s", got, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(exp.Runs) != tt.wantRuns {
				t.Errorf("%d runs, want %d", len(exp.Runs), tt.wantRuns)
			}
			var names, axes []string
			for _, r := range exp.Runs {
				names = append(names, r.Name)
			}
			for _, o := range exp.SweepOverrides {
				axes = append(axes, o.Axis)
				if o.Runs != len(exp.Runs) || o.RunsBefore != 24 {
					t.Errorf("override %s counts %d runs instead of %d, want %d instead of 24", o, o.Runs, o.RunsBefore, len(exp.Runs))
				}
			}
			for _, n := range tt.wantNames {
				if !slices.Contains(names, n) {
					t.Errorf("no run %q among %v", n, names)
				}
			}
			if !slices.Equal(axes, tt.wantAxes) {
				t.Errorf("overridden axes %v, want %v", axes, tt.wantAxes)
			}
		})
	}
}

// TestSetOfSweptKeyKeepsRunIdentity checks that setting a swept key to one of its swept values
// gives exactly that sweep point: the same id and name, so finished runs are reused and the
// regression gate compares like with like.
func TestSetOfSweptKeyKeepsRunIdentity(t *testing.T) {
	inTempRepo(t, map[string]string{"base.yaml": testBase, "x.yaml": sweepFile})
	all, err := Load("x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	one, err := Load("x.yaml", []string{"train.learning_rate=3e-3", "data.format=sft", "train.seed=2", "train.max_steps=40", "train.warmup_steps=4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(one.Runs))
	}
	i := slices.IndexFunc(all.Runs, func(r Run) bool { return r.ID == one.Runs[0].ID })
	if i < 0 || all.Runs[i].Name != one.Runs[0].Name {
		t.Fatalf("run %s (%s) is not a point of the sweep", one.Runs[0].Name, one.Runs[0].ID)
	}
	if got := one.SweepOverrides[0].String(); !strings.Contains(got, "--set data.format=sft replaces the swept values sweep.grid.data.format [sft, instruction]") ||
		!strings.Contains(got, "--set 'sweep.grid.data.format=[...]'") {
		t.Errorf("override message %q", got)
	}
}

// TestSetPresetKeepsSweptDimension checks that --set model.preset, which sets the preset's
// dimensions, does not count as a --set of a swept dimension.
func TestSetPresetKeepsSweptDimension(t *testing.T) {
	inTempRepo(t, map[string]string{"base.yaml": testBase, "x.yaml": "extends: base.yaml\nsweep:\n  grid:\n    model.d_model: [64, 256]\n"})
	exp, err := Load("x.yaml", []string{"model.preset=small"})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Runs) != 2 || len(exp.SweepOverrides) != 0 {
		t.Fatalf("%d runs, overrides %v; want the 2 swept runs and none", len(exp.Runs), exp.SweepOverrides)
	}
}
