package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/sftlab/sftlab/metrics"
)

// tCritical returns the two-sided 95% critical value of Student's t with df degrees of freedom
// (tabulated up to 30, the normal 1.96 beyond).
func tCritical(df int) float64 {
	table := [...]float64{
		12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
	}
	if df < 1 {
		return math.Inf(1)
	}
	if df <= len(table) {
		return table[df-1]
	}
	return 1.96
}

// Findings derives the report's summary: how many runs finished, the best configuration and,
// when there is a baseline, how each configuration compares with it over paired seeds. A
// difference counts only when a two-sided 95% paired t-test separates it from zero.
func (e *Experiment) Findings() []string {
	var out []string
	out = append(out, e.statusLine())
	if best, m, s, n := e.bestGroup(); best != nil {
		line := fmt.Sprintf("Lowest eval_loss: `%s`, %s", best.Label, fmt.Sprintf(lossFmt, m))
		if n > 1 {
			line += fmt.Sprintf(" ± %.4f (mean ± std over %d finished runs)", s, n)
		} else {
			line += " (a single finished run)"
		}
		if n < len(best.Rows) {
			line += fmt.Sprintf("; %d of its %d runs did not finish", len(best.Rows)-n, len(best.Rows))
		}
		out = append(out, line+".")
	}
	out = append(out, e.overfitFindings(DefaultEvalSeries())...)
	if line := e.paddingLine(); line != "" {
		out = append(out, line)
	}
	if e.Baseline == nil {
		return out
	}
	for _, g := range e.Groups {
		if len(g.Rows) == 0 || (e.Baseline.Run == nil && e.Baseline.IsBaseline(g.Rows[0])) {
			continue
		}
		if e.Baseline.Run != nil && len(g.Rows) == 1 && g.Rows[0] == e.Baseline.Run {
			continue
		}
		out = append(out, e.compareLine(g))
	}
	return out
}

func (e *Experiment) statusLine() string {
	counts := map[metrics.Status][]string{}
	for _, r := range e.Rows {
		counts[r.Status] = append(counts[r.Status], "`"+r.Name+"`")
	}
	line := fmt.Sprintf("%d runs, %d finished", len(e.Rows), len(counts[metrics.StatusOK]))
	for _, st := range []metrics.Status{metrics.StatusDiverged, metrics.StatusFailed, metrics.StatusInterrupted, metrics.StatusRunning} {
		if names := counts[st]; len(names) > 0 {
			line += fmt.Sprintf("; %d %s (%s)", len(names), st, strings.Join(names, ", "))
		}
	}
	return line + "."
}

// bestGroup returns the configuration with the lowest mean eval_loss over its finished runs.
func (e *Experiment) bestGroup() (best *Group, mean, std float64, n int) {
	for _, g := range e.Groups {
		var xs []float64
		for _, r := range g.Finished() {
			xs = append(xs, r.Summary.EvalLoss)
		}
		if len(xs) == 0 {
			continue
		}
		m, s := meanStd(xs)
		if best == nil || m < mean {
			best, mean, std, n = g, m, s, len(xs)
		}
	}
	return best, mean, std, n
}

// compareLine states how g compares with its baseline over paired seeds.
func (e *Experiment) compareLine(g *Group) string {
	a, b, ctx := g.Label, e.Baseline.Spec, ""
	if e.Baseline.Run == nil {
		var av, bv, cv []string
		for _, k := range e.Keys {
			if base, ok := e.Baseline.Values[k.Path]; ok {
				av = append(av, g.Values[k.Path])
				bv = append(bv, base)
			} else {
				cv = append(cv, k.Label+"="+g.Values[k.Path])
			}
		}
		a, b = strings.Join(av, ","), strings.Join(bv, ",")
		if len(cv) > 0 {
			ctx = " at " + strings.Join(cv, ",")
		}
	} else {
		b = "`" + b + "`"
		a = "`" + a + "`"
	}
	d := e.GroupDeltas(g)
	n := len(d)
	m, s := meanStd(d)
	switch {
	case n == 0:
		return fmt.Sprintf("%s vs %s%s: no pair of finished runs to compare.", a, b, ctx)
	case n == 1:
		dir := "lower"
		if m > 0 {
			dir = "higher"
		}
		return fmt.Sprintf("%s vs %s%s: eval_loss %.4f %s with one seed, which cannot tell a real difference from seed-to-seed noise.", a, b, ctx, math.Abs(m), dir)
	}
	se := s / math.Sqrt(float64(n))
	if math.Abs(m) > tCritical(n-1)*se {
		winner, loser := a, b
		if m > 0 {
			winner, loser = b, a
		}
		return fmt.Sprintf("%s beat %s%s by %.4f ± %.4f eval_loss (mean ± std of the paired per-seed differences over %d seeds; a 95%% paired t-test separates it from zero).",
			winner, loser, ctx, math.Abs(m), s, n)
	}
	return fmt.Sprintf("%s and %s are within seed noise%s: %s minus %s is %s ± %.4f eval_loss over %d paired seeds (a 95%% paired t-test does not separate it from zero).",
		a, b, ctx, a, b, signed(lossFmt, m), s, n)
}

// paddingLine states the padding share of the runs' training batches, with and without packing
// (data.packing), from run.json; "" when no run recorded it. Runs of one experiment usually
// share their data and batch settings; when they differ the range is given.
func (e *Experiment) paddingLine() string {
	var unpacked, packed []float64
	packedRuns := 0
	for _, r := range e.Rows {
		ps := r.Run.Info.Data.PaddingShare
		if ps == nil {
			continue
		}
		unpacked, packed = append(unpacked, ps.Unpacked), append(packed, ps.Packed)
		if configValue(r.Run, "data.packing") == "true" {
			packedRuns++
		}
	}
	if len(unpacked) == 0 {
		return ""
	}
	pct := func(xs []float64) string {
		lo, hi := xs[0], xs[0]
		for _, x := range xs {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		if fmt.Sprintf("%.1f", 100*lo) == fmt.Sprintf("%.1f", 100*hi) {
			return fmt.Sprintf("%.1f%%", 100*lo)
		}
		return fmt.Sprintf("%.1f–%.1f%%", 100*lo, 100*hi)
	}
	var how string
	switch {
	case packedRuns == len(unpacked):
		how = "every run trained packed (data.packing: true)"
	case packedRuns > 0:
		how = fmt.Sprintf("%d of %d runs trained packed (data.packing: true)", packedRuns, len(unpacked))
	default:
		how = "no run trained packed; data.packing: true would give the loss of the same examples"
	}
	return fmt.Sprintf("Padding: %s of the training batches' positions are padding with one example per row, %s with the examples packed into rows of up to data.max_length; %s.",
		pct(unpacked), pct(packed), how)
}
