package configs

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// Experiment is a loaded experiment file: its resolved base configuration and the runs its
// sweep expands to.
type Experiment struct {
	// Name is the experiment's name (the `name:` key, or the file's base name).
	Name string
	// Path is the experiment file, as given to Load.
	Path string
	// Files is the extends chain as loaded: the experiment file first, then each base, as a
	// path relative to the working directory where possible, or "builtin:configs/NAME.yaml"
	// for an embedded preset.
	Files []string
	// Base is the resolved configuration before the sweep is applied (it holds the sweep).
	Base Config
	// Runs are the expanded sweep points, in expansion order: the grid keys sorted, the first
	// varying slowest, then the zip axis, then the seeds. A file without a sweep has one run.
	Runs []Run
	// SweepOverrides are the --set flags of swept keys; each replaced its key's sweep axis by
	// its one value (Base.Sweep holds the result). Commands log them.
	SweepOverrides []SweepOverride
}

// Run is one point of an experiment's sweep.
type Run struct {
	// ID is Config.ID(): stable for a given resolved config.
	ID string
	// Name is RunName(Params), e.g. "format=sft,lr=1e-4,seed=1", or "default".
	Name string
	// Params are the swept key=values of this run, sorted by key.
	Params []Param
	// Config is the fully resolved config of this run; its Sweep is empty.
	Config Config
}

// setFile is Problem.File for a --set override.
const setFile = "--set"

// maxChain bounds the extends chain.
const maxChain = 32

// layer is one source of values: a file of the chain or the --set flags.
type layer struct {
	file string     // display name; setFile for the --set layer
	doc  *yaml.Node // the file's top mapping; nil for --set
	set  map[string]bool
	k    *koanf.Koanf
}

// DefaultWithSets returns Default() with the --set overrides applied and validated, as Load
// applies them to an experiment file; for commands that work without one.
func DefaultWithSets(sets []string) (Config, error) {
	exp, err := Load("", sets)
	if err != nil {
		return Config{}, err
	}
	return exp.Base, nil
}

// DefaultMaxRuns is the largest sweep LoadContext expands when LoadOptions.MaxRuns is 0: a sweep
// over it is far more likely a mistake (a list pasted into the wrong axis) than a plan.
const DefaultMaxRuns = 1000

// LoadOptions adjusts LoadContext.
type LoadOptions struct {
	// MaxRuns refuses, before expanding it, a sweep of more runs than this (the error gives
	// the count); 0 means DefaultMaxRuns, a negative value no limit.
	MaxRuns int
}

// Load reads the experiment file at path and its extends chain, applies the --set overrides
// ("key=value", the value parsed as YAML, e.g. "train.learning_rate=1e-4"), decodes the result
// strictly into Config, expands the sweep and validates every run. On any problem it returns an
// ErrorList holding all of them, each naming its file, line and key path. It expands sweeps of
// any size; LoadContext can refuse large ones first.
func Load(path string, sets []string) (*Experiment, error) {
	return LoadContext(context.Background(), path, sets, LoadOptions{MaxRuns: -1})
}

// LoadContext is Load with options that gives up when ctx is done. With a run limit, a sweep
// that expands to more runs is refused before any run is expanded, so the refusal takes no
// longer for 10^6 runs than for 10. Expanding a sweep checks ctx between runs, so that an
// interrupt stops the expansion of a large sweep at once; the error then wraps ctx's.
func LoadContext(ctx context.Context, path string, sets []string, opts LoadOptions) (*Experiment, error) {
	var errs ErrorList
	sch := newConfigSchema()
	var layers []*layer
	if path != "" {
		var err error
		if layers, err = readChain(path, sch, &errs); err != nil {
			return nil, err
		}
		if layers == nil { // the chain could not be read: nothing more can be said
			return nil, errs.sorted().Err()
		}
	}
	layers = append(layers, parseSets(sets, sch, &errs))
	unknownKeys := len(errs) > 0

	merged := koanf.New(".")
	for _, l := range layers {
		applyPreset(l.k)
		if err := merged.Merge(l.k); err != nil {
			return nil, fmt.Errorf("%s: merge: %w", l.file, err)
		}
	}

	base := Default()
	for _, p := range decode(merged, &base, unknownKeys) {
		errs = append(errs, locate(p, layers))
	}
	if base.Name == "" && path != "" {
		base.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	overrides := applySetsToSweep(&base.Sweep, layers[len(layers)-1], &errs)
	var shape ErrorList
	base.Sweep.validateSweep(&shape)
	for _, p := range shape {
		errs = append(errs, locate(p, layers))
	}
	if len(shape) > 0 {
		// The runs cannot be expanded; still check the values the file gives.
		merged.Delete("sweep")
		cfg := Default()
		decodeErrs := decode(merged, &cfg, true)
		cfg.Name, cfg.Description = base.Name, base.Description
		for _, p := range validateDecoded(cfg, decodeErrs) {
			errs = append(errs, locate(p, layers))
		}
		return nil, errs.sorted().Err()
	}

	limit := opts.MaxRuns
	if limit == 0 {
		limit = DefaultMaxRuns
	}
	if n := base.Sweep.size(); limit > 0 && n > limit {
		p := locate(Problem{Key: "sweep", path: []string{"sweep"}}, layers)
		p.Msg = fmt.Sprintf("expands to %d runs, more than the limit of %d: allow them with --max-runs %d, or sweep fewer values", n, limit, n)
		if n == math.MaxInt {
			p.Msg = fmt.Sprintf("expands to more than %d runs, far more than the limit of %d: sweep fewer values", n, limit)
		}
		return nil, append(errs, p).sorted().Err()
	}
	exp := &Experiment{Name: base.Name, Path: path, Base: base, SweepOverrides: overrides}
	for _, l := range layers[:len(layers)-1] {
		exp.Files = append([]string{l.file}, exp.Files...)
	}
	runErrs, err := exp.expand(ctx, merged, layers)
	if err != nil {
		return nil, err
	}
	errs = append(errs, runErrs...)
	if err := errs.sorted().Err(); err != nil {
		return nil, err
	}
	return exp, nil
}

// expand builds and validates the runs of the sweep. A problem that every run shares is
// reported once; one that only some runs have names them. Its cost is linear in the number of
// runs, and small: each run decodes the merged values without the sweep, copied once, with its
// parameters laid over them (overlay), copying only the maps they change (copying the sweep's
// lists for every run would make it quadratic). The error is ctx's, when it ended the
// expansion.
func (exp *Experiment) expand(ctx context.Context, merged *koanf.Koanf, layers []*layer) (ErrorList, error) {
	type runProblem struct {
		p    Problem
		runs []string
	}
	var order []string
	byText := map[string]*runProblem{}
	firstByID := map[string]string{}
	var errs ErrorList

	unswept := merged.Copy()
	unswept.Delete("sweep")
	base := unswept.Raw() // only read from here on: the runs' maps share its unswept parts
	pts := exp.Base.Sweep.points()
	exp.Runs = make([]Run, 0, len(pts))
	for i, pt := range pts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("expand the sweep of %s: stopped at run %d of %d: %w", exp.Name, i+1, len(pts), err)
		}
		name := RunName(pt.params)
		params := map[string]any{}
		for _, p := range pt.params {
			setPath(params, strings.Split(p.Key, "."), p.Value)
		}
		pk := koanf.New(".")
		// It cannot fail: the provider returns its map.
		_ = pk.Load(mapProvider(params), nil)
		applyPreset(pk)
		cfg := Default()
		decodeErrs := decodeMap(overlay(base, pk.Raw()), &cfg, true)
		cfg.Name, cfg.Description = exp.Base.Name, exp.Base.Description
		runErrs := validateDecoded(cfg, decodeErrs)
		for _, p := range runErrs {
			if slices.ContainsFunc(exp.SweepOverrides, func(o SweepOverride) bool { return o.Key == p.Key }) {
				p = locate(p, layers) // the value is the --set's
			} else if origin, ok := pt.origin[p.Key]; ok {
				q := locate(Problem{path: origin}, layers)
				p.File, p.Line = q.File, q.Line
			} else {
				p = locate(p, layers)
			}
			text := p.Error()
			if byText[text] == nil {
				byText[text] = &runProblem{p: p}
				order = append(order, text)
			}
			byText[text].runs = append(byText[text].runs, name)
		}
		if len(runErrs) > 0 {
			continue
		}
		run := Run{ID: cfg.ID(), Name: name, Params: pt.params, Config: cfg}
		if other, ok := firstByID[run.ID]; ok {
			q := locate(Problem{Key: "sweep", path: []string{"sweep"}}, layers)
			q.Msg = fmt.Sprintf("runs %s and %s resolve to the same config (id %s): a swept value changes nothing that training computes, or appears twice",
				other, name, run.ID)
			errs = append(errs, q)
			continue
		}
		firstByID[run.ID] = name
		exp.Runs = append(exp.Runs, run)
	}
	for _, text := range order {
		rp := byText[text]
		if len(pts) > 1 && len(rp.runs) < len(pts) {
			rp.p.Msg += " (" + runList(rp.runs) + ")"
		}
		errs = append(errs, rp.p)
	}
	return errs, nil
}

// overlay returns base with the values of top set over it, as koanf's Merge of top into base
// would: maps are merged key by key, any other value replaced. It modifies neither: the result
// shares every map of base that top does not reach, and must only be read.
func overlay(base, top map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range top {
		if tm, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = overlay(bm, tm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// validateDecoded validates a decoded run config (one without a sweep). It returns the decode
// problems and the validation problems, leaving out those about keys that failed to decode
// (they hold their defaults, not the value given).
func validateDecoded(cfg Config, decodeErrs ErrorList) ErrorList {
	var valid ErrorList
	cfg.validate(&valid)
	errs := slices.Clone(decodeErrs)
	for _, p := range valid {
		if !slices.ContainsFunc(decodeErrs, func(d Problem) bool { return d.Key == p.Key }) {
			errs = append(errs, p)
		}
	}
	return errs
}

// runList names the runs a problem concerns, at most three of them.
func runList(runs []string) string {
	if len(runs) == 1 {
		return "run " + runs[0]
	}
	if len(runs) <= 3 {
		return "runs " + strings.Join(runs, "; ")
	}
	return fmt.Sprintf("runs %s and %d more", strings.Join(runs[:3], "; "), len(runs)-3)
}
