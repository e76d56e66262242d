package report

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/metrics"
)

// Options control what a report shows.
type Options struct {
	AllColumns bool   // also show the table columns whose value is the same in every row (also when report.only_changed is false)
	Baseline   string // overrides the experiment's report.baseline ("format=sft" or a run name)
	Samples    int    // sample completions shown per format in REPORT.md; 0 means 3
}

// Report file names inside the output folder.
const (
	ComparisonFile = "comparison.md"
	ReportFile     = "REPORT.md"
)

// Generate reads the runs of experiment name under runsDir and writes its report to outDir. It
// returns the experiment as built and the paths written.
func Generate(runsDir, name, outDir string, opts Options) (*Experiment, []string, error) {
	runs, skipped, err := metrics.ReadExperiment(runsDir, name)
	if err != nil {
		return nil, nil, err
	}
	e, err := Build(name, runs, opts.Baseline)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range skipped {
		e.Notes = append(e.Notes, oneLine(s.Error()))
	}
	files, err := Write(outDir, e, opts)
	return e, files, err
}

// Write renders e into outDir: every figure as PNG and SVG, comparison.md and REPORT.md. Each
// file is written atomically; it returns the paths written.
func Write(outDir string, e *Experiment, opts Options) ([]string, error) {
	figs, err := e.Figures()
	if err != nil {
		return nil, err
	}
	opts.AllColumns = opts.AllColumns || !e.OnlyChanged
	var written []string
	for _, f := range figs {
		for _, kind := range []struct {
			ext    string
			render func() ([]byte, error)
		}{{".png", f.PNG}, {".svg", f.SVG}} {
			data, err := kind.render()
			if err != nil {
				return written, err
			}
			path := filepath.Join(outDir, f.Name+kind.ext)
			if err := atomicfile.WriteFile(path, data); err != nil {
				return written, err
			}
			written = append(written, path)
		}
	}
	for _, doc := range []struct{ name, text string }{
		{ComparisonFile, e.ComparisonMarkdown(opts.AllColumns)},
		{ReportFile, e.ReportMarkdown(figs, opts)},
	} {
		path := filepath.Join(outDir, doc.name)
		if err := atomicfile.WriteFile(path, []byte(doc.text)); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// ReportMarkdown renders REPORT.md: what was compared and why, the derived findings, the
// figures (linked as name.png beside the file), the tables, sample completions per format and
// the provenance of the runs.
func (e *Experiment) ReportMarkdown(figs []*Figure, opts Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Experiment report: %s\n\n", e.Name)
	b.WriteString("## What was compared and why\n\n")
	if e.Description != "" {
		b.WriteString(e.Description + "\n\n")
	} else {
		b.WriteString("The experiment file has no `description:`.\n\n")
	}
	b.WriteString(e.setupText())
	b.WriteString("\n## Findings\n\n")
	for _, f := range e.Findings() {
		b.WriteString("- " + f + "\n")
	}
	b.WriteString("\nLower is better. eval_loss is the mean cross-entropy, in nats per token, over the positions the masking trains in the evaluation split (held-out examples unless data.eval_on says train), prompt tokens included unless the masking is completion_only; answer_loss is the same over the response tokens and their closing EOS only. " +
		"The headline metric (report.metric) is " + e.Metric + ".\n")
	b.WriteString(e.scoredText())
	if len(figs) > 0 {
		b.WriteString("\n## Plots\n")
		for _, f := range figs {
			fmt.Fprintf(&b, "\n### %s\n\n![%s](%s.png)\n\n%s ([SVG](%s.svg))\n", f.Title, f.Title, f.Name, f.Caption, f.Name)
		}
	}
	b.WriteString("\n## Results\n\n")
	b.WriteString(e.tablesMarkdown(opts.AllColumns, "###"))
	b.WriteString("\n## Sample completions\n\n")
	b.WriteString(e.samplesText(opts.Samples))
	b.WriteString("\n## Provenance\n\n")
	b.WriteString(e.provenanceText())
	if cfg := e.configTable(); cfg != "" {
		b.WriteString("\n<details><summary>Configuration shared by every run</summary>\n\n")
		b.WriteString(cfg)
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

// setupText says what was swept and how many runs there are.
func (e *Experiment) setupText() string {
	var parts []string
	for _, k := range e.Keys {
		parts = append(parts, fmt.Sprintf("%s (%s)", k.Label, strings.Join(e.distinct(k.Path, e.Rows), ", ")))
	}
	if e.SeedKey != "" {
		parts = append(parts, fmt.Sprintf("seed (%s)", strings.Join(e.distinct(e.SeedKey, e.Rows), ", ")))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d run(s), nothing swept.\n", len(e.Rows))
	}
	s := fmt.Sprintf("Swept: %s; %d runs in %d configuration(s).", strings.Join(parts, " × "), len(e.Rows), len(e.Groups))
	if e.Baseline != nil {
		s += fmt.Sprintf(" Baseline for the Δ columns: `%s`.", e.Baseline.Spec)
	}
	return s + "\n"
}

// samplesText shows up to n completions per format, each from the finished run of that format
// with the lowest eval_loss that wrote samples.
func (e *Experiment) samplesText(n int) string {
	if n <= 0 {
		n = 3
	}
	best := map[string]*Row{}
	for _, r := range e.Rows {
		if len(r.Run.Samples) == 0 {
			continue
		}
		format := configValue(r.Run, keyFormat)
		if format == "" {
			format = r.Run.Samples[0].Format
		}
		cur := best[format]
		if cur == nil || (e.finished(r) && (!e.finished(cur) || e.Value(r) < e.Value(cur))) {
			best[format] = r
		}
	}
	if len(best) == 0 {
		return "No run wrote samples.jsonl.\n"
	}
	formats := make([]string, 0, len(best))
	for f := range best {
		formats = append(formats, f)
	}
	sort.Strings(formats)
	var b strings.Builder
	fmt.Fprintf(&b, "Greedy completions of held-out prompts, from the run of each format with the lowest %s.\n", e.Metric)
	for _, f := range formats {
		r := best[f]
		fmt.Fprintf(&b, "\n### %s\n\nRun `%s` (%s %s).\n", orMissing(f), r.Name, e.Metric, fmtMetric(lossFmt, e.Value(r), r.Status))
		for i, s := range r.Run.Samples {
			if i == n {
				break
			}
			fmt.Fprintf(&b, "\n**Sample %d.** Prompt:\n\n%s\nModel output:\n\n%s\nReference:\n\n%s", i+1, fence(s.Prompt), fence(s.Completion), fence(s.Reference))
			if sc := s.Scores; sc != nil {
				fmt.Fprintf(&b, "\nScores: exact match %.0f, ROUGE-L F1 %.4f, chrF %.2f.\n", sc.ExactMatch, sc.RougeL, sc.ChrF)
			}
		}
	}
	return b.String()
}

// fence wraps s in a code block whose fence is longer than any backtick run inside it.
func fence(s string) string {
	ticks := "```"
	for strings.Contains(s, ticks) {
		ticks += "`"
	}
	return ticks + "text\n" + strings.TrimRight(s, "\n") + "\n" + ticks + "\n"
}

// provenanceText lists the distinct provenance values over the runs.
func (e *Experiment) provenanceText() string {
	fields := []struct {
		name string
		get  func(metrics.Provenance) string
	}{
		{"git commit", func(p metrics.Provenance) string {
			if p.GitDirty {
				return p.GitCommit + " (uncommitted changes)"
			}
			return p.GitCommit
		}},
		{"Go", func(p metrics.Provenance) string { return p.GoVersion }},
		{"GoMLX", func(p metrics.Provenance) string { return p.GoMLXVersion }},
		{"backend", func(p metrics.Provenance) string { return p.Backend }},
		{"device", func(p metrics.Provenance) string { return p.Device }},
		{"host", func(p metrics.Provenance) string { return p.Host }},
		{"dataset hash", func(p metrics.Provenance) string { return p.DatasetHash }},
		{"tokenizer hash", func(p metrics.Provenance) string { return p.TokenizerHash }},
	}
	t := &table{cols: []column{{header: "field"}, {header: "value(s) over the runs"}}}
	for _, f := range fields {
		var vals []string
		seen := map[string]bool{}
		for _, r := range e.Rows {
			v := f.get(r.Run.Info.Provenance)
			if v != "" && !seen[v] {
				seen[v] = true
				vals = append(vals, v)
			}
		}
		sort.Strings(vals)
		t.cols[0].cells = append(t.cols[0].cells, f.name)
		t.cols[1].cells = append(t.cols[1].cells, orMissing(strings.Join(vals, ", ")))
	}
	var first, last time.Time
	var wall float64
	for _, r := range e.Rows {
		p := r.Run.Info.Provenance
		if !p.StartTime.IsZero() && (first.IsZero() || p.StartTime.Before(first)) {
			first = p.StartTime
		}
		if p.EndTime.After(last) {
			last = p.EndTime
		}
		if isFinite(r.WallS) {
			wall += r.WallS
		}
	}
	t.cols[0].cells = append(t.cols[0].cells, "runs started – ended", "wall time, all runs")
	when := missing
	if !first.IsZero() && !last.IsZero() {
		when = first.UTC().Format(time.RFC3339) + " – " + last.UTC().Format(time.RFC3339)
	}
	t.cols[1].cells = append(t.cols[1].cells, when, fmt.Sprintf("%.1f s", wall))
	return t.markdown()
}

// configTable lists the configuration every run shares, sorted by key; the description and the
// sweep definition are left out.
func (e *Experiment) configTable() string {
	var keys []string
	for k := range e.Config {
		if k == keyDesc || strings.HasPrefix(k, "sweep.") || k == "sweep" {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	t := &table{cols: []column{{header: "key"}, {header: "value"}}}
	for _, k := range keys {
		t.cols[0].cells = append(t.cols[0].cells, k)
		t.cols[1].cells = append(t.cols[1].cells, orMissing(configs.FormatValue(e.Config[k])))
	}
	return t.markdown()
}
