package report

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/scores"
)

var update = flag.Bool("update", false, "update golden files and the committed fixture runs")

// fixtureRun describes one synthetic run.
type fixtureRun struct {
	format string
	lr     float64
	steps  int
	seed   int
	status metrics.Status
}

// fixtureSpec describes a synthetic experiment: the cross product of formats, lrs, steps and
// seeds, with some runs given a status other than ok.
type fixtureSpec struct {
	name     string
	formats  []string
	lrs      []float64
	steps    []int
	seeds    []int
	statuses map[string]metrics.Status // run name → status
	baseline string
}

// runName is the readable name the runner gives a run.
func (r fixtureRun) name(spec fixtureSpec) string {
	parts := []string{"format=" + r.format}
	if len(spec.lrs) > 1 {
		parts = append(parts, "lr="+configs.FormatValue(r.lr))
	}
	if len(spec.steps) > 1 {
		parts = append(parts, fmt.Sprintf("steps=%d", r.steps))
	}
	parts = append(parts, fmt.Sprintf("seed=%d", r.seed))
	return strings.Join(parts, ",")
}

// noise is a deterministic pseudo-random number in [-1, 1) from integers.
func noise(xs ...int) float64 {
	h := uint64(1469598103934665603)
	for _, x := range xs {
		h ^= uint64(x)
		h *= 1099511628211
		h ^= h >> 29
	}
	return float64(h%20000)/10000 - 1
}

// writeFixture writes the runs of spec under dir/spec.name, as the runner lays them out.
func writeFixture(t *testing.T, dir string, spec fixtureSpec) {
	t.Helper()
	var runs []fixtureRun
	for _, f := range spec.formats {
		for _, lr := range spec.lrs {
			for _, st := range spec.steps {
				for _, s := range spec.seeds {
					runs = append(runs, fixtureRun{format: f, lr: lr, steps: st, seed: s, status: metrics.StatusOK})
				}
			}
		}
	}
	for i, r := range runs {
		name := r.name(spec)
		if st, ok := spec.statuses[name]; ok {
			r.status = st
		}
		id := fmt.Sprintf("r%02d-%06d", i, int(math.Abs(noise(i, 7))*1e6))
		rd := filepath.Join(dir, spec.name, id)
		if err := os.MkdirAll(rd, 0o755); err != nil {
			t.Fatal(err)
		}
		fi := 0
		for j, f := range spec.formats {
			if f == r.format {
				fi = j
			}
		}
		// Loss falls from ln(4000) ≈ 8.3 towards a floor that depends on format and lr.
		floor := 3.0 + 0.25*float64(fi) + 0.4*math.Abs(math.Log10(r.lr)+2.5)
		var steps []metrics.Step
		var evals []metrics.Eval
		elapsed := 0.0
		for s := 1; s <= r.steps; s++ {
			warm := 3
			lr := r.lr * math.Min(1, float64(s)/float64(warm))
			if s > warm {
				lr = r.lr * 0.5 * (1 + math.Cos(math.Pi*float64(s-warm)/float64(r.steps-warm)))
			}
			loss := floor + (8.3-floor)*math.Exp(-float64(s)*r.lr*60) + 0.08*noise(i, s)
			tps := 4000 + 300*noise(i, s, 1)
			tokens := int64(800 + 50*noise(i, s, 2))
			elapsed += float64(tokens) / tps
			diverging := r.status == metrics.StatusDiverged && s > r.steps/2
			if diverging {
				loss = 40 // the spike, then NaN
				if s > r.steps/2+1 {
					loss = math.NaN()
				}
			}
			steps = append(steps, metrics.Step{Step: int64(s), Epoch: float64(s) / 10, TrainLoss: loss, LR: lr,
				GradNorm: 2 + noise(i, s, 3), Tokens: tokens, TokensPerS: tps, ElapsedS: elapsed})
			if diverging && math.IsNaN(loss) {
				break // the runner stops a run at the first non-finite loss
			}
			if diverging {
				continue
			}
			if s%10 == 0 || s == r.steps {
				// Answers are harder than the prompt text the template repeats, and the more so
				// for the instruction format, whose longer prompts lower eval_loss. Past step 30
				// the held-out loss turns up again: longer runs overfit.
				overfit := 0.0005 * math.Pow(math.Max(0, float64(s-30)), 2)
				evals = append(evals,
					metrics.Eval{Step: int64(s), Split: metrics.SplitValid, Loss: loss + 0.3 + overfit + 0.05*noise(i, s, 4), TokenAccuracy: math.Max(0, 0.7-loss/20), Tokens: 1200,
						AnswerLoss: loss + 0.6 + overfit + 0.5*float64(fi) + 0.05*noise(i, s, 6), AnswerTokens: 400},
					metrics.Eval{Step: int64(s), Split: metrics.SplitTrain, Loss: loss - 0.05 + 0.03*noise(i, s, 5), TokenAccuracy: math.Max(0, 0.72-loss/20), Tokens: 4800,
						AnswerLoss: loss + 0.2 + 0.5*float64(fi) + 0.03*noise(i, s, 7), AnswerTokens: 1600})
			}
		}
		info := metrics.RunInfo{
			Name: name, ID: id, Experiment: spec.name, Status: r.status,
			Params: []metrics.Param{{Key: "data.format", Value: r.format}},
			Provenance: metrics.Provenance{GitCommit: "0123456789abcdef", GoVersion: "go1.26.8", GoMLXVersion: "v0.28.2",
				Backend: "cpu", Device: "test CPU", Host: "fixture", DatasetHash: "sha256:aaaa", TokenizerHash: "sha256:bbbb",
				StartTime: time.Date(2026, 3, 1, 10, 0, i, 0, time.UTC), EndTime: time.Date(2026, 3, 1, 10, 1, i, 0, time.UTC), WallS: elapsed + 1.5},
			// One vocabulary for the whole experiment; the initial weights depend on the seed only.
			Model: metrics.ModelStats{VocabSize: 1148, Parameters: 213312, InitHash: fmt.Sprintf("%064x", r.seed)},
			Data:  metrics.DataStats{TrainExamples: 64, ValidExamples: 16, PaddingShare: &metrics.PaddingShare{Unpacked: 0.4375, Packed: 0.0625}},
		}
		prompt := 800 + 300*fi // the instruction format's prompts are longer
		info.Data.Eval = metrics.ScoredTokens{Split: metrics.SplitValid, Scored: prompt + 400, Prompt: prompt, Answer: 400,
			Unseen: 120, UnseenAnswer: 60, PromptShare: float64(prompt) / float64(prompt+400),
			UnseenShare: 120 / float64(prompt+400), UnseenAnswerShare: 60.0 / 400}
		if len(spec.lrs) > 1 {
			info.Params = append(info.Params, metrics.Param{Key: "train.learning_rate", Value: r.lr})
		}
		if len(spec.steps) > 1 {
			info.Params = append(info.Params, metrics.Param{Key: "train.max_steps", Value: r.steps})
		}
		info.Params = append(info.Params, metrics.Param{Key: "train.seed", Value: r.seed})
		cfg := fmt.Sprintf(`description: |
  Synthetic %s experiment: does the instruction format lower eval_loss
  compared with the plain SFT format, and at which learning rate?
model:
  preset: tiny
data:
  dataset: builtin:teaching_zh
  format: %s
  masking: eos_safe
train:
  max_steps: %d
  learning_rate: %g
  batch_size: 8
  seed: %d
report:
  baseline: %s
`, spec.name, r.format, r.steps, r.lr, r.seed, spec.baseline)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.WriteFile(filepath.Join(rd, metrics.ConfigFile), []byte(cfg), 0o644))
		if r.status == metrics.StatusFailed {
			info.Error = "load dataset: builtin:teaching_zh: simulated failure before the first step"
			info.Summary = metrics.EmptySummary()
			must(metrics.WriteRunInfo(filepath.Join(rd, metrics.RunInfoFile), info))
			continue
		}
		if r.status == metrics.StatusDiverged {
			info.Error = fmt.Sprintf("step %d: train_loss is NaN", r.steps/2+2)
		}
		info.Summary = metrics.Summarize(steps, evals)
		if r.status == metrics.StatusOK {
			prompt := "问题：把这句话翻译成英文：我喜欢学习。\n回答："
			if r.format == "instruction" {
				prompt = "指令：翻译成英文\n输入：我喜欢学习。\n回答："
			}
			samples := []metrics.Sample{
				{Prompt: prompt, Completion: fmt.Sprintf("I like study (seed %d)", r.seed), Reference: "I like studying.", Format: r.format},
				{Prompt: strings.Replace(prompt, "我喜欢学习", "今天天气很好", 1), Completion: "The weather is good today.", Reference: "The weather is nice today.", Format: r.format},
			}
			var cands, refs []string
			for k, smp := range samples {
				samples[k].Scores = &metrics.SampleScores{ExactMatch: scores.ExactMatch(smp.Completion, smp.Reference),
					RougeL: scores.RougeL(smp.Completion, smp.Reference).F1, ChrF: scores.ChrF(smp.Completion, smp.Reference)}
				cands, refs = append(cands, smp.Completion), append(refs, smp.Reference)
			}
			must(metrics.WriteSamples(filepath.Join(rd, metrics.SamplesFile), samples))
			tot := scores.Score(cands, refs)
			gens := []metrics.Generation{{Step: int64(r.steps), Split: metrics.SplitValid, Prompts: int64(tot.N), ExactMatch: tot.ExactMatch,
				RougeL: tot.RougeL, ChrF: tot.ChrF, NewTokens: 24, Seconds: 0.5 + 0.1*float64(r.seed)}}
			must(metrics.WriteGenerations(filepath.Join(rd, metrics.GenerationsFile), gens))
			info.Summary.AddGenerations(gens)
		}
		must(metrics.WriteRunInfo(filepath.Join(rd, metrics.RunInfoFile), info))
		must(metrics.WriteSteps(filepath.Join(rd, metrics.StepsFile), steps))
		must(metrics.WriteEvals(filepath.Join(rd, metrics.EvalsFile), evals))
	}
}

// fixtureExperiment is the committed fixture: 2 formats × 2 learning rates × 2 seeds, one run
// diverged and one failed before training.
func fixtureExperiment() fixtureSpec {
	return fixtureSpec{
		name: "fixture", formats: []string{"sft", "instruction"}, lrs: []float64{0.001, 0.01}, steps: []int{20}, seeds: []int{1, 2},
		statuses: map[string]metrics.Status{
			"format=instruction,lr=0.01,seed=2": metrics.StatusDiverged,
			"format=sft,lr=0.01,seed=2":         metrics.StatusFailed,
		},
		baseline: "format=sft",
	}
}

// lrSweepExperiment mirrors experiments/lr_sweep.yaml: 3 learning rates × 2 formats × 3 seeds.
func lrSweepExperiment() fixtureSpec {
	return fixtureSpec{
		name: "lr_sweep", formats: []string{"sft", "instruction"}, lrs: []float64{0.001, 0.003, 0.01}, steps: []int{80}, seeds: []int{1, 2, 3},
		statuses: map[string]metrics.Status{"format=instruction,lr=0.01,seed=3": metrics.StatusDiverged},
		baseline: "format=sft",
	}
}

// fixtureRunsDir returns the folder holding the committed fixture runs, rewriting them under
// -update.
func fixtureRunsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("testdata", "runs")
	if *update {
		if err := os.RemoveAll(filepath.Join(dir, "fixture")); err != nil {
			t.Fatal(err)
		}
		writeFixture(t, dir, fixtureExperiment())
	}
	return dir
}
