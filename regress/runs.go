package regress

import (
	"fmt"
	"math"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
)

// FromRunInfo is the gate's view of a run's recorded run.json. A metric the run did not
// measure (NaN: answer_loss in a run.json older than it, generation scores with eval.samples
// 0) is left out: the gate reports it missing, and a baseline never records it.
func FromRunInfo(info metrics.RunInfo) Run {
	s := info.Summary
	run := Run{
		ID:     info.ID,
		Name:   info.Name,
		Status: string(info.Status),
		Metrics: map[string]float64{
			EvalLoss:        s.EvalLoss,
			EvalLossTrain:   s.EvalLossTrain,
			AnswerLoss:      s.AnswerLoss,
			AnswerLossTrain: s.AnswerLossTrain,
			TrainLoss:       s.TrainLoss,
			FinalTrainLoss:  s.FinalTrainLoss,
			TokenAccuracy:   s.TokenAccuracy,
			ExactMatch:      s.ExactMatch,
			RougeL:          s.RougeL,
			ChrF:            s.ChrF,
		},
		Provenance: Provenance{
			GitCommit:    info.Provenance.GitCommit,
			GitDirty:     info.Provenance.GitDirty,
			GoVersion:    info.Provenance.GoVersion,
			GoMLXVersion: info.Provenance.GoMLXVersion,
			Backend:      info.Provenance.Backend,
			Device:       info.Provenance.Device,
		},
	}
	for k, v := range run.Metrics {
		if math.IsNaN(v) {
			delete(run.Metrics, k)
		}
	}
	return run
}

// Tolerances are an experiment's regress.tolerances in the gate's terms.
func Tolerances(cfg configs.RegressConfig) map[string]Tolerance {
	out := make(map[string]Tolerance, len(cfg.Tolerances))
	for k, t := range cfg.Tolerances {
		out[k] = Tolerance{Abs: t.Abs, Rel: t.Rel}
	}
	return out
}

// RunKernel is the SIMD kernel family a run computed with: "" unless it ran on the cpu backend.
func RunKernel(p metrics.Provenance) string {
	if p.Backend != backend.CPU {
		return ""
	}
	return backend.SIMDKernelOf(p.Device)
}

// ExperimentKernel is the kernel family the runs of exp compute with in this process: "" when
// none runs on the cpu backend.
func ExperimentKernel(exp *configs.Experiment) string {
	for _, run := range exp.Runs {
		if run.Config.Backend.Name == "" || run.Config.Backend.Name == backend.CPU {
			return backend.SIMDKernel()
		}
	}
	return ""
}

// CheckKernels refuses to gate cpu runs against a baseline (read from path) recorded with other
// SIMD matmul kernels than kernel: their results differ in the last bits, so an exact gate would
// fail on unchanged code.
func CheckKernels(path string, base Baseline, kernel string) error {
	for _, r := range base.Runs {
		if r.Provenance.Backend != backend.CPU {
			continue
		}
		if want := backend.SIMDKernelOf(r.Provenance.Device); want != "" && want != kernel {
			return fmt.Errorf("%s was recorded with the %s matmul kernels, but this process uses %s, whose results differ in the last bits: gate against %s, or record a baseline for these kernels", path, want, kernel, File(Dir, base.Experiment, kernel))
		}
	}
	return nil
}
