package regress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/atomicfile"
)

// Metric names understood by the gate, in the order they are shown.
const (
	EvalLoss        = "eval_loss"
	EvalLossTrain   = "eval_loss_train"
	AnswerLoss      = "answer_loss"       // eval_loss over the response tokens and closing EOS only
	AnswerLossTrain = "answer_loss_train" // the same on the training split
	TrainLoss       = "train_loss"        // the mean over all steps, as Hugging Face reports it
	FinalTrainLoss  = "final_train_loss"  // the last step's loss
	TokenAccuracy   = "token_accuracy"
	// Scores of the greedy completions of held-out prompts (package scores).
	ExactMatch = "exact_match"
	RougeL     = "rouge_l"
	ChrF       = "chrf"
)

// Metrics lists every metric the gate compares, in display order: configs.Metrics, the names
// regress.tolerances accepts. A baseline recorded before a metric existed does not hold it, and
// the gate then skips it.
var Metrics = configs.Metrics()

// higherIsBetter reports whether a larger value of metric is an improvement.
func higherIsBetter(metric string) bool {
	switch metric {
	case TokenAccuracy, ExactMatch, RougeL, ChrF:
		return true
	}
	return false
}

// Tolerance is how far a metric may move before the gate reacts: a change is within tolerance
// when |current − baseline| ≤ Abs or |current − baseline| ≤ Rel·|baseline|. The zero value demands
// an exact match, which is right on the backend that recorded the baseline since runs are
// bit-reproducible there.
type Tolerance struct {
	Abs float64 `json:"abs"`
	Rel float64 `json:"rel"`
}

// allowed returns the largest change the tolerance accepts against base.
func (t Tolerance) allowed(base float64) float64 { return max(t.Abs, t.Rel*math.Abs(base)) }

// String renders the tolerance compactly for tables.
func (t Tolerance) String() string {
	switch {
	case t.Abs == 0 && t.Rel == 0:
		return "exact"
	case t.Rel == 0:
		return fmt.Sprintf("±%g", t.Abs)
	case t.Abs == 0:
		return fmt.Sprintf("±%g%%", t.Rel*100)
	default:
		return fmt.Sprintf("±max(%g, %g%%)", t.Abs, t.Rel*100)
	}
}

// Provenance records what produced a set of numbers.
type Provenance struct {
	GitCommit    string `json:"git_commit"`
	GitDirty     bool   `json:"git_dirty"`
	GoVersion    string `json:"go_version"`
	GoMLXVersion string `json:"gomlx_version"`
	Backend      string `json:"backend"`
	Device       string `json:"device,omitempty"`
}

// Run is one finished (or failed) run's metrics, as recorded in a baseline or measured now.
type Run struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Status     string             `json:"status"`
	Metrics    map[string]float64 `json:"metrics"`
	Provenance Provenance         `json:"provenance"`
}

// Baseline is the recorded state of an experiment that later runs are gated against.
type Baseline struct {
	Experiment string    `json:"experiment"`
	Recorded   time.Time `json:"recorded"`
	Runs       []Run     `json:"runs"`
}

// Record builds a baseline from runs, refusing runs that did not finish: a baseline must hold
// numbers, not failures.
func Record(experiment string, runs []Run, now time.Time) (Baseline, error) {
	if len(runs) == 0 {
		return Baseline{}, fmt.Errorf("baseline %s: no runs found: run the experiment first (sftlab run experiments/%s.yaml)", experiment, experiment)
	}
	var bad []string
	for _, r := range runs {
		if r.Status != "ok" {
			bad = append(bad, fmt.Sprintf("%s (%s)", r.Name, r.Status))
		}
	}
	if len(bad) > 0 {
		return Baseline{}, fmt.Errorf("baseline %s: runs not finished: %s: rerun them before recording a baseline", experiment, strings.Join(bad, ", "))
	}
	sorted := make([]Run, len(runs))
	for i, r := range runs {
		// A metric the run did not measure (NaN, e.g. eval_loss with data.eval_on: train) is
		// left out: JSON cannot hold it, and there is nothing to gate.
		r.Metrics = maps.Clone(r.Metrics)
		maps.DeleteFunc(r.Metrics, func(_ string, v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) })
		if len(r.Metrics) == 0 {
			return Baseline{}, fmt.Errorf("baseline %s: run %s measured none of %s: nothing to gate", experiment, r.Name, strings.Join(Metrics, ", "))
		}
		sorted[i] = r
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	return Baseline{Experiment: experiment, Recorded: now.UTC(), Runs: sorted}, nil
}

// Save writes the baseline as indented JSON to path, atomically.
func Save(path string, b Baseline) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("baseline %s: %w", path, err)
	}
	data = append(data, '\n')
	return atomicfile.WriteFile(path, data)
}

// MaxBaselineSize is the largest baseline file LoadBaseline reads. A baseline holds a few
// numbers per run, so even a sweep of thousands of runs stays far below it.
const MaxBaselineSize = 64 << 20

// LoadBaseline reads a baseline written by [Save] and checks that it can gate anything (see
// [ParseBaseline]).
func LoadBaseline(path string) (Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Baseline{}, fmt.Errorf("baseline %s: not found: record one with `sftlab baseline NAME`", path)
		}
		return Baseline{}, fmt.Errorf("baseline %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBaselineSize+1))
	if err != nil {
		return Baseline{}, fmt.Errorf("baseline %s: %w", path, err)
	}
	if len(data) > MaxBaselineSize {
		return Baseline{}, fmt.Errorf("baseline %s: larger than %d MiB, not a baseline written by `sftlab baseline`", path, MaxBaselineSize>>20)
	}
	return ParseBaseline(path, data)
}

// ParseBaseline decodes the baseline JSON data read from path (which only names it in errors)
// and refuses one that cannot gate anything: unknown fields, no experiment name, no runs, a
// run without a name or recorded twice, a run that did not finish (status other than ok), a
// run without metrics, or a metric the gate does not know. Such a baseline would otherwise
// pass every check, since there is nothing to compare.
func ParseBaseline(path string, data []byte) (Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return Baseline{}, fmt.Errorf("baseline %s: invalid JSON: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Baseline{}, fmt.Errorf("baseline %s: invalid JSON: data after the baseline object", path)
	}
	if err := b.validate(); err != nil {
		return Baseline{}, fmt.Errorf("baseline %s: unusable: %w; record it again with `sftlab baseline NAME`", path, err)
	}
	return b, nil
}

// validate reports every reason why b cannot gate anything.
func (b Baseline) validate() error {
	var errs []error
	if b.Experiment == "" {
		errs = append(errs, errors.New("no experiment name"))
	}
	if len(b.Runs) == 0 {
		errs = append(errs, errors.New("no runs"))
	}
	seen := make(map[string]bool, len(b.Runs))
	for i, r := range b.Runs {
		name := fmt.Sprintf("run %d", i+1)
		if r.Name == "" {
			errs = append(errs, fmt.Errorf("%s: no name", name))
		} else {
			name = fmt.Sprintf("run %q", r.Name)
			if seen[r.Name] {
				errs = append(errs, fmt.Errorf("%s: recorded twice", name))
			}
			seen[r.Name] = true
		}
		if r.Status != "ok" {
			errs = append(errs, fmt.Errorf("%s: status %q, want ok: a baseline holds finished runs", name, r.Status))
		}
		if len(r.Metrics) == 0 {
			errs = append(errs, fmt.Errorf("%s: no metrics", name))
		}
		for _, m := range slices.Sorted(maps.Keys(r.Metrics)) {
			if !slices.Contains(Metrics, m) {
				errs = append(errs, fmt.Errorf("%s: unknown metric %q, want %s", name, m, strings.Join(Metrics, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckExperiment refuses a baseline recorded for another experiment than name.
func (b Baseline) CheckExperiment(name string) error {
	if b.Experiment != name {
		return fmt.Errorf("recorded for experiment %q, not %q: give this experiment's baseline (--baseline baselines/%s.json) or record one with `sftlab baseline %s`", b.Experiment, name, name, name)
	}
	return nil
}

// Verdict is the outcome for one metric of one run.
type Verdict string

// Verdicts, from good to bad.
const (
	Pass      Verdict = "pass"
	Improved  Verdict = "improved"
	Regressed Verdict = "REGRESSED"
	Missing   Verdict = "MISSING"
	Failed    Verdict = "FAILED"
)

// Row is one line of the diff table.
type Row struct {
	Run       string
	Metric    string
	Baseline  float64
	Current   float64
	Delta     float64
	Tolerance Tolerance
	Verdict   Verdict
	Note      string
}

// Result is the comparison of current runs against a baseline.
type Result struct {
	Experiment string
	Rows       []Row
	Strict     bool
}

// Failed reports whether the gate fails: a regression, a missing or failed run, or, in strict
// mode, an improvement beyond tolerance (the baseline is then out of date).
func (r Result) Failed() bool {
	if r.compared() == 0 {
		return true
	}
	for _, row := range r.Rows {
		switch row.Verdict {
		case Regressed, Missing, Failed:
			return true
		case Improved:
			if r.Strict {
				return true
			}
		}
	}
	return false
}

// compared counts the metrics that were compared with the baseline.
func (r Result) compared() int {
	n := 0
	for _, row := range r.Rows {
		if row.Metric != "" && row.Verdict != Missing {
			n++
		}
	}
	return n
}

// Problems lists one line per row that makes the gate fail.
func (r Result) Problems() []string {
	var out []string
	if r.compared() == 0 {
		out = append(out, "nothing compared: no current run matches a finished run of the baseline with a metric both measured")
	}
	for _, row := range r.Rows {
		if row.Verdict == Pass || (row.Verdict == Improved && !r.Strict) {
			continue
		}
		if row.Metric == "" {
			out = append(out, fmt.Sprintf("%s: %s %s", row.Run, row.Verdict, row.Note))
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s %s: baseline %.6g, current %.6g (Δ %+.3g, tolerance %s)",
			row.Run, row.Metric, row.Verdict, row.Baseline, row.Current, row.Delta, row.Tolerance))
	}
	return out
}

// Compare gates current runs against base. Runs are matched by name; tolerances are per metric
// (missing entries mean exact). Runs present now but absent from the baseline are reported as
// new and do not fail the gate.
func Compare(base Baseline, current []Run, tolerances map[string]Tolerance, strict bool) Result {
	res := Result{Experiment: base.Experiment, Strict: strict}
	byName := make(map[string]Run, len(current))
	for _, r := range current {
		byName[r.Name] = r
	}
	seen := make(map[string]bool, len(base.Runs))
	for _, b := range base.Runs {
		seen[b.Name] = true
		cur, ok := byName[b.Name]
		if !ok {
			res.Rows = append(res.Rows, Row{Run: b.Name, Verdict: Missing, Note: "no current run with this name"})
			continue
		}
		if cur.Status != "ok" {
			res.Rows = append(res.Rows, Row{Run: b.Name, Verdict: Failed, Note: "run status " + cur.Status})
			continue
		}
		note := ""
		if cur.ID != b.ID {
			note = fmt.Sprintf("config changed (id %s → %s)", b.ID, cur.ID)
		}
		for _, m := range Metrics {
			bv, inBase := b.Metrics[m]
			if !inBase {
				continue
			}
			cv, inCur := cur.Metrics[m]
			row := Row{Run: b.Name, Metric: m, Baseline: bv, Current: cv, Tolerance: tolerances[m], Note: note}
			if !inCur {
				row.Verdict, row.Note = Missing, "metric not measured"
				res.Rows = append(res.Rows, row)
				continue
			}
			row.Delta = cv - bv
			row.Verdict = judge(m, bv, cv, row.Tolerance)
			res.Rows = append(res.Rows, row)
		}
	}
	var extra []string
	for _, r := range current {
		if !seen[r.Name] {
			extra = append(extra, r.Name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		res.Rows = append(res.Rows, Row{Run: name, Verdict: Pass, Note: "new run, not in baseline"})
	}
	return res
}

// judge classifies a change of metric from base to cur under tol.
func judge(metric string, base, cur float64, tol Tolerance) Verdict {
	if math.IsNaN(cur) || math.IsInf(cur, 0) {
		return Regressed
	}
	delta := cur - base
	if math.Abs(delta) <= tol.allowed(base) {
		return Pass
	}
	worse := delta > 0
	if higherIsBetter(metric) {
		worse = delta < 0
	}
	if worse {
		return Regressed
	}
	return Improved
}

// Markdown renders the result as a GitHub-flavoured markdown table with a verdict line.
func (r Result) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Regression check: %s\n\n", r.Experiment)
	b.WriteString("| run | metric | baseline | current | Δ | tolerance | verdict |\n")
	b.WriteString("|---|---|---:|---:|---:|---|---|\n")
	for _, row := range r.Rows {
		if row.Metric == "" {
			fmt.Fprintf(&b, "| %s | | | | | | %s %s |\n", row.Run, row.Verdict, row.Note)
			continue
		}
		verdict := string(row.Verdict)
		if row.Note != "" {
			verdict += " (" + row.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %.6f | %.6f | %+.2e | %s | %s |\n",
			row.Run, row.Metric, row.Baseline, row.Current, row.Delta, row.Tolerance, verdict)
	}
	b.WriteString("\n")
	if r.Failed() {
		b.WriteString("**FAIL**:\n\n")
		for _, p := range r.Problems() {
			b.WriteString("- " + p + "\n")
		}
	} else {
		b.WriteString("**PASS**: every metric is within tolerance of the baseline.\n")
	}
	return b.String()
}
