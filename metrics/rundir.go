package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sftlab/sftlab/internal/atomicfile"
)

// Sample is one line of samples.jsonl: a completion generated greedily by the trained model for
// a held-out prompt.
type Sample struct {
	Prompt     string `json:"prompt"`     // the formatted prompt, up to and including the answer marker
	Completion string `json:"completion"` // what the model generated
	Reference  string `json:"reference"`  // the dataset's expected output
	Format     string `json:"format"`     // the data format the run trained on ("sft", "instruction", "chat")
}

// Run is everything read from one run folder.
type Run struct {
	Dir     string         // the run folder
	Info    RunInfo        // run.json
	Steps   []Step         // metrics.arrow
	Evals   []Eval         // eval.arrow
	Config  map[string]any // config.yaml flattened to dotted key paths ("train.learning_rate")
	Samples []Sample       // samples.jsonl, if present
	// Err joins the problems met reading the folder: a missing or unreadable file. The run is
	// still returned so a report can show it; when a finished ("ok") run lacks its metrics,
	// ReadRunDir also marks it failed.
	Err error
}

// ReadRunDir reads a run folder: run.json, metrics.arrow, eval.arrow, config.yaml and, if
// present, samples.jsonl. Missing or corrupt files do not stop it: they are collected in
// Run.Err. A missing run.json marks the run failed, named after its folder. The error result is
// non-nil only when dir is not a readable folder.
func ReadRunDir(dir string) (Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Run{}, fmt.Errorf("run folder: %w", err)
	}
	if !st.IsDir() {
		return Run{}, fmt.Errorf("run folder %s: not a folder", dir)
	}
	r := Run{Dir: dir}
	var problems []error
	note := func(err error) { problems = append(problems, err) }

	info, err := ReadRunInfo(filepath.Join(dir, RunInfoFile))
	if err != nil {
		note(err)
		info = RunInfo{
			Name: filepath.Base(dir), ID: filepath.Base(dir), Status: StatusFailed,
			Error: fmt.Sprintf("%s unreadable", RunInfoFile), Summary: EmptySummary(),
		}
	}
	if info.Name == "" {
		info.Name = filepath.Base(dir)
	}
	if info.Status == "" {
		info.Status = StatusRunning
	}
	// A run that did not finish may lack its Arrow files; a finished one must have them.
	finished := info.Status == StatusOK
	var missing []string
	if r.Steps, err = ReadSteps(filepath.Join(dir, StepsFile)); err != nil && (finished || !errors.Is(err, fs.ErrNotExist)) {
		note(err)
		missing = append(missing, StepsFile)
	}
	if r.Evals, err = ReadEvals(filepath.Join(dir, EvalsFile)); err != nil && (finished || !errors.Is(err, fs.ErrNotExist)) {
		note(err)
		missing = append(missing, EvalsFile)
	}
	if finished && len(missing) > 0 {
		info.Status = StatusFailed
		info.Error = strings.Join(missing, " and ") + " missing or unreadable"
	}
	if r.Config, err = ReadConfig(filepath.Join(dir, ConfigFile)); err != nil {
		note(err)
	}
	if r.Samples, err = ReadSamples(filepath.Join(dir, SamplesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		note(err)
	}
	r.Info = info
	r.Err = errors.Join(problems...)
	return r, nil
}

// ReadExperiment reads every run folder under runsDir/name, sorted by run name, then folder.
// Folders whose names start with "." or "_" are skipped.
func ReadExperiment(runsDir, name string) ([]Run, error) {
	dir := filepath.Join(runsDir, name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("experiment %q: %w (run `sftlab run experiments/%s.yaml` first, or pass --runs)", name, err, name)
	}
	var runs []Run
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		r, err := ReadRunDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("experiment %q: no run folders in %s (run `sftlab run experiments/%s.yaml` first)", name, dir, name)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if runs[i].Info.Name != runs[j].Info.Name {
			return runs[i].Info.Name < runs[j].Info.Name
		}
		return runs[i].Dir < runs[j].Dir
	})
	return runs, nil
}

// ReadConfig reads a YAML file into a flat map from dotted key paths to values
// ({"train": {"seed": 1}} becomes {"train.seed": 1}). Lists stay whole values.
func ReadConfig(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(path, data)
}

// parseConfig flattens the config.yaml data; path names it in errors.
func parseConfig(path string, data []byte) (map[string]any, error) {
	var tree map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	flat := map[string]any{}
	flatten("", tree, flat)
	return flat, nil
}

func flatten(prefix string, tree map[string]any, out map[string]any) {
	for k, v := range tree {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			flatten(key, sub, out)
			continue
		}
		out[key] = v
	}
}

// ReadSamples reads a samples.jsonl file: one JSON Sample per line; blank lines are skipped.
func ReadSamples(path string) ([]Sample, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseSamples(path, data)
}

// parseSamples decodes the samples.jsonl data; path names it in errors.
func parseSamples(path string, data []byte) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var s Sample
		if err := json.Unmarshal(text, &s); err != nil {
			return out, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// WriteSamples writes samples to path as JSON lines, atomically.
func WriteSamples(path string, samples []Sample) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, s := range samples {
		if err := enc.Encode(s); err != nil {
			return fmt.Errorf("%s: encode sample: %w", path, err)
		}
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}
