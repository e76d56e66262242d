package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/sftlab/sftlab/metrics"
)

// EvalSeries is one eval.arrow metric that the eval-curve figure draws per step, beside the
// training loss: a mean line over seeds with a band from their minimum to their maximum.
type EvalSeries struct {
	Label   string                     // legend entry, e.g. "eval_loss (held-out)"
	Split   string                     // the eval.arrow split whose rows it reads
	Value   func(metrics.Eval) float64 // the value of a row; NaN (e.g. a column an old file lacks) is skipped
	Dashed  bool
	MarkMin bool // mark the step of the lowest mean: where held-out loss stopped improving
}

// DefaultEvalSeries are the curves the report draws: the loss on the held-out split (its lowest
// point marked) and on the training split.
func DefaultEvalSeries() []EvalSeries {
	loss := func(e metrics.Eval) float64 { return e.Loss }
	return []EvalSeries{
		{Label: "eval_loss (held-out)", Split: metrics.SplitValid, Value: loss, MarkMin: true},
		{Label: "eval_loss (train split)", Split: metrics.SplitTrain, Value: loss, Dashed: true},
	}
}

// evalBand returns, per eval step, the mean, minimum and maximum of series over rows (finite
// values only).
func evalBand(rows []*Row, s EvalSeries) (mean, lo, hi plotter.XYs) {
	byStep := map[int64][]float64{}
	for _, r := range rows {
		for _, ev := range r.Run.Evals {
			if v := s.Value(ev); ev.Split == s.Split && isFinite(v) {
				byStep[ev.Step] = append(byStep[ev.Step], v)
			}
		}
	}
	return bandOf(byStep)
}

// Lowest is where a configuration's mean held-out loss was lowest.
type Lowest struct {
	Step       int64   // the eval step of the lowest mean
	Value      float64 // the lowest mean
	Final      float64 // the mean at the last eval step
	FinalStep  int64
	EvalPoints int // eval steps with a value
	// Spread is the larger difference between the highest and the lowest seed at the lowest
	// and at the final step: a rise from Value to Final within it may be seed noise.
	Spread float64
}

// lowestOf returns the lowest point of a mean curve (the first on ties) and its last point;
// lo and hi are the seeds' minimum and maximum at the same steps (nil for none).
func lowestOf(mean, lo, hi plotter.XYs) (Lowest, bool) {
	if len(mean) == 0 {
		return Lowest{}, false
	}
	best := 0
	for i, p := range mean {
		if p.Y < mean[best].Y {
			best = i
		}
	}
	last := len(mean) - 1
	l := Lowest{Step: int64(mean[best].X), Value: mean[best].Y, Final: mean[last].Y, FinalStep: int64(mean[last].X), EvalPoints: len(mean)}
	if len(lo) == len(mean) && len(hi) == len(mean) {
		l.Spread = math.Max(hi[best].Y-lo[best].Y, hi[last].Y-lo[last].Y)
	}
	return l, true
}

// LowestEval returns where g's finished runs had their lowest mean value of s.
func (g *Group) LowestEval(s EvalSeries) (Lowest, bool) {
	return lowestOf(evalBand(finishedRuns(g.Rows), s))
}

// finishedRuns returns the rows whose status is ok.
func finishedRuns(rows []*Row) []*Row {
	var out []*Row
	for _, r := range rows {
		if r.Status == metrics.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// hasEvalCurves reports whether some configuration was evaluated at two steps or more
// (eval.every > 0), so that its eval loss has a curve.
func (e *Experiment) hasEvalCurves(series []EvalSeries) bool {
	for _, g := range e.Groups {
		for _, s := range series {
			if l, ok := g.LowestEval(s); ok && l.EvalPoints >= 2 {
				return true
			}
		}
	}
	return false
}

// evalCurvesFigure draws, per configuration, the training loss per step and each eval series
// per eval step, every one as the mean over the finished seeds with a min–max band, and marks
// the step of the lowest mean of the series that ask for it. It returns nil when no
// configuration was evaluated more than once.
func (e *Experiment) evalCurvesFigure(series []EvalSeries) (*Figure, error) {
	if !e.hasEvalCurves(series) {
		return nil, nil
	}
	f := &Figure{Name: "eval_curves", Title: "Eval loss per step beside the training loss",
		Caption: "Per configuration: the training loss per step and the eval losses at every evaluation (eval.every), lines the mean over finished seeds, bands their minimum to maximum. " +
			"The marker is the step of the lowest mean held-out loss: where it lies before the end, more training made the held-out loss worse (overfitting).",
		Cols: gridCols(len(e.Groups)), PanelW: 6 * vg.Inch, PanelH: 4 * vg.Inch}
	yMin, yMax := math.Inf(1), math.Inf(-1)
	for _, g := range e.Groups {
		rows := finishedRuns(g.Rows)
		p := newPlot("Loss per step: "+g.Label, "step", "loss (nats/token)")
		var panelSeries []string
		firstEval := math.Inf(1)
		type band struct {
			mean, lo, hi plotter.XYs
			col          color.RGBA
			label        string
			dashed       bool
			markMin      bool
			dots         bool // mark each evaluation
		}
		var bands []band
		for i, s := range series {
			mean, lo, hi := evalBand(rows, s)
			if len(mean) == 0 {
				continue
			}
			firstEval = math.Min(firstEval, mean[0].X)
			bands = append(bands, band{mean, lo, hi, paletteColor(i + 1), s.Label, s.Dashed, s.MarkMin, true})
		}
		if len(rows) > 0 {
			mean, lo, hi := bandOverSeeds(rows)
			bands = append([]band{{mean, lo, hi, color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 255}, "train_loss (per step)", false, false, false}}, bands...)
		}
		for bi, b := range bands {
			if len(b.mean) == 0 {
				continue
			}
			poly, err := plotter.NewPolygon(bandPolygon(b.lo, b.hi))
			if err != nil {
				return nil, fmt.Errorf("plot %s: band: %w", f.Name, err)
			}
			poly.Color = color.NRGBA{R: b.col.R, G: b.col.G, B: b.col.B, A: 50}
			poly.LineStyle.Width = 0
			line, err := plotter.NewLine(b.mean)
			if err != nil {
				return nil, fmt.Errorf("plot %s: line: %w", f.Name, err)
			}
			line.Color, line.Width = b.col, vg.Points(1.5)
			if bi == 0 && b.label == "train_loss (per step)" {
				line.Width = vg.Points(0.75)
			}
			if b.dashed {
				line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(poly, line)
			if b.dots {
				dots, err := plotter.NewScatter(b.mean)
				if err != nil {
					return nil, fmt.Errorf("plot %s: points: %w", f.Name, err)
				}
				dots.GlyphStyle = draw.GlyphStyle{Color: b.col, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
				p.Add(dots)
			}
			label := b.label
			if len(rows) > 1 {
				label += fmt.Sprintf(", %d seeds", len(rows))
			}
			p.Legend.Add(asciiText(label), line, poly)
			panelSeries = append(panelSeries, label)
			for i := range b.lo {
				if b.lo[i].X >= firstEval {
					yMin, yMax = math.Min(yMin, b.lo[i].Y), math.Max(yMax, b.hi[i].Y)
				}
			}
			if !b.markMin {
				continue
			}
			low, _ := lowestOf(b.mean, nil, nil)
			mark, err := plotter.NewScatter(plotter.XYs{{X: float64(low.Step), Y: low.Value}})
			if err != nil {
				return nil, fmt.Errorf("plot %s: marker: %w", f.Name, err)
			}
			mark.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255}, Radius: vg.Points(5), Shape: draw.PyramidGlyph{}}
			p.Add(mark)
			ml := fmt.Sprintf("lowest held-out: step %d (%.4f)", low.Step, low.Value)
			p.Legend.Add(ml, mark)
			panelSeries = append(panelSeries, ml)
		}
		f.Panels = append(f.Panels, Panel{Plot: p, Series: panelSeries})
	}
	// Each panel spans its own steps (a short run stays readable beside a long one); one loss
	// range for all, from the first evaluation on (the first steps' training loss would flatten
	// the curves), with room above for the legend.
	for _, pn := range f.Panels {
		pn.Plot.X.Min = 0
		pn.Plot.X.Tick.Marker = integerTicks{}
	}
	if isFinite(yMin) && isFinite(yMax) {
		span := math.Max(yMax-yMin, 0.1)
		for _, pn := range f.Panels {
			pn.Plot.Y.Min, pn.Plot.Y.Max = math.Max(0, yMin-0.05*span), yMax+0.45*span
		}
	}
	return f, nil
}

// integerTicks are gonum's default ticks with whole-number labels (steps are integers; the
// default labels can read "25.00").
type integerTicks struct{}

// Ticks returns the default ticks between min and max, relabelled.
func (integerTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(math.Round(ticks[i].Value), 'f', -1, 64)
		}
	}
	return ticks
}

// overfitFindings says, for the configurations evaluated more than once, where their mean
// held-out loss was lowest: before the end of training (more training made it worse), or at
// the end.
func (e *Experiment) overfitFindings(series []EvalSeries) []string {
	var held EvalSeries
	found := false
	for _, s := range series {
		if s.MarkMin {
			held, found = s, true
			break
		}
	}
	if !found {
		return nil
	}
	var overfit, noise, atEnd []string
	for _, g := range e.Groups {
		low, ok := g.LowestEval(held)
		if !ok || low.EvalPoints < 2 {
			continue
		}
		where := fmt.Sprintf("`%s` at step %d (%.4f, then %.4f at step %d)", g.Label, low.Step, low.Value, low.Final, low.FinalStep)
		seeds := len(finishedRuns(g.Rows))
		if seeds == 1 {
			where += ", one seed"
		}
		switch {
		case low.Step == low.FinalStep:
			atEnd = append(atEnd, "`"+g.Label+"`")
		case seeds > 1 && low.Final-low.Value > low.Spread:
			overfit = append(overfit, where)
		default:
			noise = append(noise, where)
		}
	}
	var out []string
	if len(overfit) > 0 {
		out = append(out, fmt.Sprintf("The mean %s was lowest before the end of training and then rose by more than the spread between seeds, a sign of overfitting, in %s.",
			held.Label, joinList(overfit)))
	}
	if len(noise) > 0 {
		out = append(out, fmt.Sprintf("The mean %s was lowest before the end of training but rose afterwards by no more than the spread between seeds, or was measured with one seed only (possibly noise), in %s.",
			held.Label, joinList(noise)))
	}
	if len(atEnd) > 0 {
		out = append(out, fmt.Sprintf("The mean %s was lowest at the last evaluation in %s.", held.Label, joinList(atEnd)))
	}
	return out
}

// joinList joins items with commas and a final "and".
func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := ""
	for i, it := range items {
		switch {
		case i == 0:
			out = it
		case i == len(items)-1:
			out += " and " + it
		default:
			out += ", " + it
		}
	}
	return out
}
