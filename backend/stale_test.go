package backend_test

import (
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/backend"
)

// readTwice builds a graph that reads a variable (not marked as training), runs it, changes the
// variable and runs the cached graph again, returning both results.
func readTwice(t *testing.T, be compute.Backend) (first, second float32) {
	t.Helper()
	store := model.NewStore()
	w := store.VariableWithValue("/w", float32(1))
	exec, err := model.NewExec1(be, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return graph.Mul(x, w.ValueGraph(x))
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func() float32 {
		out, err := exec.Call(float32(3))
		if err != nil {
			t.Fatal(err)
		}
		return tensors.ToScalar[float32](out)
	}
	first = run()
	if err := w.SetValue(tensors.FromValue(float32(2))); err != nil {
		t.Fatal(err)
	}
	return first, run()
}

// TestCachedGraphSeesNewWeights guards against graphs that keep computing with the weights they
// were built with. The Go backend advertises PreferConstantsForVariables, and GoMLX then bakes a
// variable's value into any graph not marked as training; sftlab caches its eval, accumulation
// and generation graphs, so every "cpu" backend must hide that capability.
func TestCachedGraphSeesNewWeights(t *testing.T) {
	tests := []struct {
		name string
		cfg  backend.Config
	}{
		{"default", backend.Config{Name: backend.CPU}},
		{"no layout rewrite", backend.Config{Name: backend.CPU, DisableLayoutRewrite: true}},
		{"no rewrite, no fusion", backend.Config{Name: backend.CPU, DisableLayoutRewrite: true, DisableFusion: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be, err := backend.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer be.Finalize()
			if be.Capabilities().PreferConstantsForVariables {
				t.Error("backend advertises PreferConstantsForVariables")
			}
			first, second := readTwice(t, be)
			if first != 3 || second != 6 {
				t.Errorf("x·w with w 1 then 2 gave %v then %v, want 3 then 6 (stale weights)", first, second)
			}
		})
	}
	// The undecorated Go backend shows the trap this test guards against; if a GoMLX upgrade
	// removes it, the decorator's override is no longer needed.
	raw, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Finalize()
	if _, second := readTwice(t, raw); second != 6 {
		t.Logf("the plain Go backend computed with stale weights (%v), as expected", second)
	} else {
		t.Logf("the plain Go backend no longer bakes weights into graphs")
	}
}
