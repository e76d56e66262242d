package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
)

// Side is one side of a comparison: a run, or an experiment summarised over its finished runs.
type Side struct {
	Label   string
	Config  map[string]string // flat key path → formatted value
	Metrics map[string]float64
	Note    string // how the metrics were obtained, e.g. "mean over 6 finished runs"
}

// compareMetrics lists the metrics a comparison shows, in order.
func compareMetrics() []metricCol {
	return append(metricCols(), metricCol{"steps", "%.0f", func(r *Row) float64 { return float64(r.Summary.Steps) }, "", false})
}

// RunSide describes one run for Compare.
func RunSide(run metrics.Run) Side {
	e := &Experiment{}
	r := e.newRow(run)
	s := Side{Label: run.Info.Name, Config: map[string]string{}, Metrics: map[string]float64{}, Note: "status " + string(run.Info.Status)}
	for k, v := range run.Config {
		s.Config[k] = configs.FormatValue(v)
	}
	for _, m := range compareMetrics() {
		s.Metrics[m.header] = m.value(r)
	}
	return s
}

// ExperimentSide describes an experiment for Compare: a config key the runs agree on keeps its
// value, one they differ in shows every value in braces; metrics are means over finished runs.
func ExperimentSide(name string, runs []metrics.Run) (Side, error) {
	e, err := Build(name, runs, "")
	if err != nil {
		return Side{}, err
	}
	s := Side{Label: name, Config: map[string]string{}, Metrics: map[string]float64{}}
	values := map[string]map[string]bool{}
	for _, r := range runs {
		for k, v := range r.Config {
			if values[k] == nil {
				values[k] = map[string]bool{}
			}
			values[k][configs.FormatValue(v)] = true
		}
	}
	for k, vs := range values {
		list := make([]string, 0, len(vs))
		for v := range vs {
			list = append(list, v)
		}
		sort.Slice(list, func(i, j int) bool { return compareValues(list[i], list[j]) < 0 })
		if len(list) == 1 {
			s.Config[k] = list[0]
		} else {
			s.Config[k] = "{" + strings.Join(list, ", ") + "}"
		}
	}
	var finished []*Row
	for _, r := range e.Rows {
		if r.OK() {
			finished = append(finished, r)
		}
	}
	s.Note = fmt.Sprintf("mean over the %d finished of %d runs", len(finished), len(e.Rows))
	for _, m := range compareMetrics() {
		var xs []float64
		for _, r := range finished {
			if v := m.value(r); isFinite(v) {
				xs = append(xs, v)
			}
		}
		s.Metrics[m.header], _ = meanStd(xs)
	}
	return s, nil
}

// Compare renders the differences between a and b as markdown: the config keys whose values
// differ, then every metric with both values and the change from a to b (like `dvc metrics diff`).
func Compare(a, b Side) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "A: %s (%s)\nB: %s (%s)\n\n", a.Label, a.Note, b.Label, b.Note)
	keys := map[string]bool{}
	for k := range a.Config {
		keys[k] = true
	}
	for k := range b.Config {
		keys[k] = true
	}
	var diff []string
	for k := range keys {
		if k != keyDesc && a.Config[k] != b.Config[k] {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	sb.WriteString("## Config\n\n")
	if len(diff) == 0 {
		sb.WriteString("No config differences.\n")
	} else {
		t := &table{cols: []column{{header: "key"}, {header: "A"}, {header: "B"}}}
		for _, k := range diff {
			t.cols[0].cells = append(t.cols[0].cells, k)
			t.cols[1].cells = append(t.cols[1].cells, orMissing(a.Config[k]))
			t.cols[2].cells = append(t.cols[2].cells, orMissing(b.Config[k]))
		}
		sb.WriteString(t.markdown())
	}
	sb.WriteString("\n## Metrics\n\n")
	t := &table{cols: []column{{header: "metric"}, {header: "A"}, {header: "B"}, {header: "change"}}}
	for _, m := range compareMetrics() {
		x, y := a.Metrics[m.header], b.Metrics[m.header]
		change := missing
		if isFinite(x) && isFinite(y) {
			change = signed(m.format, y-x)
		}
		t.cols[0].cells = append(t.cols[0].cells, m.header)
		t.cols[1].cells = append(t.cols[1].cells, fmtMetric(m.format, x, ""))
		t.cols[2].cells = append(t.cols[2].cells, fmtMetric(m.format, y, ""))
		t.cols[3].cells = append(t.cols[3].cells, change)
	}
	sb.WriteString(t.markdown())
	return sb.String()
}
