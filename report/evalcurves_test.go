package report

import (
	"math"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
)

// curveRun is memRun with a held-out and a train-split evaluation at each step of steps.
func curveRun(format string, seed int, steps []int64, valid []float64) metrics.Run {
	r := memRun(format, seed, valid[len(valid)-1], metrics.StatusOK)
	r.Steps, r.Evals = nil, nil
	for s := int64(1); s <= steps[len(steps)-1]; s++ {
		r.Steps = append(r.Steps, metrics.Step{Step: s, TrainLoss: 6 - float64(s)/10, LR: 1e-3})
	}
	for i, s := range steps {
		r.Evals = append(r.Evals,
			metrics.Eval{Step: s, Split: metrics.SplitValid, Loss: valid[i]},
			metrics.Eval{Step: s, Split: metrics.SplitTrain, Loss: valid[i] - 0.5})
	}
	return r
}

func TestEvalCurves(t *testing.T) {
	steps := []int64{10, 20, 30, 40}
	runs := []metrics.Run{
		// sft: mean held-out loss 5, 4, 3.5, 3.8: lowest at step 30, then it rises.
		curveRun("sft", 1, steps, []float64{5.1, 4.1, 3.6, 3.9}),
		curveRun("sft", 2, steps, []float64{4.9, 3.9, 3.4, 3.7}),
		// instruction: still falling at the end.
		curveRun("instruction", 1, steps, []float64{5, 4.5, 4.2, 4.0}),
	}
	e, err := Build("t", runs, "")
	if err != nil {
		t.Fatal(err)
	}
	sft := e.Groups[1]
	low, ok := sft.LowestEval(DefaultEvalSeries()[0])
	if !ok || low.Step != 30 || math.Abs(low.Value-3.5) > 1e-12 || low.FinalStep != 40 || math.Abs(low.Final-3.8) > 1e-12 ||
		low.EvalPoints != 4 || math.Abs(low.Spread-0.2) > 1e-12 {
		t.Errorf("lowest of %s: %+v, want step 30 (3.5), final 3.8 at step 40, seed spread 0.2", sft.Label, low)
	}
	f, err := e.evalCurvesFigure(DefaultEvalSeries())
	if err != nil || f == nil {
		t.Fatalf("figure %v, err %v", f, err)
	}
	if len(f.Panels) != 2 {
		t.Fatalf("%d panels, want one per configuration", len(f.Panels))
	}
	want := []string{"train_loss (per step), 2 seeds", "eval_loss (held-out), 2 seeds", "lowest held-out: step 30 (3.5000)", "eval_loss (train split), 2 seeds"}
	if got := f.Panels[1].Series; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sft panel series %q, want %q", got, want)
	}
	findings := strings.Join(e.Findings(), "\n")
	for _, w := range []string{
		"lowest before the end of training and then rose by more than the spread between seeds, a sign of overfitting, in `format=sft` at step 30 (3.5000, then 3.8000 at step 40)",
		"lowest at the last evaluation in `format=instruction`",
	} {
		if !strings.Contains(findings, w) {
			t.Errorf("findings:\n%s\nwant %q", findings, w)
		}
	}

	t.Run("a rise within seed noise", func(t *testing.T) {
		noisy := []metrics.Run{
			curveRun("sft", 1, steps, []float64{5.1, 4.1, 3.0, 3.6}),
			curveRun("sft", 2, steps, []float64{4.9, 3.9, 4.0, 3.6}),
		}
		e, err := Build("t", noisy, "")
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(e.Findings(), "\n")
		if !strings.Contains(got, "by no more than the spread between seeds, or was measured with one seed only (possibly noise), in `format=sft` at step 30 (3.5000, then 3.6000 at step 40)") {
			t.Errorf("findings:\n%s\nwant the rise called possible noise", got)
		}
	})
	t.Run("another eval column", func(t *testing.T) {
		// A series read from a column that old files lack (NaN) is not drawn.
		extra := append(DefaultEvalSeries(), EvalSeries{Label: "answer_loss (held-out)", Split: metrics.SplitValid,
			Value: func(metrics.Eval) float64 { return math.NaN() }})
		g, err := e.evalCurvesFigure(extra)
		if err != nil {
			t.Fatal(err)
		}
		if g.SeriesCount() != f.SeriesCount() {
			t.Errorf("%d series with an unmeasured column, want %d", g.SeriesCount(), f.SeriesCount())
		}
		halves := append(DefaultEvalSeries(), EvalSeries{Label: "half", Split: metrics.SplitValid,
			Value: func(ev metrics.Eval) float64 { return ev.Loss / 2 }, Dashed: true})
		if h, _ := e.evalCurvesFigure(halves); h.SeriesCount() != f.SeriesCount()+2 {
			t.Errorf("%d series with one more measured column, want %d", h.SeriesCount(), f.SeriesCount()+2)
		}
	})
	t.Run("only a final evaluation", func(t *testing.T) {
		one := []metrics.Run{memRun("sft", 1, 3.5, metrics.StatusOK), memRun("instruction", 1, 3.4, metrics.StatusOK)}
		e, err := Build("t", one, "")
		if err != nil {
			t.Fatal(err)
		}
		if f, err := e.evalCurvesFigure(DefaultEvalSeries()); f != nil || err != nil {
			t.Errorf("figure %v, err %v; want none without eval.every", f, err)
		}
		if got := strings.Join(e.Findings(), "\n"); strings.Contains(got, "lowest") && strings.Contains(got, "evaluation") {
			t.Errorf("findings speak of eval curves without any:\n%s", got)
		}
	})
}

func TestPaddingLine(t *testing.T) {
	run := func(seed int, packed bool, share *metrics.PaddingShare) metrics.Run {
		r := memRun("sft", seed, 3, metrics.StatusOK)
		r.Info.Data.PaddingShare = share
		r.Config["data.packing"] = packed
		return r
	}
	share := &metrics.PaddingShare{Unpacked: 0.625, Packed: 0.0412}
	tests := []struct {
		name string
		runs []metrics.Run
		want string
	}{
		{"none recorded", []metrics.Run{run(1, false, nil)}, ""},
		{"unpacked", []metrics.Run{run(1, false, share), run(2, false, share)},
			"Padding: 62.5% of the training batches' positions are padding with one example per row, 4.1% with the examples packed into rows of up to data.max_length; no run trained packed"},
		{"packed", []metrics.Run{run(1, true, share)}, "62.5% of the training batches' positions are padding with one example per row, 4.1% with the examples packed into rows of up to data.max_length; every run trained packed"},
		{"ranges", []metrics.Run{run(1, true, share), run(2, false, &metrics.PaddingShare{Unpacked: 0.5, Packed: 0.0412})},
			"Padding: 50.0–62.5% of the training batches' positions are padding with one example per row, 4.1% with the examples packed into rows of up to data.max_length; 1 of 2 runs trained packed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Build("t", tt.runs, "")
			if err != nil {
				t.Fatal(err)
			}
			got := e.paddingLine()
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("padding line %q, want %q", got, tt.want)
			}
		})
	}
}

// TestScoreSettingsSplitGroups checks that runs scored on different numbers of prompts are not
// averaged as seeds of one configuration, while the scoring interval does not split them.
func TestScoreSettingsSplitGroups(t *testing.T) {
	tests := []struct {
		key        string
		a, b       any
		wantGroups int
	}{
		{"eval.samples", 4, 16, 2},
		{"eval.max_new_tokens", 16, 64, 2},
		{"eval.generate_every", 0, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			r1, r2 := memRun("sft", 1, 3.5, metrics.StatusOK), memRun("sft", 2, 3.6, metrics.StatusOK)
			r1.Config[tt.key], r2.Config[tt.key] = tt.a, tt.b
			e, err := Build("t", []metrics.Run{r1, r2}, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Groups) != tt.wantGroups {
				t.Errorf("%d groups, want %d", len(e.Groups), tt.wantGroups)
			}
		})
	}
}
