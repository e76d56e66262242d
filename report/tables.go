package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/sftlab/sftlab/metrics"
)

// Number formats used in every table (fixed, so reports diff cleanly):
//   - losses, token accuracy, exact match and ROUGE-L: 4 decimals ("3.1416"); differences with a
//     sign ("+0.0123"); chrF (0–100): 2 decimals
//   - mean ± sample standard deviation over the finished seeds ("3.1416 ± 0.0123"), the mean alone
//     for a single run
//   - tokens/s: whole numbers; generation and wall time: seconds with 1 decimal
//   - "—" marks a value that was not measured; "NaN"/"+Inf" are what a diverged run produced.
const (
	lossFmt  = "%.4f"
	deltaFmt = "%+.4f"
	missing  = "—"
)

// column is one table column: a header and one cell per row.
type column struct {
	header string
	cells  []string
	keep   bool // shown even when every cell is the same
}

// table is a GitHub-flavoured markdown table built from columns.
type table struct {
	cols   []column
	hidden []string // "header=value" of the constant columns left out
}

// onlyChanged drops the columns whose cells are all equal (unless keep is set), remembering
// their common value, like `dvc exp show --only-changed`. Tables of one row keep every column.
func (t *table) onlyChanged() {
	if len(t.cols) == 0 || len(t.cols[0].cells) < 2 {
		return
	}
	var kept []column
	for _, c := range t.cols {
		same := true
		for _, v := range c.cells[1:] {
			if v != c.cells[0] {
				same = false
				break
			}
		}
		if same && !c.keep {
			t.hidden = append(t.hidden, c.header+"="+c.cells[0])
			continue
		}
		kept = append(kept, c)
	}
	t.cols = kept
}

// markdown renders the table; every line has the header's number of cells.
func (t *table) markdown() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + escapeCell(c) + " |")
		}
		b.WriteString("\n")
	}
	var header, sep []string
	for _, c := range t.cols {
		header = append(header, c.header)
		sep = append(sep, "---")
	}
	line(header)
	b.WriteString("|" + strings.Repeat("---|", len(sep)) + "\n")
	if len(t.cols) > 0 {
		for i := range t.cols[0].cells {
			var cells []string
			for _, c := range t.cols {
				cells = append(cells, c.cells[i])
			}
			line(cells)
		}
	}
	return b.String()
}

// escapeCell makes s safe inside a markdown table cell.
func escapeCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return oneLine(s)
}

// fmtMetric formats one measured value of a run with status st.
func fmtMetric(format string, x float64, st metrics.Status) string {
	switch {
	case math.IsNaN(x) && st == metrics.StatusDiverged:
		return "NaN"
	case math.IsNaN(x):
		return missing
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "-Inf"
	}
	return fmt.Sprintf(format, x)
}

// signed formats x with format and an explicit sign, writing a value that rounds to zero as
// "+0.0000" rather than "-0.0000".
func signed(format string, x float64) string {
	s := fmt.Sprintf(format, x)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// fmtMeanStd formats the mean ± std of xs, or the value alone for one.
func fmtMeanStd(format string, xs []float64) string {
	if len(xs) == 0 {
		return missing
	}
	m, s := meanStd(xs)
	mean := fmt.Sprintf(format, m)
	if strings.HasPrefix(format, "%+") {
		mean = signed(strings.Replace(format, "+", "", 1), m)
	}
	if len(xs) == 1 {
		return mean
	}
	return mean + " ± " + fmt.Sprintf(strings.Replace(format, "+", "", 1), s)
}

// metricCol describes one per-run metric column.
type metricCol struct {
	header string
	format string
	value  func(*Row) float64
	split  string // the eval split the value comes from, "" for step metrics
	// optional marks a value that a run may not measure at all (generation scores): NaN shows
	// as not measured, never as what a diverged run produced.
	optional bool
}

// shareFmt formats a share of positions as a percentage.
const shareFmt = "%.1f%%"

func metricCols() []metricCol {
	percent := func(f func(*Row) float64) func(*Row) float64 { return func(r *Row) float64 { return 100 * f(r) } }
	return []metricCol{
		{"train_loss", lossFmt, func(r *Row) float64 { return r.Summary.TrainLoss }, "", false},
		{"last-step loss", lossFmt, func(r *Row) float64 { return r.Summary.FinalTrainLoss }, "", false},
		{"eval_loss", lossFmt, func(r *Row) float64 { return r.Summary.EvalLoss }, metrics.SplitValid, false},
		{"answer_loss", lossFmt, func(r *Row) float64 { return r.Summary.AnswerLoss }, metrics.SplitValid, false},
		{"eval_loss (train)", lossFmt, func(r *Row) float64 { return r.Summary.EvalLossTrain }, metrics.SplitTrain, false},
		{"token_acc", lossFmt, func(r *Row) float64 { return r.Summary.TokenAccuracy }, metrics.SplitValid, false},
		{"prompt share", shareFmt, percent(promptShare), "", false},
		{"unseen", shareFmt, percent(func(r *Row) float64 { return unseenShare(r, metricEvalLoss) }), "", false},
		{"exact_match", lossFmt, func(r *Row) float64 { return r.Summary.ExactMatch }, "", true},
		{"rouge_l", lossFmt, func(r *Row) float64 { return r.Summary.RougeL }, "", true},
		{"chrf", "%.2f", func(r *Row) float64 { return r.Summary.ChrF }, "", true},
		{"tokens/s", "%.0f", func(r *Row) float64 { return r.Summary.TokensPerS }, "", false},
		{"gen (s)", "%.1f", func(r *Row) float64 { return r.Summary.GenerateS }, "", true},
		{"wall (s)", "%.1f", func(r *Row) float64 { return r.WallS }, "", false},
	}
}

// configCols returns the configuration columns: format, masking, lr, steps and seed, then any
// other swept key.
func (e *Experiment) configCols() []Key {
	cols := []Key{{keyFormat, "format"}, {keyMasking, "masking"}, {keyLR, "lr"}, {keySteps, "steps"}}
	known := map[string]bool{keyFormat: true, keyMasking: true, keyLR: true, keySteps: true}
	for _, k := range e.Keys {
		if !known[k.Path] {
			cols = append(cols, k)
		}
	}
	return cols
}

// deltaHeader names the Δ column.
func (e *Experiment) deltaHeader() string {
	return "Δ " + e.Metric + " vs " + e.Baseline.Spec
}

// runTable is the per-run table: one row per run, in configuration then seed order.
func (e *Experiment) runTable(allColumns bool) *table {
	t := &table{}
	add := func(header string, keep bool, cell func(*Row) string) {
		c := column{header: header, keep: keep}
		for _, r := range e.Rows {
			c.cells = append(c.cells, cell(r))
		}
		t.cols = append(t.cols, c)
	}
	add("run", true, func(r *Row) string { return r.Name })
	for _, k := range e.configCols() {
		add(k.Label, false, func(r *Row) string { return orMissing(configValue(r.Run, k.Path)) })
	}
	add("seed", false, func(r *Row) string { return orMissing(r.Seed) })
	for _, m := range metricCols() {
		add(m.header, false, func(r *Row) string {
			st := r.Status
			if m.optional {
				st = ""
			}
			cell := fmtMetric(m.format, m.value(r), st)
			// A run that stopped early may have evaluated before it stopped: say when.
			split := m.split
			if split == metrics.SplitValid {
				split = r.EvalSplit
			}
			if ev, ok := metrics.LastEval(r.Run.Evals, split); ok && split != "" && r.Status != metrics.StatusOK && ev.Step < r.Summary.Steps {
				cell += fmt.Sprintf(" (step %d)", ev.Step)
			}
			return cell
		})
	}
	add("status", false, func(r *Row) string {
		if r.Status != metrics.StatusOK {
			return "**" + string(r.Status) + "**"
		}
		return string(r.Status)
	})
	if e.Baseline != nil {
		add(e.deltaHeader(), true, func(r *Row) string {
			if e.Baseline.IsBaseline(r) {
				return "baseline"
			}
			if d, ok := e.Delta(r); ok {
				return signed(lossFmt, d)
			}
			return missing
		})
	}
	if !allColumns {
		t.onlyChanged()
	}
	return t
}

// groupTable is the per-configuration table: mean ± std over each configuration's finished seeds.
func (e *Experiment) groupTable(allColumns bool) *table {
	t := &table{}
	add := func(header string, keep bool, cell func(*Group) string) {
		c := column{header: header, keep: keep}
		for _, g := range e.Groups {
			c.cells = append(c.cells, cell(g))
		}
		t.cols = append(t.cols, c)
	}
	if len(e.Keys) == 0 {
		add("configuration", true, func(g *Group) string { return g.Label })
	}
	for _, k := range e.configCols() {
		add(k.Label, false, func(g *Group) string { return orMissing(configValue(g.Rows[0].Run, k.Path)) })
	}
	add("runs ok", true, func(g *Group) string { return fmt.Sprintf("%d/%d", len(g.Finished()), len(g.Rows)) })
	for _, m := range metricCols() {
		add(m.header, false, func(g *Group) string {
			var xs []float64
			for _, r := range g.Finished() {
				if v := m.value(r); isFinite(v) {
					xs = append(xs, v)
				}
			}
			if m.format == shareFmt && len(xs) > 0 {
				// A share of the data's positions: the same in every seed, so only the mean.
				mean, _ := meanStd(xs)
				xs = []float64{mean}
			}
			return fmtMeanStd(m.format, xs)
		})
	}
	if e.Baseline != nil {
		add(e.deltaHeader()+" (paired)", true, func(g *Group) string {
			if len(g.Rows) > 0 && e.Baseline.IsBaseline(g.Rows[0]) && e.Baseline.Run == nil {
				return "baseline"
			}
			return fmtMeanStd(deltaFmt, e.GroupDeltas(g))
		})
	}
	if !allColumns {
		t.onlyChanged()
	}
	return t
}

func orMissing(s string) string {
	if s == "" {
		return missing
	}
	return s
}

// ComparisonMarkdown renders comparison.md: the per-configuration and per-run tables.
func (e *Experiment) ComparisonMarkdown(allColumns bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: comparison\n\n", e.Name)
	b.WriteString(e.tablesMarkdown(allColumns, "##"))
	return b.String()
}

// tablesMarkdown renders both tables under headings of the given level, with the notes that
// explain them.
func (e *Experiment) tablesMarkdown(allColumns bool, h string) string {
	var b strings.Builder
	b.WriteString("Losses are mean cross-entropy in nats per token (lower is better). eval_loss is measured on the " +
		"held-out split over the positions the masking trains (prompt tokens too, unless completion_only); answer_loss " +
		"over the same examples' response tokens and closing EOS only, whatever the masking; eval_loss (train) on the " +
		"training split. train_loss is the mean over all steps, as Hugging Face reports it; last-step loss is the final " +
		"step's. prompt share is the share of eval_loss's positions that are prompt tokens, unseen the share whose token " +
		"never occurs as a trained label. Losses and token accuracy have 4 decimals, tokens/s is whole, wall time is in seconds.")
	if e.scored() {
		b.WriteString(" exact_match, rouge_l and chrf score the greedy completions of the first eval.samples held-out prompts " +
			"against their references (higher is better): the share of exact matches, the mean character-level ROUGE-L F1 (0–1) " +
			"and the corpus chrF2 of sacreBLEU (character 1- to 6-grams, 0–100); gen (s) is the time generating them took.")
	}
	var onTrain []string
	for _, r := range e.Rows {
		if r.EvalSplit == metrics.SplitTrain {
			onTrain = append(onTrain, "`"+r.Name+"`")
		}
	}
	switch {
	case len(onTrain) == len(e.Rows):
		b.WriteString(" These runs set data.eval_on: train (as the classroom script did), so eval_loss and token_acc are measured on the training split, not on held-out data.")
	case len(onTrain) > 0:
		fmt.Fprintf(&b, " Runs %s set data.eval_on: train: their eval_loss and token_acc are measured on the training split.", strings.Join(onTrain, ", "))
	}
	if e.Baseline != nil {
		fmt.Fprintf(&b, " Δ is a run's %s minus that of its baseline run (%s, same seed and other settings); negative means better than the baseline.", e.Metric, e.Baseline.Spec)
	}
	b.WriteString("\n\n")
	for _, n := range e.Notes {
		fmt.Fprintf(&b, "> Note: %s\n\n", n)
	}
	gt := e.groupTable(allColumns)
	fmt.Fprintf(&b, "%s By configuration\n\n", h)
	b.WriteString("Mean ± sample standard deviation over each configuration's finished runs (failed and diverged runs are left out and counted in `runs ok`).\n\n")
	b.WriteString(gt.markdown())
	rt := e.runTable(allColumns)
	fmt.Fprintf(&b, "\n%s All runs\n\n", h)
	b.WriteString(rt.markdown())
	if len(rt.hidden) > 0 {
		fmt.Fprintf(&b, "\nSame in every run (hidden; `--all-columns` shows them): %s.\n", strings.Join(rt.hidden, ", "))
	}
	if bad := e.unfinished(); len(bad) > 0 {
		fmt.Fprintf(&b, "\n%s Runs that did not finish\n\n", h)
		for _, r := range bad {
			msg := r.Run.Info.Error
			if msg == "" {
				msg = "no error recorded"
			}
			fmt.Fprintf(&b, "- `%s` (%s): %s\n", r.Name, r.Status, oneLine(msg))
		}
	}
	return b.String()
}

// unfinished returns the rows whose status is not ok.
func (e *Experiment) unfinished() []*Row {
	var out []*Row
	for _, r := range e.Rows {
		if r.Status != metrics.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// scored reports whether some run scored generated completions.
func (e *Experiment) scored() bool {
	for _, r := range e.Rows {
		if isFinite(r.Summary.ChrF) {
			return true
		}
	}
	return false
}
