package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/cmpimg"

	"github.com/sftlab/sftlab/metrics"
)

var plotsDir = flag.String("plots", "", "also write the synthetic lr_sweep report to this folder, to look at the plots")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

// generate writes the report of the committed fixture into a temporary folder.
func generate(t *testing.T, opts Options) (*Experiment, string) {
	t.Helper()
	out := t.TempDir()
	e, _, err := Generate(fixtureRunsDir(t), "fixture", out, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e, out
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestGoldenMarkdown(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		file   string
		golden string
	}{
		{"comparison", Options{}, ComparisonFile, "fixture.comparison.md"},
		{"comparison all columns", Options{AllColumns: true}, ComparisonFile, "fixture.comparison.all.md"},
		{"report", Options{}, ReportFile, "fixture.REPORT.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := generate(t, tt.opts)
			golden(t, tt.golden, read(t, filepath.Join(out, tt.file)))
		})
	}
}

// tableRows splits a markdown table line into its cells, honouring escaped pipes.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// parseTables returns every markdown table in doc as rows of cells, the header first and the
// separator line dropped, failing the test when a table is malformed.
func parseTables(t *testing.T, doc string) [][][]string {
	t.Helper()
	var tables [][][]string
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") {
			continue
		}
		header := tableCells(lines[i])
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "|") {
			t.Fatalf("line %d: table header without a separator line", i+1)
		}
		sep := tableCells(lines[i+1])
		if len(sep) != len(header) {
			t.Fatalf("line %d: separator has %d cells, header %d", i+2, len(sep), len(header))
		}
		for _, s := range sep {
			if strings.Trim(s, "-:") != "" || !strings.Contains(s, "---") {
				t.Fatalf("line %d: bad separator cell %q", i+2, s)
			}
		}
		tbl := [][]string{header}
		j := i + 2
		for ; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			cells := tableCells(lines[j])
			if len(cells) != len(header) {
				t.Fatalf("line %d: %d cells, header has %d: %s", j+1, len(cells), len(header), lines[j])
			}
			tbl = append(tbl, cells)
		}
		tables = append(tables, tbl)
		i = j
	}
	return tables
}

func TestMarkdownTablesParse(t *testing.T) {
	for _, opts := range []Options{{}, {AllColumns: true}} {
		_, out := generate(t, opts)
		for _, file := range []string{ComparisonFile, ReportFile} {
			t.Run(fmt.Sprintf("%s all=%v", file, opts.AllColumns), func(t *testing.T) {
				tables := parseTables(t, read(t, filepath.Join(out, file)))
				if len(tables) < 2 {
					t.Fatalf("%d tables, want at least the grouped and the per-run table", len(tables))
				}
			})
		}
	}
}

// findTable returns the table whose header starts with first.
func findTable(t *testing.T, tables [][][]string, first string) [][]string {
	t.Helper()
	for _, tbl := range tables {
		if tbl[0][0] == first {
			return tbl
		}
	}
	t.Fatalf("no table starting with column %q", first)
	return nil
}

// TestTableMatchesArrow reads each run's Arrow files directly and checks the per-run table shows
// the same numbers.
func TestTableMatchesArrow(t *testing.T) {
	_, out := generate(t, Options{AllColumns: true})
	tbl := findTable(t, parseTables(t, read(t, filepath.Join(out, ComparisonFile))), "run")
	col := map[string]int{}
	for i, h := range tbl[0] {
		col[h] = i
	}
	rows := map[string][]string{}
	for _, r := range tbl[1:] {
		rows[r[0]] = r
	}
	dirs, _ := filepath.Glob(filepath.Join(fixtureRunsDir(t), "fixture", "*"))
	if len(dirs) != 8 || len(rows) != 8 {
		t.Fatalf("%d run folders and %d table rows, want 8 of each", len(dirs), len(rows))
	}
	cell := func(x float64, ok bool) string {
		switch {
		case !ok:
			return missing
		case math.IsNaN(x):
			return "NaN"
		}
		return fmt.Sprintf("%.4f", x)
	}
	for _, dir := range dirs {
		info, err := metrics.ReadRunInfo(filepath.Join(dir, metrics.RunInfoFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(info.Name, func(t *testing.T) {
			row, ok := rows[info.Name]
			if !ok {
				t.Fatalf("run %s missing from the table", info.Name)
			}
			steps, errS := metrics.ReadSteps(filepath.Join(dir, metrics.StepsFile))
			evals, errE := metrics.ReadEvals(filepath.Join(dir, metrics.EvalsFile))
			var trainLoss, lastLoss float64
			if errS == nil && len(steps) > 0 {
				for _, st := range steps {
					trainLoss += st.TrainLoss
				}
				trainLoss /= float64(len(steps)) // the mean over the steps, as Hugging Face reports it
				lastLoss = steps[len(steps)-1].TrainLoss
			}
			last := map[string]metrics.Eval{}
			for _, e := range evals {
				if cur, seen := last[e.Split]; !seen || e.Step >= cur.Step {
					last[e.Split] = e
				}
			}
			valid, hasValid := last["valid"]
			train, hasTrain := last["train"]
			want := map[string]string{
				"train_loss":        cell(trainLoss, errS == nil && len(steps) > 0),
				"last-step loss":    cell(lastLoss, errS == nil && len(steps) > 0),
				"eval_loss":         cell(valid.Loss, errE == nil && hasValid),
				"answer_loss":       cell(valid.AnswerLoss, errE == nil && hasValid),
				"eval_loss (train)": cell(train.Loss, errE == nil && hasTrain),
				"token_acc":         cell(valid.TokenAccuracy, errE == nil && hasValid),
			}
			for h, w := range want {
				got, _, _ := strings.Cut(row[col[h]], " (step ") // an early evaluation says its step
				if got != w {
					t.Errorf("%s: table %s, Arrow files %s", h, got, w)
				}
			}
			if info.Status != metrics.StatusOK && !strings.Contains(row[col["status"]], string(info.Status)) {
				t.Errorf("status cell %q does not mark the %s run", row[col["status"]], info.Status)
			}
		})
	}
}

func TestUnfinishedRunsAreMarked(t *testing.T) {
	e, out := generate(t, Options{})
	report := read(t, filepath.Join(out, ReportFile))
	comparison := read(t, filepath.Join(out, ComparisonFile))
	for _, want := range []string{
		"| format=instruction,lr=0.01,seed=2 |",
		"**diverged**",
		"**failed**",
		"- `format=instruction,lr=0.01,seed=2` (diverged): step 12: train_loss is NaN",
		"- `format=sft,lr=0.01,seed=2` (failed): load dataset",
	} {
		for name, doc := range map[string]string{"comparison.md": comparison, "REPORT.md": report} {
			if !strings.Contains(doc, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
	if want := "8 runs, 6 finished; 1 diverged (`format=instruction,lr=0.01,seed=2`); 1 failed (`format=sft,lr=0.01,seed=2`)."; !strings.Contains(report, want) {
		t.Errorf("REPORT.md lacks the status line %q", want)
	}
	for _, g := range e.Groups {
		if g.Label == "format=sft,lr=0.01" && len(g.Finished()) != 1 {
			t.Errorf("group %s: %d finished runs, want 1", g.Label, len(g.Finished()))
		}
	}
}

func TestOnlyChangedColumns(t *testing.T) {
	tests := []struct {
		all         bool
		wantHeaders []string
		noHeaders   []string
	}{
		{false, []string{"run", "format", "lr", "seed", "eval_loss", "status", "Δ eval_loss vs format=sft"}, []string{"masking", "steps"}},
		{true, []string{"run", "format", "masking", "lr", "steps", "seed", "eval_loss", "status"}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("all=%v", tt.all), func(t *testing.T) {
			_, out := generate(t, Options{AllColumns: tt.all})
			doc := read(t, filepath.Join(out, ComparisonFile))
			header := strings.Join(findTable(t, parseTables(t, doc), "run")[0], "|")
			for _, h := range tt.wantHeaders {
				if !strings.Contains("|"+header+"|", "|"+h+"|") {
					t.Errorf("header %q lacks %q", header, h)
				}
			}
			for _, h := range tt.noHeaders {
				if strings.Contains("|"+header+"|", "|"+h+"|") {
					t.Errorf("header %q has the constant column %q", header, h)
				}
				if !strings.Contains(doc, h+"=") {
					t.Errorf("hidden column %q not listed with its value", h)
				}
			}
		})
	}
}

// TestPlotFiles checks every plot file is a PNG of the expected pixel size and well-formed SVG,
// and that each figure draws the expected series.
func TestPlotFiles(t *testing.T) {
	tests := []struct {
		name   string
		spec   fixtureSpec
		panels map[string]int // figure → panels
		series map[string]int // figure → legend entries over all panels
	}{
		{"fixture", fixtureExperiment(),
			map[string]int{"loss_curves": 2, "lr_schedule": 1, "eval_curves": 4, "eval_loss_vs_lr": 1, "eval_loss_bars": 1},
			// loss: lr=0.001 sft+instruction; lr=0.01 sft, instruction, the diverged run.
			// eval curves, per configuration: train loss, held-out loss, its lowest point,
			// train-split loss. bars: sft, instruction, single runs, failed runs.
			map[string]int{"loss_curves": 5, "lr_schedule": 2, "eval_curves": 16, "eval_loss_vs_lr": 2, "eval_loss_bars": 4}},
		{"lr_sweep", lrSweepExperiment(),
			map[string]int{"loss_curves": 3, "lr_schedule": 1, "eval_curves": 6, "eval_loss_vs_lr": 1, "eval_loss_bars": 1},
			map[string]int{"loss_curves": 7, "lr_schedule": 3, "eval_curves": 24, "eval_loss_vs_lr": 2, "eval_loss_bars": 4}},
		{"single run", fixtureSpec{name: "one", formats: []string{"sft"}, lrs: []float64{0.003}, steps: []int{20}, seeds: []int{1}},
			map[string]int{"loss_curves": 1, "lr_schedule": 1, "eval_curves": 1, "eval_loss_bars": 1},
			map[string]int{"loss_curves": 1, "lr_schedule": 1, "eval_curves": 4, "eval_loss_bars": 2}},
		{"steps_sweep", fixtureSpec{name: "steps", formats: []string{"sft", "instruction"}, lrs: []float64{0.003}, steps: []int{20, 40}, seeds: []int{1, 2}, baseline: "format=sft"},
			map[string]int{"loss_curves": 2, "lr_schedule": 1, "eval_curves": 4, "eval_loss_vs_steps": 1, "eval_loss_bars": 1},
			map[string]int{"loss_curves": 4, "lr_schedule": 2, "eval_curves": 16, "eval_loss_vs_steps": 2, "eval_loss_bars": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runsDir := t.TempDir()
			writeFixture(t, runsDir, tt.spec)
			out := t.TempDir()
			if tt.name == "lr_sweep" && *plotsDir != "" {
				out = *plotsDir
			}
			e, files, err := Generate(runsDir, tt.spec.name, out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			figs, err := e.Figures()
			if err != nil {
				t.Fatal(err)
			}
			if len(figs) != len(tt.panels) {
				t.Errorf("%d figures, want %d", len(figs), len(tt.panels))
			}
			if len(files) != 2*len(figs)+2 {
				t.Errorf("wrote %d files, want %d", len(files), 2*len(figs)+2)
			}
			for _, f := range figs {
				t.Run(f.Name, func(t *testing.T) {
					if got, want := len(f.Panels), tt.panels[f.Name]; got != want {
						t.Errorf("%d panels, want %d", got, want)
					}
					if got, want := f.SeriesCount(), tt.series[f.Name]; got != want {
						var all []string
						for _, p := range f.Panels {
							all = append(all, p.Series...)
						}
						t.Errorf("%d series %q, want %d", got, all, want)
					}
					for _, p := range f.Panels {
						if p.Plot.Title.Text == "" || p.Plot.X.Label.Text == "" {
							t.Error("panel without a title or x label")
						}
					}
					checkPNG(t, filepath.Join(out, f.Name+".png"), f)
					checkSVG(t, filepath.Join(out, f.Name+".svg"))
				})
			}
		})
	}
}

func checkPNG(t *testing.T, path string, f *Figure) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	w, h := f.PixelSize()
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %dx%d pixels, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	if w < 600 || h < 300 {
		t.Errorf("%s: %dx%d pixels is too small to read", path, w, h)
	}
	// A drawn plot is not blank: count pixels that are not white.
	ink := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	if ink < 500 {
		t.Errorf("%s: only %d sampled non-white pixels; the plot looks empty", path, ink)
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	elements := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("%s: not well-formed XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			elements++
		}
	}
	if root != "svg" || elements < 20 {
		t.Errorf("%s: root <%s> with %d elements, want an <svg> drawing", path, root, elements)
	}
}

// TestPlotGolden compares the fixture's PNGs with golden images, allowing small rendering
// differences (cmpimg.EqualApprox), and rewrites them under -update.
func TestPlotGolden(t *testing.T) {
	e, _ := generate(t, Options{})
	figs, err := e.Figures()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		t.Run(f.Name, func(t *testing.T) {
			got, err := f.PNG()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "fixture."+f.Name+".png")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if ok, err := cmpimg.EqualApprox("png", got, want, 0.01); err != nil || !ok {
				t.Errorf("%s: the rendered plot differs from the golden image (err %v); go test -update rewrites it", path, err)
			}
		})
	}
}

// memRun builds an in-memory run with one final evaluation.
func memRun(format string, seed int, evalLoss float64, status metrics.Status) metrics.Run {
	return metrics.Run{
		Info: metrics.RunInfo{Name: fmt.Sprintf("format=%s,seed=%d", format, seed), Status: status, Summary: metrics.EmptySummary(),
			Params: []metrics.Param{{Key: "data.format", Value: format}, {Key: "train.seed", Value: float64(seed)}}},
		Steps:  []metrics.Step{{Step: 1, TrainLoss: evalLoss - 0.1, LR: 0.001}},
		Evals:  []metrics.Eval{{Step: 1, Split: metrics.SplitValid, Loss: evalLoss}},
		Config: map[string]any{"data.format": format, "train.seed": seed, "report.baseline": "format=sft"},
	}
}

func TestFindings(t *testing.T) {
	tests := []struct {
		name  string
		sft   []float64
		instr []float64
		want  string
	}{
		{"clear win", []float64{3.5, 3.6, 3.4}, []float64{3.3, 3.41, 3.19}, "instruction beat sft by 0.2000 ± 0.0100 eval_loss (mean ± std of the paired per-seed differences over 3 seeds"},
		{"clear loss", []float64{3.5, 3.6, 3.4}, []float64{3.7, 3.81, 3.6}, "sft beat instruction by 0.2033 ± 0.0058"},
		{"within noise", []float64{3.5, 3.6, 3.4}, []float64{3.6, 3.5, 3.45}, "instruction and sft are within seed noise: instruction minus sft is +0.0167 ± 0.1041 eval_loss over 3 paired seeds"},
		{"one seed", []float64{3.5}, []float64{3.2}, "instruction vs sft: eval_loss 0.3000 lower with one seed"},
		{"no pairs", []float64{math.NaN()}, []float64{3.2}, "instruction vs sft: no pair of finished runs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs []metrics.Run
			for i, x := range tt.sft {
				st := metrics.StatusOK
				if math.IsNaN(x) {
					st = metrics.StatusDiverged
				}
				runs = append(runs, memRun("sft", i+1, x, st))
			}
			for i, x := range tt.instr {
				runs = append(runs, memRun("instruction", i+1, x, metrics.StatusOK))
			}
			e, err := Build("t", runs, "")
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(e.Findings(), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("findings:\n%s\nwant a line containing %q", got, tt.want)
			}
		})
	}
}

// TestKeysWithoutParams checks that when run.json lists no params, the swept keys are the config
// keys whose values differ between runs.
func TestKeysWithoutParams(t *testing.T) {
	var runs []metrics.Run
	for i, f := range []string{"sft", "instruction", "sft", "instruction"} {
		r := memRun(f, i/2+1, 3+float64(i)/10, metrics.StatusOK)
		r.Info.Params = nil
		r.Config["model.preset"] = "tiny"
		runs = append(runs, r)
	}
	e, err := Build("t", runs, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Keys) != 1 || e.Keys[0].Path != "data.format" || e.SeedKey != "train.seed" {
		t.Errorf("keys %+v, seed key %q; want data.format and train.seed", e.Keys, e.SeedKey)
	}
	var groups []string
	for _, g := range e.Groups {
		groups = append(groups, fmt.Sprintf("%s:%d", g.Label, len(g.Rows)))
	}
	if got, want := strings.Join(groups, " "), "format=instruction:2 format=sft:2"; got != want {
		t.Errorf("groups %s, want %s", got, want)
	}
	if e.Baseline == nil || !strings.Contains(strings.Join(e.Findings(), "\n"), "over 2 seeds") {
		t.Errorf("findings %q, want a paired comparison over 2 seeds", e.Findings())
	}
}

// TestEvalOnTrain checks that a run configured with data.eval_on: train reports the training
// split's loss as eval_loss, as the runner does, and that the tables say so.
func TestEvalOnTrain(t *testing.T) {
	r := memRun("sft", 1, 3.5, metrics.StatusOK)
	r.Config["data.eval_on"] = "train"
	r.Evals = []metrics.Eval{{Step: 1, Split: metrics.SplitTrain, Loss: 2.25, TokenAccuracy: 0.6}}
	e, err := Build("t", []metrics.Run{r}, "")
	if err != nil {
		t.Fatal(err)
	}
	row := e.Rows[0]
	if !row.OK() || row.Summary.EvalLoss != 2.25 || row.Summary.TokenAccuracy != 0.6 || row.EvalSplit != metrics.SplitTrain {
		t.Errorf("row summary %+v split %q, want eval_loss 2.25 from the train split", row.Summary, row.EvalSplit)
	}
	if doc := e.ComparisonMarkdown(false); !strings.Contains(doc, "measured on the training split, not on held-out data") {
		t.Errorf("comparison.md does not say eval_loss is on the training split:\n%s", doc)
	}
}

func TestBaselineSpec(t *testing.T) {
	runs := []metrics.Run{memRun("sft", 1, 3.5, metrics.StatusOK), memRun("instruction", 1, 3.4, metrics.StatusOK)}
	cases := []struct {
		spec     string
		wantNote string // "" means the baseline is accepted
		wantRun  bool   // the spec names a single run
	}{
		{"format=sft", "", false},
		{"data.format=instruction", "", false},
		{"format=instruction,seed=1", "", true},
		{"format=chat", "no run has format=chat", false},
		{"masking=pad", `"masking" is not a swept key (swept: format)`, false},
		{"sft", `"sft" is neither a run name nor key=value`, false},
	}
	for _, tt := range cases {
		t.Run(tt.spec, func(t *testing.T) {
			e, err := Build("t", runs, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			notes := strings.Join(e.Notes, "\n")
			if tt.wantNote == "" {
				if e.Baseline == nil || notes != "" {
					t.Fatalf("baseline %v, notes %q; want it accepted", e.Baseline, notes)
				}
				if (e.Baseline.Run != nil) != tt.wantRun {
					t.Errorf("baseline names a run: %v, want %v", e.Baseline.Run != nil, tt.wantRun)
				}
				return
			}
			if e.Baseline != nil || !strings.Contains(notes, tt.wantNote) {
				t.Errorf("baseline %v, notes %q; want it refused with %q", e.Baseline, notes, tt.wantNote)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	runs, _, err := metrics.ReadExperiment(fixtureRunsDir(t), "fixture")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]metrics.Run{}
	for _, r := range runs {
		byName[r.Info.Name] = r
	}
	a, b := byName["format=sft,lr=0.001,seed=1"], byName["format=instruction,lr=0.01,seed=2"]
	expA, err := ExperimentSide("fixture", runs[:4])
	if err != nil {
		t.Fatal(err)
	}
	expB, err := ExperimentSide("fixture-tail", runs[4:])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		a, b   Side
		golden string
	}{
		{"runs", RunSide(a), RunSide(b), "compare.runs.md"},
		{"experiments", expA, expB, "compare.experiments.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.a, tt.b)
			parseTables(t, got)
			golden(t, tt.golden, got)
		})
	}
}

// TestPairedTTest checks the t statistic and two-sided p-value against Student's t in closed
// form: for 1 degree of freedom p = 1 − 2·atan|t|/π, for 2 degrees p = 1 − |t|/√(2 + t²).
func TestPairedTTest(t *testing.T) {
	tests := []struct {
		name  string
		d     []float64
		wantT float64
		wantP float64
	}{
		{"1 df", []float64{1, 3}, 2, 1 - 2*math.Atan(2)/math.Pi},                                       // mean 2, std √2, se 1
		{"2 df", []float64{1, 2, 3}, 2 * math.Sqrt(3), 1 - 2*math.Sqrt(3)/math.Sqrt(2+12)},             // mean 2, std 1, se 1/√3
		{"2 df, negative", []float64{-1, -2, -3}, -2 * math.Sqrt(3), 1 - 2*math.Sqrt(3)/math.Sqrt(14)}, // symmetric
		{"no spread, non-zero mean", []float64{0.5, 0.5}, math.Inf(1), 0},
		{"no spread, zero mean", []float64{0, 0, 0}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pairedTTest(tt.d)
			if !ok || got.N != len(tt.d) {
				t.Fatalf("pairedTTest(%v) = %+v, %v", tt.d, got, ok)
			}
			if (got.T != tt.wantT && math.Abs(got.T-tt.wantT) > 1e-12) || math.Abs(got.P-tt.wantP) > 1e-9 {
				t.Errorf("t = %v, p = %v; want t = %v, p = %v", got.T, got.P, tt.wantT, tt.wantP)
			}
		})
	}
	if _, ok := pairedTTest([]float64{1}); ok {
		t.Error("one difference: want no test")
	}
}

// scoredRun is memRun with both losses, the positions its eval scores and its vocabulary.
func scoredRun(format string, seed int, evalLoss, answerLoss float64, scored, prompt, vocab int) metrics.Run {
	r := memRun(format, seed, evalLoss, metrics.StatusOK)
	r.Evals[0].AnswerLoss = answerLoss
	r.Info.Data.Eval = metrics.ScoredTokens{Split: metrics.SplitValid, Scored: scored, Prompt: prompt, Answer: scored - prompt,
		PromptShare: float64(prompt) / float64(scored)}
	r.Info.Model = metrics.ModelStats{VocabSize: vocab, InitHash: fmt.Sprint(seed)}
	return r
}

// TestConfounds checks that the findings name, next to the number, what else differs between
// the compared runs, and that report.metric chooses the number.
func TestConfounds(t *testing.T) {
	sftEval, instrEval := []float64{3.5, 3.6, 3.4}, []float64{3.0, 3.1, 2.9}
	sftAns, instrAns := []float64{4.0, 4.1, 3.9}, []float64{4.02, 4.05, 3.95}
	build := func(metric string, edit func(r *metrics.Run)) *Experiment {
		t.Helper()
		var runs []metrics.Run
		for i := range 3 {
			s := scoredRun("sft", i+1, sftEval[i], sftAns[i], 423, 262, 1148)
			n := scoredRun("instruction", i+1, instrEval[i], instrAns[i], 584, 423, 1148)
			for _, r := range []*metrics.Run{&s, &n} {
				r.Config["report.metric"] = metric
				if edit != nil {
					edit(r)
				}
			}
			runs = append(runs, s, n)
		}
		e, err := Build("t", runs, "")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		name    string
		metric  string
		edit    func(r *metrics.Run)
		want    []string
		wantNot []string
	}{
		{"eval_loss scores different prompts", "eval_loss", nil,
			[]string{"instruction beat sft by 0.5000 ± 0.0000 eval_loss", "Caveats: eval_loss scores different tokens in the two: 584 positions of which 72.4% are prompt tokens for instruction, 423 of which 61.9% for sft"},
			[]string{"vocabularies", "training split"}},
		{"answer_loss is the headline", "answer_loss", nil,
			[]string{"Lowest answer_loss: `format=sft`, 4.0000", "instruction and sft are within seed noise: instruction minus sft is +0.0067 ± 0.0513 answer_loss over 3 paired seeds", "not significant at 5%"},
			[]string{"scores different tokens"}},
		{"different vocabularies", "answer_loss", func(r *metrics.Run) {
			if r.Config["data.format"] == "instruction" {
				r.Info.Model.VocabSize = 1012
			}
		}, []string{"the two use different vocabularies (1012 and 1148 token ids)"}, nil},
		{"eval on the training split", "answer_loss", func(r *metrics.Run) {
			r.Config["data.eval_on"] = "train"
			r.Evals = append(r.Evals, metrics.Eval{Step: 1, Split: metrics.SplitTrain, Loss: r.Evals[0].Loss, AnswerLoss: r.Evals[0].AnswerLoss})
		}, []string{"both are measured on the training split (data.eval_on: train)"}, nil},
		{"never-trained tokens", "eval_loss", func(r *metrics.Run) {
			r.Info.Data.Eval.Unseen, r.Info.Data.Eval.UnseenShare = 178, 178.0/423
		}, []string{"42.1% of instruction's and 42.1% of sft's scored positions hold a token that never occurs as a trained label"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := build(tt.metric, tt.edit)
			got := strings.Join(e.Findings(), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("findings lack %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("findings mention %q:\n%s", w, got)
				}
			}
		})
	}
	// The course report splits the eval_loss difference: −0.5 overall, +0.0067 on the answers,
	// so −0.5067 from scoring the prompts.
	e := build("answer_loss", nil)
	want := "instruction minus sft, over 3 paired seeds (mean ± std): eval_loss -0.5000 ± 0.0000, answer_loss +0.0067 ± 0.0513. Of the eval_loss difference, +0.0067 is on the answers and -0.5067 comes from also scoring the prompt tokens, which are 72.4% of instruction's scored positions and 61.9% of sft's. On the answers alone the difference is not significant at 5%"
	if got := e.scoredText(); !strings.Contains(got, want) {
		t.Errorf("the prompt-scoring section lacks\n%s\ngot:\n%s", want, got)
	}
	figs, err := e.Figures()
	if err != nil {
		t.Fatal(err)
	}
	if last := figs[len(figs)-1]; last.Name != "answer_loss_bars" || !strings.Contains(last.Title, "answer_loss") {
		t.Errorf("bar chart %q (%q), want answer_loss_bars for report.metric: answer_loss", last.Name, last.Title)
	}
}
