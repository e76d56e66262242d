package train_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/sftlab/sftlab/train"
)

// TestHostAdamWMatchesGraph checks that AdamW applied on the host (the pure-Go backend's
// default, with the SIMD and the portable kernel) gives the same bits as the update built into
// the step graph: losses, gradient norms, weights and both moments after every step, with
// clipping on (and biting) and off, weight decay, and gradient accumulation.
func TestHostAdamWMatchesGraph(t *testing.T) {
	data := randomData(12, 5)
	noClip := tinyConfig()
	noClip.MaxGradNorm = 0
	accum := tinyConfig()
	accum.BatchSize, accum.GradAccum = 2, 2
	tight := tinyConfig()
	tight.MaxGradNorm = 0.05 // clips every step
	for name, cfg := range map[string]train.Config{"clipped": tight, "unclipped": noClip, "accumulated": accum} {
		t.Run(name, func(t *testing.T) {
			run := func(use func(*train.Trainer)) ([]train.StepMetrics, map[string][]float32) {
				tr := newTrainer(t, cfg)
				use(tr)
				return runAll(t, tr, data)
			}
			host, hostW := run(func(tr *train.Trainer) {
				if !train.UpdatesOnHost(tr) {
					t.Fatal("the cpu backend does not update on the host")
				}
			})
			graph, graphW := run(train.UseGraphUpdate)
			scalar, scalarW := run(train.UseScalarUpdate)
			if name == "clipped" {
				for _, s := range host {
					if s.GradNorm <= cfg.MaxGradNorm {
						t.Fatalf("step %d: norm %g does not exceed max_grad_norm %g: clipping not exercised", s.Step, s.GradNorm, cfg.MaxGradNorm)
					}
				}
			}
			sameBits(t, "host vs graph", host, graph)
			sameBits(t, "portable kernel vs graph", scalar, graph)
			sameWeightBits(t, "host vs graph", hostW, graphW)
			sameWeightBits(t, "portable kernel vs graph", scalarW, graphW)
		})
	}
}

// runAll runs tr to its last step on data and returns every step's metrics and all variables.
func runAll(t *testing.T, tr *train.Trainer, data []train.Example) ([]train.StepMetrics, map[string][]float32) {
	t.Helper()
	var steps []train.StepMetrics
	if _, err := tr.Run(t.Context(), data, nil, train.Hooks{OnStep: func(m train.StepMetrics) error {
		steps = append(steps, m)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	return steps, variables(t, tr)
}

// sameWeightBits is sameWeights comparing bit patterns (so -0 ≠ +0 and NaN = NaN).
func sameWeightBits(t *testing.T, what string, a, b map[string][]float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d variables", what, len(a), len(b))
	}
	for path, va := range a {
		vb := b[path]
		if len(va) != len(vb) {
			t.Fatalf("%s: variable %s: %d vs %d values", what, path, len(va), len(vb))
		}
		for i := range va {
			if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
				t.Errorf("%s: variable %s differs at %d: %g vs %g", what, path, i, va[i], vb[i])
				break
			}
		}
	}
}

// variables returns a copy of every variable of tr's store (weights and AdamW moments).
func variables(t *testing.T, tr *train.Trainer) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range tr.Store().IterVariables() {
		value, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		out[v.Path()] = tensors.MustCopyFlatData[float32](value)
	}
	return out
}
