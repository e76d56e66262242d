package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
)

// Plot text is kept ASCII: gonum/plot's built-in Liberation fonts have no CJK glyphs, and
// embedding a CJK font would add megabytes. Format names, key names and values are ASCII in
// practice; asciiText replaces anything else with '?', so a stray character never draws as a box.

// DPI is the resolution of the PNG files: a 6×4 inch panel is 600×400 pixels.
const DPI = 100

// Figure is one plot of the report, kept as data so that tests can check what is drawn before
// and after it is rendered.
type Figure struct {
	Name    string  // file stem: Name.png and Name.svg
	Title   string  // what the figure shows, also the alt text in REPORT.md
	Caption string  // one or two sentences for REPORT.md
	Panels  []Panel // drawn in a grid, row by row
	Cols    int     // columns of the grid
	PanelW  vg.Length
	PanelH  vg.Length
}

// Panel is one plot in a figure's grid.
type Panel struct {
	Plot   *plot.Plot
	Series []string // the legend entries, one per series drawn with a legend
}

// SeriesCount returns the number of legend entries over all panels.
func (f *Figure) SeriesCount() int {
	n := 0
	for _, p := range f.Panels {
		n += len(p.Series)
	}
	return n
}

// Rows returns the number of rows of the grid.
func (f *Figure) Rows() int { return (len(f.Panels) + f.Cols - 1) / f.Cols }

// Size returns the size of the whole figure.
func (f *Figure) Size() (w, h vg.Length) {
	return vg.Length(f.Cols) * f.PanelW, vg.Length(f.Rows()) * f.PanelH
}

// PixelSize returns the size of the PNG in pixels.
func (f *Figure) PixelSize() (w, h int) {
	fw, fh := f.Size()
	return int(fw.Dots(DPI) + 0.5), int(fh.Dots(DPI) + 0.5) // rounded as vgimg does
}

// draw lays the panels out on c.
func (f *Figure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	grid := make([][]*plot.Plot, f.Rows())
	for i := range grid {
		grid[i] = make([]*plot.Plot, f.Cols)
	}
	for i, p := range f.Panels {
		grid[i/f.Cols][i%f.Cols] = p.Plot
	}
	tiles := draw.Tiles{Rows: f.Rows(), Cols: f.Cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, tiles, dc)
	for j := range grid {
		for i, p := range grid[j] {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
}

// PNG renders the figure as a PNG image at DPI.
func (f *Figure) PNG() ([]byte, error) {
	w, h := f.Size()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	f.draw(c)
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot %s: png: %w", f.Name, err)
	}
	return buf.Bytes(), nil
}

// SVG renders the figure as an SVG document.
func (f *Figure) SVG() ([]byte, error) {
	w, h := f.Size()
	c := vgsvg.New(w, h)
	f.draw(c)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot %s: svg: %w", f.Name, err)
	}
	return buf.Bytes(), nil
}

// asciiText replaces every non-ASCII rune with '?' (see the note on plot text above).
func asciiText(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 126 || (r < 32 && r != '\n') {
			return '?'
		}
		return r
	}, s)
}

// paletteColor returns the i-th of ten well-separated colours (matplotlib's tab10).
func paletteColor(i int) color.RGBA {
	p := [...]uint32{0x1f77b4, 0xff7f0e, 0x2ca02c, 0x9467bd, 0x8c564b, 0xe377c2, 0x17becf, 0xbcbd22, 0x7f7f7f, 0xd62728}
	c := p[i%len(p)]
	return color.RGBA{R: uint8(c >> 16), G: uint8(c >> 8), B: uint8(c), A: 255}
}

// newPlot returns a plot with the report's title and axis labels (ASCII only).
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = asciiText(title)
	p.X.Label.Text = asciiText(x)
	p.Y.Label.Text = asciiText(y)
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

// hueValues returns the values of the colour key in sorted order, or [""] when nothing is swept.
func (e *Experiment) hueValues() []string {
	if e.Hue == "" {
		return []string{""}
	}
	return e.distinct(e.Hue, e.Rows)
}

// distinct returns the sorted distinct values of key over rows.
func (e *Experiment) distinct(key string, rows []*Row) []string {
	seen := map[string]bool{}
	var vals []string
	for _, r := range rows {
		v := r.Values[key]
		if !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return compareValues(vals[i], vals[j]) < 0 })
	return vals
}

// hueLabel names a colour in legends.
func (e *Experiment) hueLabel(v string) string {
	if e.Hue == "" {
		return "all runs"
	}
	return v
}

// panelsBy splits rows by the swept keys other than the hue and those in skip, in row order,
// returning each panel's label ("" for a single panel) and rows.
func (e *Experiment) panelsBy(rows []*Row, skip ...string) (labels []string, groups [][]*Row) {
	index := map[string]int{}
	for _, r := range rows {
		var parts []string
		for _, k := range e.Keys {
			if k.Path == e.Hue || contains(skip, k.Path) {
				continue
			}
			parts = append(parts, k.Label+"="+r.Values[k.Path])
		}
		label := strings.Join(parts, ", ")
		i, ok := index[label]
		if !ok {
			i = len(labels)
			index[label] = i
			labels = append(labels, label)
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return labels, groups
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// plural returns "1 run", "3 runs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// gridCols returns how many columns a grid of n panels uses: up to 3.
func gridCols(n int) int { return max(1, min(n, 3)) }

// finite returns the points of xys whose coordinates are both finite.
func finite(xys plotter.XYs) plotter.XYs {
	var out plotter.XYs
	for _, p := range xys {
		if isFinite(p.X) && isFinite(p.Y) {
			out = append(out, p)
		}
	}
	return out
}

// Figures builds every plot the experiment supports: the training-loss curves and the
// learning-rate schedule always; the eval curves when runs were evaluated during training
// (eval.every); the headline metric (eval_loss unless report.metric says answer_loss) against the
// learning rate or max_steps when those are swept; the bar chart of the headline metric per
// configuration. The last three are named after the metric (eval_loss_vs_lr, answer_loss_bars, …).
func (e *Experiment) Figures() ([]*Figure, error) {
	var figs []*Figure
	builders := []func() (*Figure, error){e.lossFigure, e.lrFigure, func() (*Figure, error) {
		return e.evalCurvesFigure(DefaultEvalSeries())
	}}
	if e.swept(keyLR) {
		builders = append(builders, func() (*Figure, error) {
			return e.evalVsFigure(keyLR, e.Metric+"_vs_lr", "learning rate (log scale)", true)
		})
	}
	if e.swept(keySteps) {
		builders = append(builders, func() (*Figure, error) {
			return e.evalVsFigure(keySteps, e.Metric+"_vs_steps", "max_steps (optimizer steps)", false)
		})
	}
	builders = append(builders, e.barFigure)
	for _, b := range builders {
		f, err := b()
		if err != nil {
			return nil, err
		}
		if f != nil {
			figs = append(figs, f)
		}
	}
	return figs, nil
}

// swept reports whether key is one of the swept keys and takes more than one value.
func (e *Experiment) swept(key string) bool {
	for _, k := range e.Keys {
		if k.Path == key {
			return len(e.distinct(key, e.Rows)) > 1
		}
	}
	return false
}

// lossFigure draws training loss against step: per panel (a value of the swept keys other than
// the hue), one colour per hue value with the mean over seeds as a line and a band from the
// minimum to the maximum over seeds. Failed and diverged runs are drawn as thin dashed lines,
// clipped to the range of the finished ones.
func (e *Experiment) lossFigure() (*Figure, error) {
	labels, panels := e.panelsBy(e.Rows)
	f := &Figure{Name: "loss_curves", Title: "Training loss per step",
		Caption: "Training loss (mean cross-entropy per unmasked token) against the optimizer step. Lines are the mean over seeds, shaded bands span the minimum to the maximum over seeds; dashed lines are runs that failed or diverged.",
		Cols:    gridCols(len(panels)), PanelW: 6 * vg.Inch, PanelH: 4 * vg.Inch}
	hues := e.hueValues()
	yMax, yMin := math.Inf(-1), math.Inf(1)
	for pi, rows := range panels {
		title := "Training loss"
		if labels[pi] != "" {
			title += ": " + labels[pi]
		}
		p := newPlot(title, "step", "train loss (nats/token)")
		var series []string
		markedBad := false
		for hi, hv := range hues {
			col := paletteColor(hi)
			var good, bad []*Row
			for _, r := range rows {
				if e.Hue != "" && r.Values[e.Hue] != hv {
					continue
				}
				if len(r.Run.Steps) == 0 {
					continue
				}
				if r.Status == metrics.StatusFailed || r.Status == metrics.StatusDiverged {
					bad = append(bad, r)
				} else {
					good = append(good, r)
				}
			}
			if len(good) > 0 {
				mean, lo, hi := bandOverSeeds(good)
				band, err := plotter.NewPolygon(bandPolygon(lo, hi))
				if err != nil {
					return nil, fmt.Errorf("plot %s: band: %w", f.Name, err)
				}
				band.Color = color.NRGBA{R: col.R, G: col.G, B: col.B, A: 60}
				band.LineStyle.Width = 0
				line, err := plotter.NewLine(mean)
				if err != nil {
					return nil, fmt.Errorf("plot %s: mean line: %w", f.Name, err)
				}
				line.Color, line.Width = col, vg.Points(1.5)
				p.Add(band, line)
				label := fmt.Sprintf("%s (%s)", e.hueLabel(hv), plural(len(good), "run"))
				p.Legend.Add(asciiText(label), line, band)
				series = append(series, label)
				for _, pt := range append(lo, hi...) {
					yMax, yMin = math.Max(yMax, pt.Y), math.Min(yMin, pt.Y)
				}
			}
			for _, r := range bad {
				xys := finite(stepXYs(r.Run.Steps, func(s metrics.Step) float64 { return s.TrainLoss }))
				if len(xys) == 0 {
					continue
				}
				line, err := plotter.NewLine(xys)
				if err != nil {
					return nil, fmt.Errorf("plot %s: run %s: %w", f.Name, r.Name, err)
				}
				line.Color, line.Width, line.Dashes = col, vg.Points(0.75), []vg.Length{vg.Points(4), vg.Points(2)}
				p.Add(line)
				if !markedBad {
					markedBad = true
					p.Legend.Add("failed or diverged run", line)
					series = append(series, "failed or diverged run")
				}
			}
		}
		f.Panels = append(f.Panels, Panel{Plot: p, Series: series})
	}
	// One y range for every panel, from the finished runs only, so panels compare at a glance
	// and a diverged run's spike does not flatten the others.
	if isFinite(yMax) && isFinite(yMin) {
		pad := 0.05 * (yMax - yMin)
		for _, pn := range f.Panels {
			pn.Plot.Y.Min, pn.Plot.Y.Max = math.Max(0, yMin-pad), yMax+pad
		}
	}
	return f, nil
}

// stepXYs returns (step, value) points of steps.
func stepXYs(steps []metrics.Step, value func(metrics.Step) float64) plotter.XYs {
	xys := make(plotter.XYs, len(steps))
	for i, s := range steps {
		xys[i] = plotter.XY{X: float64(s.Step), Y: value(s)}
	}
	return xys
}

// bandOverSeeds returns, per step, the mean, minimum and maximum of the finite training losses of
// rows.
func bandOverSeeds(rows []*Row) (mean, lo, hi plotter.XYs) {
	byStep := map[int64][]float64{}
	for _, r := range rows {
		for _, s := range r.Run.Steps {
			if isFinite(s.TrainLoss) {
				byStep[s.Step] = append(byStep[s.Step], s.TrainLoss)
			}
		}
	}
	return bandOf(byStep)
}

// bandOf turns values per step (one per seed) into the mean line and the min–max band, in step
// order: the seed bands of the loss curves and the eval curves alike.
func bandOf(byStep map[int64][]float64) (mean, lo, hi plotter.XYs) {
	steps := make([]int64, 0, len(byStep))
	for s := range byStep {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	for _, s := range steps {
		v := byStep[s]
		m, _ := meanStd(v)
		mn, mx := v[0], v[0]
		for _, x := range v {
			mn, mx = math.Min(mn, x), math.Max(mx, x)
		}
		mean = append(mean, plotter.XY{X: float64(s), Y: m})
		lo = append(lo, plotter.XY{X: float64(s), Y: mn})
		hi = append(hi, plotter.XY{X: float64(s), Y: mx})
	}
	return mean, lo, hi
}

// bandPolygon joins the upper edge left to right and the lower edge right to left.
func bandPolygon(lo, hi plotter.XYs) plotter.XYs {
	poly := append(plotter.XYs{}, hi...)
	for i := len(lo) - 1; i >= 0; i-- {
		poly = append(poly, lo[i])
	}
	return poly
}

// lrFigure draws the learning rate against the step, one line per distinct schedule, labelled by
// the swept values its runs share.
func (e *Experiment) lrFigure() (*Figure, error) {
	type schedule struct {
		xys  plotter.XYs
		rows []*Row
	}
	var scheds []*schedule
	use := e.Rows
	var finished []*Row
	for _, r := range e.Rows {
		if r.Status == metrics.StatusOK {
			finished = append(finished, r)
		}
	}
	if len(finished) > 0 {
		use = finished
	}
	for _, r := range use {
		xys := finite(stepXYs(r.Run.Steps, func(s metrics.Step) float64 { return s.LR }))
		if len(xys) == 0 {
			continue
		}
		found := false
		for _, s := range scheds {
			if slices.Equal(s.xys, xys) {
				s.rows, found = append(s.rows, r), true
				break
			}
		}
		if !found {
			scheds = append(scheds, &schedule{xys: xys, rows: []*Row{r}})
		}
	}
	p := newPlot("Learning-rate schedule", "step", "learning rate")
	f := &Figure{Name: "lr_schedule", Title: "Learning-rate schedule",
		Caption: "The learning rate used at each optimizer step (warm-up, then decay), one line per distinct schedule.",
		Cols:    1, PanelW: 8 * vg.Inch, PanelH: 4.5 * vg.Inch}
	var series []string
	for i, s := range scheds {
		line, err := plotter.NewLine(s.xys)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		line.Color, line.Width = paletteColor(i), vg.Points(1.5)
		if len(scheds) > 1 {
			line.Dashes = dashes(i)
		}
		label := e.sharedLabel(s.rows)
		p.Add(line)
		p.Legend.Add(asciiText(label), line)
		series = append(series, label)
	}
	p.Y.Min = 0
	f.Panels = []Panel{{Plot: p, Series: series}}
	return f, nil
}

// dashes returns a distinct dash pattern for the i-th overlapping line, so lines that coincide
// stay visible.
func dashes(i int) []vg.Length {
	switch i % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	}
	return nil
}

// sharedLabel names a set of rows by the swept values they all share (seed excluded), or "all
// runs" when they share none.
func (e *Experiment) sharedLabel(rows []*Row) string {
	var parts []string
	for _, k := range e.Keys {
		v := rows[0].Values[k.Path]
		same := true
		for _, r := range rows[1:] {
			if r.Values[k.Path] != v {
				same = false
				break
			}
		}
		if same && e.swept(k.Path) {
			parts = append(parts, k.Label+"="+v)
		}
	}
	if len(parts) == 0 {
		return "all runs"
	}
	return strings.Join(parts, ", ")
}

// evalVsFigure draws the final headline metric against a numeric swept key: per hue value,
// every finished run as a dot and the mean over seeds as a line; one panel per value of the
// remaining swept keys.
func (e *Experiment) evalVsFigure(key, name, xLabel string, logX bool) (*Figure, error) {
	labels, panels := e.panelsBy(e.Rows, key)
	label := configs.Alias(key)
	f := &Figure{Name: name, Title: e.Metric + " against " + label,
		Caption: fmt.Sprintf("Final %s against %s. Dots are single runs, lines join the means over seeds; failed and diverged runs are left out.", e.Metric, label),
		Cols:    gridCols(len(panels)), PanelW: 6 * vg.Inch, PanelH: 4 * vg.Inch}
	xsAll := map[float64]bool{}
	for pi, rows := range panels {
		title := e.Metric + " vs " + label
		if labels[pi] != "" {
			title += ": " + labels[pi]
		}
		p := newPlot(title, xLabel, e.Metric+" (nats/token)")
		if logX {
			p.X.Scale = plot.LogScale{}
		}
		var series []string
		for hi, hv := range e.hueValues() {
			if hv == "" && e.Hue != "" {
				continue
			}
			byX := map[float64][]float64{}
			var dots plotter.XYs
			for _, r := range rows {
				if (e.Hue != "" && e.Hue != key && r.Values[e.Hue] != hv) || !e.finished(r) {
					continue
				}
				x, err := strconv.ParseFloat(r.Values[key], 64)
				if err != nil || (logX && x <= 0) {
					continue
				}
				xsAll[x] = true
				byX[x] = append(byX[x], e.Value(r))
				dots = append(dots, plotter.XY{X: x, Y: e.Value(r)})
			}
			if len(dots) == 0 {
				continue
			}
			var means plotter.XYs
			for x, ys := range byX {
				m, _ := meanStd(ys)
				means = append(means, plotter.XY{X: x, Y: m})
			}
			sort.Slice(means, func(i, j int) bool { return means[i].X < means[j].X })
			col := paletteColor(hi)
			line, err := plotter.NewLine(means)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", f.Name, err)
			}
			line.Color, line.Width = col, vg.Points(1.5)
			sc, err := plotter.NewScatter(dots)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", f.Name, err)
			}
			sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = col, vg.Points(3), draw.CircleGlyph{}
			p.Add(line, sc)
			l := e.hueLabel(hv)
			if e.Hue == key {
				l = "all runs"
			}
			p.Legend.Add(asciiText(l), line, sc)
			series = append(series, l)
			if e.Hue == key {
				break
			}
		}
		f.Panels = append(f.Panels, Panel{Plot: p, Series: series})
	}
	var ticks plot.ConstantTicks
	xs := make([]float64, 0, len(xsAll))
	for x := range xsAll {
		xs = append(xs, x)
	}
	sort.Float64s(xs)
	for _, x := range xs {
		ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)})
	}
	for _, pn := range f.Panels {
		if len(xs) == 0 {
			continue
		}
		pn.Plot.X.Tick.Marker = ticks
		lo, hi := xs[0], xs[len(xs)-1]
		if logX {
			pn.Plot.X.Min, pn.Plot.X.Max = lo/1.5, hi*1.5
		} else {
			pad := 0.08 * (hi - lo)
			if pad == 0 {
				pad = 1
			}
			pn.Plot.X.Min, pn.Plot.X.Max = lo-pad, hi+pad
		}
	}
	return f, nil
}

// barFigure draws one horizontal bar per configuration: the mean headline metric over its
// finished runs, coloured by hue value, with each finished run as a dot and each failed or
// diverged run as a cross at the left edge, its configuration's label saying how many.
func (e *Experiment) barFigure() (*Figure, error) {
	n := len(e.Groups)
	title := "Final " + e.Metric + " per configuration"
	f := &Figure{Name: e.Metric + "_bars", Title: title,
		Caption: title + ": bars are the mean over finished seeds, dots single runs, crosses (and the label) mark runs that failed or diverged.",
		Cols:    1, PanelW: 8 * vg.Inch}
	p := newPlot(title, e.Metric+" (nats/token)", "")
	xMax := 0.0
	hues := e.hueValues()
	hueIndex := map[string]int{}
	for i, h := range hues {
		hueIndex[h] = i
	}
	var names []string
	var series []string
	legendDone := map[string]bool{}
	var dots, crosses plotter.XYs
	// Groups are listed top to bottom, so the first group gets the highest position.
	for gi, g := range e.Groups {
		pos := float64(n - 1 - gi)
		label := g.Label
		var ys []float64
		bad := 0
		for _, r := range g.Rows {
			if e.finished(r) {
				ys = append(ys, e.Value(r))
				dots = append(dots, plotter.XY{X: e.Value(r), Y: pos})
				xMax = math.Max(xMax, e.Value(r))
			} else {
				bad++
				crosses = append(crosses, plotter.XY{X: 0, Y: pos})
			}
		}
		if bad > 0 {
			label += fmt.Sprintf(" [%d of %d not finished]", bad, len(g.Rows))
		}
		names = append([]string{asciiText(label)}, names...)
		if len(ys) == 0 {
			continue
		}
		m, _ := meanStd(ys)
		bar, err := plotter.NewBarChart(plotter.Values{m}, vg.Points(14))
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		hv := ""
		if e.Hue != "" {
			hv = g.Values[e.Hue]
		}
		bar.Horizontal, bar.XMin = true, pos
		bar.Color = paletteColor(hueIndex[hv])
		bar.LineStyle.Width = 0
		p.Add(bar)
		if !legendDone[hv] {
			legendDone[hv] = true
			l := e.hueLabel(hv) + " (mean)"
			p.Legend.Add(asciiText(l), bar)
			series = append(series, l)
		}
	}
	if len(dots) > 0 {
		sc, err := plotter.NewScatter(dots)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		sc.GlyphStyle.Shape, sc.GlyphStyle.Radius, sc.GlyphStyle.Color = draw.CircleGlyph{}, vg.Points(2.5), color.Black
		p.Add(sc)
		p.Legend.Add("single run", sc)
		series = append(series, "single run")
	}
	if len(crosses) > 0 {
		sc, err := plotter.NewScatter(crosses)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		sc.GlyphStyle.Shape, sc.GlyphStyle.Radius, sc.GlyphStyle.Color = draw.CrossGlyph{}, vg.Points(5), color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255}
		p.Add(sc)
		p.Legend.Add("failed or diverged run", sc)
		series = append(series, "failed or diverged run")
	}
	p.NominalY(names...)
	// Bars take 0.45 inch each; empty slots above the top bar hold the legend (0.4 of a
	// slot per entry), so it never covers a bar.
	extra := 0.4*float64(len(series)) + 0.1
	p.Y.Max = float64(n) - 0.5 + extra
	f.PanelH = vg.Length(math.Max(3, 1.2+0.45*(float64(n)+extra))) * vg.Inch
	p.X.Min = 0
	if xMax > 0 {
		p.X.Max = 1.15 * xMax
	}
	f.Panels = []Panel{{Plot: p, Series: series}}
	return f, nil
}
