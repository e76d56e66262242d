package configs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// seedSweep is an experiment file sweeping two formats and two learning rates over n/4 seeds:
// n runs (n a multiple of 4).
func seedSweep(n int) string {
	seeds := make([]string, n/4)
	for i := range seeds {
		seeds[i] = fmt.Sprint(i + 1)
	}
	return "extends: base.yaml\nsweep:\n  grid:\n    data.format: [sft, instruction]\n    train.learning_rate: [1.0e-3, 3.0e-3]\n  seeds: [" + strings.Join(seeds, ", ") + "]\n"
}

// TestExpandLinear checks that expanding a sweep costs the same per run whatever its size: the
// allocations per run of a 1,600-run sweep are at most a quarter above those of a 200-run one
// (the fixed cost of reading the files weighs more on the small one). Allocation counts, unlike
// timings, do not depend on the machine's load.
func TestExpandLinear(t *testing.T) {
	inTempRepo(t, map[string]string{"base.yaml": testBase, "small.yaml": seedSweep(200), "large.yaml": seedSweep(1600)})
	perRun := func(file string, n int) float64 {
		return testing.AllocsPerRun(1, func() {
			exp, err := LoadContext(context.Background(), file, nil, LoadOptions{MaxRuns: -1})
			if err != nil || len(exp.Runs) != n {
				t.Fatalf("%s: %v, want %d runs", file, err, n)
			}
		}) / float64(n)
	}
	small, large := perRun("small.yaml", 200), perRun("large.yaml", 1600)
	t.Logf("allocations per run: %.0f for 200 runs, %.0f for 1600", small, large)
	if large > 1.25*small {
		t.Errorf("allocations per run: %.0f for 200 runs, %.0f for 1600: expansion grows faster than the run count", small, large)
	}
}

// TestSweptRunsResolveAsSet checks each run of a sweep against the same file loaded with the
// run's values given by --set (which replaces each axis by its one value): both must resolve to
// the same config. The sweeps reach nested keys, a preset that sets other keys, and lists.
func TestSweptRunsResolveAsSet(t *testing.T) {
	files := map[string]string{
		"base.yaml":  testBase,
		"plain.yaml": sweepFile,
		"nested.yaml": "extends: base.yaml\nmodel:\n  pretrained: /m\n  lora:\n    targets: [q_proj, v_proj]\n" +
			"sweep:\n  grid:\n    model.lora.rank: [4, 16]\n    model.lora.alpha: [8, 32]\n    data.masking: [pad, completion_only]\n  seeds: [1, 2]\n",
		"preset.yaml": "extends: base.yaml\ndata:\n  max_length: 64\nmodel:\n  d_model: 96\nsweep:\n  grid:\n    model.preset: [t1, t2]\n    eval.every: [0, 5]\n  seeds: [1, 2]\n",
	}
	inTempRepo(t, files)
	for _, file := range []string{"plain.yaml", "nested.yaml", "preset.yaml"} {
		t.Run(file, func(t *testing.T) {
			exp, err := Load(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(exp.Runs) < 8 {
				t.Fatalf("%d runs, want at least 8", len(exp.Runs))
			}
			for _, run := range exp.Runs {
				var sets []string
				for _, p := range run.Params {
					sets = append(sets, p.Key+"="+FormatValue(p.Value))
				}
				one, err := Load(file, sets)
				if err != nil {
					t.Fatalf("run %s: %v", run.Name, err)
				}
				if len(one.Runs) != 1 {
					t.Fatalf("run %s: the sets leave %d runs, want 1", run.Name, len(one.Runs))
				}
				if got, want := run.Config.Canonical(), one.Runs[0].Config.Canonical(); got != want {
					t.Errorf("run %s resolves to\n%s\nwith --set %v to\n%s", run.Name, got, sets, want)
				}
			}
		})
	}
}

// TestLoadContextStops checks that a cancelled context stops the expansion of a sweep with the
// context's error.
func TestLoadContextStops(t *testing.T) {
	inTempRepo(t, map[string]string{"base.yaml": testBase, "x.yaml": seedSweep(2000)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	exp, err := LoadContext(ctx, "x.yaml", nil, LoadOptions{MaxRuns: -1})
	if !errors.Is(err, context.Canceled) || exp != nil {
		t.Fatalf("LoadContext = %v, %v; want no experiment and context.Canceled", exp, err)
	}
	if exp, err := LoadContext(context.Background(), "x.yaml", nil, LoadOptions{MaxRuns: -1}); err != nil || len(exp.Runs) != 2000 {
		t.Fatalf("LoadContext without cancelling: %v, want 2000 runs", err)
	}
}

// BenchmarkExpandSweep loads and expands sweeps of 2,000, 8,000 and 20,000 runs. The time per
// run (ns/run) stays flat when expansion is linear in the number of runs.
func BenchmarkExpandSweep(b *testing.B) {
	for _, n := range []int{2000, 8000, 20000} {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			inTempRepo(b, map[string]string{"base.yaml": testBase, "x.yaml": seedSweep(n)})
			b.ReportAllocs()
			for b.Loop() {
				exp, err := LoadContext(context.Background(), "x.yaml", nil, LoadOptions{MaxRuns: -1})
				if err != nil {
					b.Fatal(err)
				}
				if len(exp.Runs) != n {
					b.Fatalf("%d runs, want %d", len(exp.Runs), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/run")
		})
	}
}
