package decoder_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/train"
)

var _ train.PackedModel = (*decoder.Model)(nil)

// TestPackedEqualsUnpacked checks that Qwen3's packed rows (block-diagonal attention, rotary
// positions restarting per sequence) give the loss of the same examples one per row, before
// and after a few training steps. Rotary attention depends only on the distance between
// positions, so within a sequence the restart changes results only by rounding; the mask is
// what this test holds to account (GPT's learned positions are checked in package train).
func TestPackedEqualsUnpacked(t *testing.T) {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	data := make([]train.Example, 6)
	for i := range data {
		ids := make([]int32, 5+rng.IntN(12))
		for j := range ids {
			ids[j] = int32(rng.IntN(512))
		}
		labels := slices.Clone(ids)
		labels[0] = train.IgnoreLabel
		data[i] = train.Example{IDs: ids, Labels: labels}
	}
	run := func(pack bool) (train.EvalMetrics, []float64) {
		m, err := decoder.LoadDir(filepath.Join("testdata", "tiny"))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		cfg := train.Config{MaxSteps: 3, LR: 1e-2, WarmupSteps: 1, MaxGradNorm: 1, BatchSize: 6, Seed: 1,
			Padding: train.PadLongest, MaxLength: 40, Pack: pack}
		tr, err := train.New(be, m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		em, err := tr.Evaluate("valid", data)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for range cfg.MaxSteps {
			loss, _, err := tr.TrainStep(data)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, loss)
		}
		return em, losses
	}
	plainEval, plainLoss := run(false)
	packedEval, packedLoss := run(true)
	if plainEval.Tokens != packedEval.Tokens || math.Abs(plainEval.Loss-packedEval.Loss) > 1e-5*plainEval.Loss {
		t.Errorf("eval unpacked %+v, packed %+v", plainEval, packedEval)
	}
	for i := range plainLoss {
		if math.Abs(plainLoss[i]-packedLoss[i]) > 1e-5*plainLoss[i] {
			t.Errorf("step %d: loss unpacked %.7f, packed %.7f", i+1, plainLoss[i], packedLoss[i])
		}
	}
}
