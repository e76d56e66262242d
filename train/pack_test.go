package train_test

import (
	"math"
	"slices"
	"testing"

	"github.com/sftlab/sftlab/train"
)

// closeTo reports whether a and b agree to a relative tolerance (float32 sums in another order).
func closeTo(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

// TestPackedEqualsUnpacked checks that packing changes only the layout: the eval loss of the
// same examples and every step of a training run (loss, gradient norm, tokens) agree with the
// unpacked run to float tolerance, and so do the trained weights.
func TestPackedEqualsUnpacked(t *testing.T) {
	data := randomData(10, 3) // 4 to 12 tokens each, in rows of up to 16
	for _, padding := range []string{train.PadLongest, train.PadMaxLength} {
		t.Run(padding, func(t *testing.T) {
			plain := tinyConfig()
			plain.Padding, plain.MaxLength, plain.EvalBatchSize = padding, tinyModel.Context, 5
			packed := plain
			packed.Pack = true

			a, err := newTrainer(t, plain).Evaluate("valid", data)
			if err != nil {
				t.Fatal(err)
			}
			b, err := newTrainer(t, packed).Evaluate("valid", data)
			if err != nil {
				t.Fatal(err)
			}
			if a.Tokens != b.Tokens || !closeTo(a.Loss, b.Loss, 1e-5) || !closeTo(a.TokenAccuracy, b.TokenAccuracy, 1e-9) {
				t.Errorf("eval unpacked %+v, packed %+v", a, b)
			}

			ref, refW, _ := trace(t, plain, data, -1)
			got, gotW, _ := trace(t, packed, data, -1)
			if len(ref) != len(got) {
				t.Fatalf("%d vs %d steps", len(ref), len(got))
			}
			for i := range ref {
				r, g := ref[i], got[i]
				if r.Tokens != g.Tokens || r.Epoch != g.Epoch || r.LR != g.LR ||
					!closeTo(r.TrainLoss, g.TrainLoss, 1e-5) || !closeTo(r.GradNorm, g.GradNorm, 1e-4) {
					t.Errorf("step %d: unpacked loss %.7f norm %.7f tokens %d, packed loss %.7f norm %.7f tokens %d",
						r.Step, r.TrainLoss, r.GradNorm, r.Tokens, g.TrainLoss, g.GradNorm, g.Tokens)
				}
			}
			for path, w := range refW {
				for j := range w {
					if math.Abs(float64(w[j]-gotW[path][j])) > 1e-4 {
						t.Errorf("weight %s[%d]: unpacked %v, packed %v", path, j, w[j], gotW[path][j])
						break
					}
				}
			}
		})
	}
}

// TestBatchFill checks the padding count against a real run (its token count) and that packing
// needs fewer positions.
func TestBatchFill(t *testing.T) {
	data := randomData(10, 3)
	for _, padding := range []string{train.PadLongest, train.PadMaxLength} {
		t.Run(padding, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Padding, cfg.MaxLength = padding, tinyModel.Context
			fill, err := train.BatchFill(data, cfg, tinyModel.Context)
			if err != nil {
				t.Fatal(err)
			}
			steps, _, _ := trace(t, cfg, data, -1)
			if last := steps[len(steps)-1].Tokens; fill.Tokens != last {
				t.Errorf("BatchFill counts %d tokens, the run trained on %d", fill.Tokens, last)
			}
			unpacked, packed := fill.PaddingShare()
			if !(packed < unpacked) || packed < 0 || unpacked >= 1 {
				t.Errorf("padding share unpacked %.3f, packed %.3f (fill %+v): want 0 ≤ packed < unpacked < 1", unpacked, packed, fill)
			}
			t.Logf("%s: padding share %.1f%% unpacked, %.1f%% packed", padding, 100*unpacked, 100*packed)
		})
	}
	if _, err := train.BatchFill(nil, tinyConfig(), tinyModel.Context); err == nil {
		t.Error("empty training set: want an error")
	}
}

// TestGenerateBatch checks that generating prompts together gives each the tokens that
// generating it alone gives, stop token and context limit included.
func TestGenerateBatch(t *testing.T) {
	data := randomData(8, 4)
	cfg := tinyConfig()
	cfg.MaxSteps = 20
	tr := newTrainer(t, cfg)
	if _, err := tr.Run(t.Context(), data, nil, train.Hooks{}); err != nil {
		t.Fatal(err)
	}
	prompts := [][]int32{data[0].IDs[:3], data[1].IDs[:1], data[2].IDs[:7], data[3].IDs[:5]}
	for _, stop := range []int32{-1, data[0].IDs[3]} {
		got, err := tr.GenerateBatch(prompts, 12, stop)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range prompts {
			want, err := tr.Generate(p, 12, stop)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got[i], want) {
				t.Errorf("stop %d, prompt %d: batched %v, alone %v", stop, i, got[i], want)
			}
			if stop < 0 && len(p)+len(got[i]) != min(len(p)+12, tinyModel.Context+1) {
				t.Errorf("prompt %d of %d tokens: %d new tokens, want up to 12 within the context", i, len(p), len(got[i]))
			}
		}
	}
	if _, err := tr.GenerateBatch([][]int32{{}}, 4, -1); err == nil {
		t.Error("empty prompt: want an error")
	}
}
