package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
)

// Well-known config keys. The report reads them from each run's config.yaml; a key missing there
// is looked up in run.json's params.
const (
	keyFormat   = "data.format"
	keyMasking  = "data.masking"
	keyLR       = "train.learning_rate"
	keySteps    = "train.max_steps"
	keySeed     = "train.seed"
	keyBaseline = "report.baseline"
	keyDesc     = "description"
	keyEvalOn   = "data.eval_on"
	keyMetric   = "report.metric"
)

// Headline metrics that report.metric may choose.
const (
	metricEvalLoss   = "eval_loss"   // the positions the masking trains, prompts included unless completion_only
	metricAnswerLoss = "answer_loss" // the response tokens and their closing EOS only
)

// Key is a config key swept across the experiment's runs.
type Key struct {
	Path  string // full key path, e.g. "train.learning_rate"
	Label string // short name used in tables, plots and run names, e.g. "lr"
}

// Row is one run as the report shows it. Its numbers come from the run's Arrow files, through
// metrics.Summarize; only a run with no Arrow rows at all shows run.json's summary instead.
type Row struct {
	Run     metrics.Run
	Name    string
	Values  map[string]string // swept key path (seed included) → formatted value
	Group   string            // label of the configuration: the swept values except the seed
	Seed    string            // the seed, formatted ("" when unknown)
	Status  metrics.Status
	Summary metrics.Summary
	WallS   float64 // wall-clock seconds (NaN when unknown)
	// EvalSplit is the split Summary.EvalLoss and TokenAccuracy come from: "valid", or "train"
	// for a run configured with data.eval_on: train.
	EvalSplit string
}

// OK reports whether the run finished and its eval_loss is a finite number.
func (r Row) OK() bool { return r.Status == metrics.StatusOK && isFinite(r.Summary.EvalLoss) }

// Group is one configuration: the runs that differ only in their seed.
type Group struct {
	Label  string            // e.g. "format=sft,lr=0.001"; "all runs" when nothing but the seed is swept
	Values map[string]string // swept key path (seed excluded) → formatted value
	Rows   []*Row            // in seed order
}

// Finished returns the group's rows for which OK is true.
func (g *Group) Finished() []*Row {
	var out []*Row
	for _, r := range g.Rows {
		if r.OK() {
			out = append(out, r)
		}
	}
	return out
}

// Experiment is what the report knows about an experiment: its runs as rows, grouped by
// configuration, and the baseline the Δ columns compare against.
type Experiment struct {
	Name        string
	Description string
	Keys        []Key    // swept keys, seed excluded, in sweep order
	SeedKey     string   // path of the seed key when the seed is swept, else ""
	Hue         string   // path of the key plots colour by ("data.format" when swept), or ""
	Rows        []*Row   // sorted by configuration, then seed
	Groups      []*Group // sorted like Rows
	Baseline    *Baseline
	Notes       []string       // problems worth telling the reader (unknown baseline, unreadable files)
	Config      map[string]any // the config entries every run shares
	OnlyChanged bool           // hide constant table columns: report.only_changed, true unless set false
	// Metric is the headline metric of the findings, Δ columns, bar chart and sample choice:
	// report.metric, eval_loss unless set to answer_loss.
	Metric string
}

// Build turns an experiment's runs into rows and groups. baseline, when not empty, overrides the
// experiment's report.baseline key.
func Build(name string, runs []metrics.Run, baseline string) (*Experiment, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("experiment %q: no runs", name)
	}
	e := &Experiment{Name: name, Config: sharedConfig(runs), OnlyChanged: true, Metric: metricEvalLoss}
	if v, ok := e.Config["report.only_changed"].(bool); ok {
		e.OnlyChanged = v
	}
	if v, ok := e.Config[keyMetric].(string); ok {
		switch v {
		case metricEvalLoss, metricAnswerLoss:
			e.Metric = v
		default:
			e.Notes = append(e.Notes, fmt.Sprintf("report.metric %q is neither %s nor %s: the report uses %s", v, metricEvalLoss, metricAnswerLoss, metricEvalLoss))
		}
	}
	if d, ok := e.Config[keyDesc]; ok {
		e.Description = strings.TrimSpace(configs.FormatValue(d))
	}
	swept := sweptKeys(runs)
	for _, k := range swept {
		if k == keySeed || k == "seed" {
			e.SeedKey = k
			continue
		}
		e.Keys = append(e.Keys, Key{Path: k, Label: configs.Alias(k)})
	}
	for _, k := range e.Keys {
		if k.Path == keyFormat {
			e.Hue = keyFormat
		}
	}
	if e.Hue == "" && len(e.Keys) > 0 {
		e.Hue = e.Keys[0].Path
	}
	for _, run := range runs {
		e.Rows = append(e.Rows, e.newRow(run))
		if run.Err != nil {
			e.Notes = append(e.Notes, fmt.Sprintf("run %s: %s", run.Info.Name, oneLine(run.Err.Error())))
		}
	}
	sort.SliceStable(e.Rows, func(i, j int) bool { return e.lessRow(e.Rows[i], e.Rows[j]) })
	byLabel := map[string]*Group{}
	for _, r := range e.Rows {
		g := byLabel[r.Group]
		if g == nil {
			g = &Group{Label: r.Group, Values: map[string]string{}}
			for _, k := range e.Keys {
				g.Values[k.Path] = r.Values[k.Path]
			}
			byLabel[r.Group] = g
			e.Groups = append(e.Groups, g)
		}
		g.Rows = append(g.Rows, r)
	}
	spec := baseline
	if spec == "" {
		if b, ok := e.Config[keyBaseline]; ok {
			spec = configs.FormatValue(b)
		}
	}
	if spec != "" {
		b, err := e.parseBaseline(spec)
		if err != nil {
			e.Notes = append(e.Notes, err.Error())
		} else {
			e.Baseline = b
		}
	}
	return e, nil
}

// sweptKeys returns the keys that vary between runs: those named in run.json params (in the
// order they first appear), else the config keys whose values differ (sorted).
func sweptKeys(runs []metrics.Run) []string {
	var keys []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, p := range r.Info.Params {
			if !seen[p.Key] {
				seen[p.Key] = true
				keys = append(keys, p.Key)
			}
		}
	}
	// Keys that differ between runs without being swept (a --set, an edited experiment file,
	// runs left from an earlier version of it) split the runs too, so that no group averages
	// runs of different configurations as if they were seeds.
	all := map[string]bool{}
	for _, r := range runs {
		for k := range r.Config {
			all[k] = true
		}
	}
	var extra []string
	for k := range all {
		if seen[k] || !configs.AffectsResults(k) {
			continue
		}
		first := configValue(runs[0], k)
		for _, r := range runs[1:] {
			if configValue(r, k) != first {
				extra = append(extra, k)
				break
			}
		}
	}
	sort.Strings(extra)
	return append(keys, extra...)
}

// sharedConfig returns the config entries every readable config agrees on.
func sharedConfig(runs []metrics.Run) map[string]any {
	var shared map[string]any
	for _, r := range runs {
		if r.Config == nil {
			continue
		}
		if shared == nil {
			shared = map[string]any{}
			for k, v := range r.Config {
				shared[k] = v
			}
			continue
		}
		for k, v := range shared {
			if w, ok := r.Config[k]; !ok || configs.FormatValue(w) != configs.FormatValue(v) {
				delete(shared, k)
			}
		}
	}
	if shared == nil {
		shared = map[string]any{}
	}
	return shared
}

// configValue returns a run's value for a key path, formatted: from config.yaml, else from the
// run.json params, else "".
func configValue(r metrics.Run, path string) string {
	if v, ok := r.Config[path]; ok {
		return configs.FormatValue(v)
	}
	for _, p := range r.Info.Params {
		if p.Key == path {
			return configs.FormatValue(p.Value)
		}
	}
	return ""
}

// newRow derives a run's row: its swept values, configuration label, seed and numbers.
func (e *Experiment) newRow(run metrics.Run) *Row {
	r := &Row{Run: run, Name: run.Info.Name, Status: run.Info.Status, Values: map[string]string{}, EvalSplit: metrics.SplitValid}
	var parts []string
	for _, k := range e.Keys {
		v := configValue(run, k.Path)
		r.Values[k.Path] = v
		parts = append(parts, k.Label+"="+v)
	}
	r.Group = strings.Join(parts, ",")
	if r.Group == "" {
		r.Group = "all runs"
	}
	seedKey := e.SeedKey
	if seedKey == "" {
		seedKey = keySeed
	}
	r.Seed = configValue(run, seedKey)
	if e.SeedKey != "" {
		r.Values[e.SeedKey] = r.Seed
	}
	evalOn := configValue(run, keyEvalOn)
	if evalOn == metrics.SplitTrain {
		r.EvalSplit = metrics.SplitTrain
	}
	r.Summary = metrics.SummarizeFor(run.Steps, run.Evals, evalOn)
	r.Summary.AddGenerations(run.Generations)
	if len(run.Steps) == 0 && len(run.Evals) == 0 {
		r.Summary = run.Info.Summary
	}
	r.WallS = run.Info.Provenance.WallS
	if r.WallS == 0 {
		r.WallS = math.NaN()
		if n := len(run.Steps); n > 0 {
			r.WallS = run.Steps[n-1].ElapsedS
		}
	}
	return r
}

// lessRow orders rows by each swept key's value, then seed, then name.
func (e *Experiment) lessRow(a, b *Row) bool {
	for _, k := range e.Keys {
		if c := compareValues(a.Values[k.Path], b.Values[k.Path]); c != 0 {
			return c < 0
		}
	}
	if c := compareValues(a.Seed, b.Seed); c != 0 {
		return c < 0
	}
	return a.Name < b.Name
}

// compareValues compares two formatted values numerically when both are numbers, else as text.
func compareValues(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// Baseline is what the Δ columns compare against: either one run, or the runs whose swept keys
// take the given values (each run is then paired with the baseline run that differs from it only
// in those keys, so seeds pair up).
type Baseline struct {
	Spec   string            // as written, e.g. "format=sft"
	Run    *Row              // set when Spec names a single run
	Values map[string]string // key path → value, when Spec is key=value pairs
}

// parseBaseline reads a baseline spec: a run name, or comma-separated key=value pairs whose keys
// are swept keys given by label ("format") or path ("data.format").
func (e *Experiment) parseBaseline(spec string) (*Baseline, error) {
	for _, r := range e.Rows {
		if r.Name == spec {
			return &Baseline{Spec: spec, Run: r}, nil
		}
	}
	for part := range strings.SplitSeq(spec, ",") {
		if !strings.Contains(part, "=") {
			return nil, fmt.Errorf("report.baseline %q: %q is neither a run name nor key=value", spec, part)
		}
	}
	terms, err := configs.ParseSelector(spec)
	if err != nil {
		return nil, fmt.Errorf("report.baseline %q: %w", spec, err)
	}
	b := &Baseline{Spec: spec, Values: map[string]string{}}
	for _, t := range terms {
		if !slices.ContainsFunc(e.Keys, func(k Key) bool { return k.Path == t.Key }) {
			var labels []string
			for _, key := range e.Keys {
				labels = append(labels, key.Label)
			}
			return nil, fmt.Errorf("report.baseline %q: %q is not a swept key (swept: %s); no Δ columns", spec, configs.Alias(t.Key), strings.Join(labels, ", "))
		}
		v, found := t.Value, false
		for _, r := range e.Rows {
			if compareValues(r.Values[t.Key], t.Value) == 0 {
				found, v = true, r.Values[t.Key]
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("report.baseline %q: no run has %s=%s; no Δ columns", spec, configs.Alias(t.Key), t.Value)
		}
		b.Values[t.Key] = v
	}
	return b, nil
}

// IsBaseline reports whether r is (part of) the baseline.
func (b *Baseline) IsBaseline(r *Row) bool {
	if b.Run != nil {
		return r == b.Run
	}
	for k, v := range b.Values {
		if r.Values[k] != v {
			return false
		}
	}
	return true
}

// Counterpart returns the baseline run r is compared with, or nil when there is none.
func (e *Experiment) Counterpart(r *Row) *Row {
	b := e.Baseline
	if b == nil {
		return nil
	}
	if b.Run != nil {
		return b.Run
	}
	for _, c := range e.Rows {
		match := true
		for k, v := range r.Values {
			if want, isBase := b.Values[k]; isBase {
				v = want
			}
			if c.Values[k] != v {
				match = false
				break
			}
		}
		if match {
			return c
		}
	}
	return nil
}

// Value returns r's headline metric (e.Metric).
func (e *Experiment) Value(r *Row) float64 { return metricValue(r, e.Metric) }

// metricValue returns r's eval_loss or answer_loss.
func metricValue(r *Row, metric string) float64 {
	if metric == metricAnswerLoss {
		return r.Summary.AnswerLoss
	}
	return r.Summary.EvalLoss
}

// finished reports whether r finished with a finite headline metric.
func (e *Experiment) finished(r *Row) bool { return r.OK() && isFinite(e.Value(r)) }

// Delta returns r's headline metric minus its counterpart's, and whether both are finished.
func (e *Experiment) Delta(r *Row) (float64, bool) {
	return e.deltaOf(r, e.Metric)
}

// deltaOf returns r's metric minus its counterpart's, and whether both are finite.
func (e *Experiment) deltaOf(r *Row, metric string) (float64, bool) {
	c := e.Counterpart(r)
	if c == nil || !r.OK() || !c.OK() {
		return 0, false
	}
	d := metricValue(r, metric) - metricValue(c, metric)
	return d, isFinite(d)
}

// GroupDeltas returns the paired differences of the headline metric between g's finished runs
// and their counterparts.
func (e *Experiment) GroupDeltas(g *Group) []float64 {
	return e.groupDeltasOf(g, e.Metric)
}

// groupDeltasOf returns the paired differences of metric between g's finished runs and their
// counterparts.
func (e *Experiment) groupDeltasOf(g *Group, metric string) []float64 {
	var out []float64
	for _, r := range g.Rows {
		if d, ok := e.deltaOf(r, metric); ok {
			out = append(out, d)
		}
	}
	return out
}

// meanStd returns the mean and the sample standard deviation (n−1 in the denominator; 0 for a
// single value) of xs.
func meanStd(xs []float64) (mean, std float64) {
	switch len(xs) {
	case 0:
		return math.NaN(), math.NaN()
	case 1:
		return xs[0], 0
	}
	return stat.MeanStdDev(xs, nil)
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// oneLine collapses whitespace runs, newlines included, to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
