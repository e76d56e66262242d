package configs

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestMaxRuns checks that LoadContext refuses a sweep over its run limit before expanding it,
// giving the count, and that the limit can be raised or lifted.
func TestMaxRuns(t *testing.T) {
	seeds := make([]string, 10000)
	for i := range seeds {
		seeds[i] = fmt.Sprint(i + 1)
	}
	huge := "extends: base.yaml\nsweep:\n  grid:\n    data.format: [sft, instruction]\n  seeds: [" + strings.Join(seeds, ", ") + "]\n"
	tests := []struct {
		name     string
		file     string
		sets     []string
		max      int
		wantRuns int
		wantErr  string
	}{
		{"20,000 runs over the default limit", huge, nil, 0, 0, "x.yaml:2: sweep: expands to 20000 runs, more than the limit of 1000: allow them with --max-runs 20000"},
		{"over a lower limit", sweepFile, nil, 10, 0, "expands to 24 runs, more than the limit of 10"},
		{"at the limit", sweepFile, nil, 24, 24, ""},
		{"no limit", sweepFile, nil, -1, 24, ""},
		{"a --set that narrows the sweep under the limit", sweepFile, []string{"train.learning_rate=1e-3", "data.format=sft"}, 10, 4, ""},
		{"a product that overflows", "extends: base.yaml\nsweep:\n  grid:\n" + overflowGrid(), nil, 0, 0, "expands to more than 9223372036854775807 runs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempRepo(t, map[string]string{"base.yaml": testBase, "x.yaml": tt.file})
			exp, err := LoadContext(context.Background(), "x.yaml", tt.sets, LoadOptions{MaxRuns: tt.max})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(exp.Runs) != tt.wantRuns {
				t.Fatalf("err %v, want %d runs", err, tt.wantRuns)
			}
		})
	}
}

// overflowGrid is a grid of eight keys with 1000 values each: 10^24 runs, more than an int holds.
func overflowGrid() string {
	vals := make([]string, 1000)
	for i := range vals {
		vals[i] = fmt.Sprint(i + 1)
	}
	list := "[" + strings.Join(vals, ", ") + "]"
	var b strings.Builder
	for _, k := range []string{"train.seed", "train.max_steps", "data.split_seed", "eval.every", "train.batch_size", "eval.batch_size", "eval.max_new_tokens", "train.grad_accum"} {
		b.WriteString("    " + k + ": " + list + "\n")
	}
	return b.String()
}

// BenchmarkRefuseHugeSweep measures refusing a 20,000-run sweep: the count is checked before
// any run is expanded.
func BenchmarkRefuseHugeSweep(b *testing.B) {
	seeds := make([]string, 10000)
	for i := range seeds {
		seeds[i] = fmt.Sprint(i + 1)
	}
	inTempRepo(b, map[string]string{"base.yaml": testBase, "x.yaml": "extends: base.yaml\nsweep:\n  grid:\n    data.format: [sft, instruction]\n  seeds: [" + strings.Join(seeds, ", ") + "]\n"})
	for b.Loop() {
		if _, err := LoadContext(context.Background(), "x.yaml", nil, LoadOptions{}); err == nil {
			b.Fatal("not refused")
		}
	}
}
