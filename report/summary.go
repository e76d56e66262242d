package report

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sftlab/sftlab/metrics"
)

// significance is the level of the two-sided paired t-tests in the findings.
const significance = 0.05

// tTest is a two-sided one-sample t-test of the paired differences d against zero, with
// Student's t distribution of len(d)−1 degrees of freedom.
type tTest struct {
	N         int
	Mean, Std float64 // of d; Std is the sample standard deviation
	T, P      float64 // the t statistic and its two-sided p-value
}

// pairedTTest tests whether the mean of the paired differences d is zero. It needs at least two
// values; with no spread at all, p is 0 for a non-zero mean and 1 for a zero one.
func pairedTTest(d []float64) (tTest, bool) {
	n := len(d)
	if n < 2 {
		return tTest{}, false
	}
	res := tTest{N: n}
	res.Mean, res.Std = meanStd(d)
	se := res.Std / math.Sqrt(float64(n))
	switch {
	case se > 0:
		res.T = res.Mean / se
		dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}
		res.P = 2 * dist.Survival(math.Abs(res.T))
	case res.Mean == 0:
		res.T, res.P = 0, 1
	default:
		res.T, res.P = math.Copysign(math.Inf(1), res.Mean), 0
	}
	return res, true
}

// Significant reports whether the test rejects a zero mean at the 5% level.
func (t tTest) Significant() bool { return t.P < significance }

// pValue formats a p-value for prose.
func pValue(p float64) string {
	if p < 0.001 {
		return "p < 0.001"
	}
	return fmt.Sprintf("p = %.3f", p)
}

// Findings derives the report's summary: how many runs finished, the best configuration and,
// when there is a baseline, how each configuration compares with it over paired seeds, each
// comparison followed by what may confound it. A difference counts only when a two-sided paired
// t-test at the 5% level separates it from zero.
func (e *Experiment) Findings() []string {
	var out []string
	out = append(out, e.statusLine())
	if best, m, s, n := e.bestGroup(); best != nil {
		line := fmt.Sprintf("Lowest %s: `%s`, %s", e.Metric, best.Label, fmt.Sprintf(lossFmt, m))
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
	for _, g := range e.comparedGroups() {
		line := e.compareLine(g)
		if c := e.confounds(g); len(c) > 0 {
			line += " Caveats: " + strings.Join(c, "; ") + "."
		}
		out = append(out, line)
	}
	return out
}

// comparedGroups returns the groups compared with the baseline: all but the baseline itself.
func (e *Experiment) comparedGroups() []*Group {
	var out []*Group
	for _, g := range e.Groups {
		if len(g.Rows) == 0 || (e.Baseline.Run == nil && e.Baseline.IsBaseline(g.Rows[0])) {
			continue
		}
		if e.Baseline.Run != nil && len(g.Rows) == 1 && g.Rows[0] == e.Baseline.Run {
			continue
		}
		out = append(out, g)
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

// bestGroup returns the configuration with the lowest mean headline metric over its finished
// runs.
func (e *Experiment) bestGroup() (best *Group, mean, std float64, n int) {
	for _, g := range e.Groups {
		var xs []float64
		for _, r := range g.Rows {
			if e.finished(r) {
				xs = append(xs, e.Value(r))
			}
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

// sides names g and its baseline for prose ("instruction", "sft") and the context of the other
// swept keys (" at lr=0.001").
func (e *Experiment) sides(g *Group) (a, b, ctx string) {
	a, b = g.Label, e.Baseline.Spec
	if e.Baseline.Run != nil {
		return "`" + a + "`", "`" + b + "`", ""
	}
	var av, bv, cv []string
	for _, k := range e.Keys {
		if base, ok := e.Baseline.Values[k.Path]; ok {
			av = append(av, g.Values[k.Path])
			bv = append(bv, base)
		} else {
			cv = append(cv, k.Label+"="+g.Values[k.Path])
		}
	}
	if len(cv) > 0 {
		ctx = " at " + strings.Join(cv, ",")
	}
	return strings.Join(av, ","), strings.Join(bv, ","), ctx
}

// compareLine states how g compares with its baseline over paired seeds, on the headline metric.
func (e *Experiment) compareLine(g *Group) string {
	a, b, ctx := e.sides(g)
	d := e.GroupDeltas(g)
	metric := e.Metric
	switch len(d) {
	case 0:
		return fmt.Sprintf("%s vs %s%s: no pair of finished runs to compare.", a, b, ctx)
	case 1:
		dir := "lower"
		if d[0] > 0 {
			dir = "higher"
		}
		return fmt.Sprintf("%s vs %s%s: %s %.4f %s with one seed, which cannot tell a real difference from seed-to-seed noise.", a, b, ctx, metric, math.Abs(d[0]), dir)
	}
	t, _ := pairedTTest(d)
	if t.Significant() {
		winner, loser := a, b
		if t.Mean > 0 {
			winner, loser = b, a
		}
		return fmt.Sprintf("%s beat %s%s by %.4f ± %.4f %s (mean ± std of the paired per-seed differences over %d seeds; a two-sided paired t-test separates it from zero: t = %.2f, %s, significant at 5%%).",
			winner, loser, ctx, math.Abs(t.Mean), t.Std, metric, t.N, t.T, pValue(t.P))
	}
	return fmt.Sprintf("%s and %s are within seed noise%s: %s minus %s is %s ± %.4f %s over %d paired seeds (a two-sided paired t-test does not separate it from zero: t = %.2f, %s, not significant at 5%%).",
		a, b, ctx, a, b, signed(lossFmt, t.Mean), t.Std, metric, t.N, t.T, pValue(t.P))
}

// pairs returns g's finished runs with their baseline counterparts.
func (e *Experiment) pairs(g *Group) (rows, counterparts []*Row) {
	for _, r := range g.Rows {
		if c := e.Counterpart(r); c != nil && r.OK() && c.OK() {
			rows, counterparts = append(rows, r), append(counterparts, c)
		}
	}
	return rows, counterparts
}

// meanOf returns the mean of f over rows whose value is finite, and whether there was one.
func meanOf(rows []*Row, f func(*Row) float64) (float64, bool) {
	var xs []float64
	for _, r := range rows {
		if v := f(r); isFinite(v) {
			xs = append(xs, v)
		}
	}
	m, _ := meanStd(xs)
	return m, len(xs) > 0
}

// scored returns the run's count of eval_loss positions, or NaN when its run.json predates it.
func scored(r *Row) float64 {
	if s := r.Run.Info.Data.Eval; s.Scored > 0 {
		return float64(s.Scored)
	}
	return math.NaN()
}

// promptShare is the share of r's eval_loss positions that are prompt tokens (NaN when unknown).
func promptShare(r *Row) float64 {
	if s := r.Run.Info.Data.Eval; s.Scored > 0 {
		return s.PromptShare
	}
	return math.NaN()
}

// unseenShare is the share of r's positions scored by metric whose token is never a trained
// label (NaN when unknown).
func unseenShare(r *Row, metric string) float64 {
	s := r.Run.Info.Data.Eval
	switch {
	case s.Scored == 0:
		return math.NaN()
	case metric == metricAnswerLoss:
		return s.UnseenAnswerShare
	}
	return s.UnseenShare
}

// unseenWorthNoting is the share of never-trained tokens from which the findings mention it.
const unseenWorthNoting = 0.05

// confounds lists, in plain words, what besides the compared setting differs between g's runs
// and their baseline counterparts, or what limits the comparison: different sets of scored
// tokens, different vocabularies (and so different initial weights), evaluation on the
// training split, and tokens that no run could learn. (A single seed is said by compareLine.)
func (e *Experiment) confounds(g *Group) []string {
	a, b, _ := e.sides(g)
	rows, base := e.pairs(g)
	if len(rows) == 0 {
		return nil
	}
	var out []string
	if e.Metric == metricEvalLoss {
		sa, okA := meanOf(rows, scored)
		sb, okB := meanOf(base, scored)
		pa, _ := meanOf(rows, promptShare)
		pb, _ := meanOf(base, promptShare)
		if okA && okB && (sa != sb || math.Abs(pa-pb) >= 0.005) {
			out = append(out, fmt.Sprintf("eval_loss scores different tokens in the two: %.0f positions of which %.1f%% are prompt tokens for %s, %.0f of which %.1f%% for %s, so part of the difference is how easy each one's prompt text is to predict, not the answers (answer_loss compares the same answer tokens)",
				sa, 100*pa, a, sb, 100*pb, b))
		}
	}
	for i, r := range rows {
		va, vb := r.Run.Info.Model.VocabSize, base[i].Run.Info.Model.VocabSize
		if va > 0 && vb > 0 && va != vb {
			out = append(out, fmt.Sprintf("the two use different vocabularies (%d and %d token ids), so their models differ in size and start from different weights at the same seed", va, vb))
			break
		}
	}
	var onTrain []string
	for _, side := range []struct {
		name string
		rows []*Row
	}{{a, rows}, {b, base}} {
		if side.rows[0].EvalSplit == metrics.SplitTrain {
			onTrain = append(onTrain, side.name)
		}
	}
	switch len(onTrain) {
	case 1:
		out = append(out, fmt.Sprintf("%s is measured on the training split (data.eval_on: train), which shows how well a model fits the examples it trained on, not how it does on new ones", onTrain[0]))
	case 2:
		out = append(out, "both are measured on the training split (data.eval_on: train), which shows how well a model fits the examples it trained on, not how it does on new ones")
	}
	ua, okA := meanOf(rows, func(r *Row) float64 { return unseenShare(r, e.Metric) })
	ub, okB := meanOf(base, func(r *Row) float64 { return unseenShare(r, e.Metric) })
	if okA && okB && math.Max(ua, ub) >= unseenWorthNoting {
		out = append(out, fmt.Sprintf("%.1f%% of %s's and %.1f%% of %s's scored positions hold a token that never occurs as a trained label, which no model can learn to predict; such tokens weigh on both losses",
			100*ua, a, 100*ub, b))
	}
	return out
}

// scoredText is the report's section on what the losses score: per configuration, how many
// positions eval_loss and answer_loss score, how many of eval_loss's are prompt tokens and how
// many hold tokens never trained, beside both losses; then, for each comparison with the
// baseline, how much of the eval_loss difference is on the answers and how much comes from also
// scoring the prompts. It is empty when no run recorded its scored positions.
func (e *Experiment) scoredText() string {
	known := false
	for _, r := range e.Rows {
		known = known || r.Run.Info.Data.Eval.Scored > 0
	}
	if !known {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## What the losses score\n\n")
	b.WriteString("eval_loss averages over every position the masking trains, so when the masking includes the prompt, a format whose prompts hold more easily predicted text (template words, an instruction repeated across examples) can get a lower eval_loss without answering any better. answer_loss scores the same answer tokens in every format. Means over each configuration's finished runs:\n\n")
	t := &table{}
	add := func(header string, cell func(g *Group) string) {
		c := column{header: header}
		for _, g := range e.Groups {
			c.cells = append(c.cells, cell(g))
		}
		t.cols = append(t.cols, c)
	}
	// Counts and shares are the same in every seed of a configuration: only their mean is shown.
	mean := func(format string, scale float64, f func(*Row) float64) func(g *Group) string {
		return func(g *Group) string {
			var xs []float64
			for _, r := range g.Finished() {
				if v := f(r); isFinite(v) {
					xs = append(xs, scale*v)
				}
			}
			m, _ := meanStd(xs)
			return fmtMeanStd(format, []float64{m}[:min(1, len(xs))])
		}
	}
	meanStdOf := func(f func(*Row) float64) func(g *Group) string {
		return func(g *Group) string {
			var xs []float64
			for _, r := range g.Finished() {
				if v := f(r); isFinite(v) {
					xs = append(xs, v)
				}
			}
			return fmtMeanStd(lossFmt, xs)
		}
	}
	count := func(f func(metrics.ScoredTokens) int) func(*Row) float64 {
		return func(r *Row) float64 {
			if s := r.Run.Info.Data.Eval; s.Scored > 0 {
				return float64(f(s))
			}
			return math.NaN()
		}
	}
	add("configuration", func(g *Group) string { return g.Label })
	add("eval_loss positions", mean("%.0f", 1, scored))
	add("of which prompt", mean(shareFmt, 100, promptShare))
	add("answer_loss positions", mean("%.0f", 1, count(func(s metrics.ScoredTokens) int { return s.Answer })))
	add("never-trained tokens", mean(shareFmt, 100, func(r *Row) float64 { return unseenShare(r, metricEvalLoss) }))
	add("eval_loss", meanStdOf(func(r *Row) float64 { return r.Summary.EvalLoss }))
	add("answer_loss", meanStdOf(func(r *Row) float64 { return r.Summary.AnswerLoss }))
	b.WriteString(t.markdown())
	if e.Baseline != nil {
		for _, g := range e.comparedGroups() {
			if p := e.promptEffect(g); p != "" {
				b.WriteString("\n" + p + "\n")
			}
		}
	}
	return b.String()
}

// promptEffect splits the paired eval_loss difference between g and its baseline into the part
// on the answers (the answer_loss difference) and the rest, which comes from the other positions
// eval_loss scores: the prompts. It is "" when there are no paired runs with both losses.
func (e *Experiment) promptEffect(g *Group) string {
	a, b, ctx := e.sides(g)
	dEval := e.groupDeltasOf(g, metricEvalLoss)
	dAns := e.groupDeltasOf(g, metricAnswerLoss)
	if len(dEval) == 0 || len(dEval) != len(dAns) {
		return ""
	}
	rows, base := e.pairs(g)
	pa, okA := meanOf(rows, promptShare)
	pb, okB := meanOf(base, promptShare)
	mEval, _ := meanStd(dEval)
	mAns, _ := meanStd(dAns)
	n := len(dEval)
	seeds := fmt.Sprintf("%d paired seeds (mean ± std)", n)
	if n == 1 {
		seeds = "one seed"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s minus %s%s, over %s: eval_loss %s, answer_loss %s.", a, b, ctx, seeds,
		fmtMeanStd(deltaFmt, dEval), fmtMeanStd(deltaFmt, dAns))
	if okA && okB && (pa > 0 || pb > 0) {
		fmt.Fprintf(&sb, " Of the eval_loss difference, %s is on the answers and %s comes from also scoring the prompt tokens, which are %.1f%% of %s's scored positions and %.1f%% of %s's.",
			signed(lossFmt, mAns), signed(lossFmt, mEval-mAns), 100*pa, a, 100*pb, b)
	} else if okA && okB {
		sb.WriteString(" eval_loss scores no prompt token here, so the two differ only in what they count at the end of each answer.")
	}
	if t, ok := pairedTTest(dAns); ok {
		verdict := "is not significant"
		if t.Significant() {
			verdict = "is significant"
		}
		fmt.Fprintf(&sb, " On the answers alone the difference %s at 5%% (two-sided paired t-test: t = %.2f, %s).", verdict, t.T, pValue(t.P))
	} else {
		sb.WriteString(" With one seed no test can tell it from seed-to-seed noise.")
	}
	return sb.String()
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
