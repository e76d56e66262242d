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

	"github.com/knadh/koanf/maps"
	"go.yaml.in/yaml/v3"

	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/internal/claim"
)

// Sample is one line of samples.jsonl: a completion generated greedily by the trained model for
// a held-out prompt.
type Sample struct {
	Prompt     string `json:"prompt"`     // the formatted prompt, up to and including the answer marker
	Completion string `json:"completion"` // what the model generated
	Reference  string `json:"reference"`  // the dataset's expected output
	Format     string `json:"format"`     // the data format the run trained on ("sft", "instruction", "chat")
	// Scores compares Completion with Reference (package scores); nil when not scored.
	Scores *SampleScores `json:"scores,omitempty"`
}

// SampleScores are one completion's scores against its reference.
type SampleScores struct {
	ExactMatch float64 `json:"exact_match"` // 1 or 0
	RougeL     float64 `json:"rouge_l"`     // character-level ROUGE-L F1, in [0, 1]
	ChrF       float64 `json:"chrf"`        // sentence chrF2, 0–100
}

// Run is everything read from one run folder.
type Run struct {
	Dir   string  // the run folder
	Info  RunInfo // run.json
	Steps []Step  // metrics.arrow
	Evals []Eval  // eval.arrow
	// Generations holds generation.arrow's rows: the scores of greedy completions; nil for a
	// run that scored none, or that was recorded before they were scored.
	Generations []Generation
	Config      map[string]any // config.yaml flattened to dotted key paths ("train.learning_rate")
	Samples     []Sample       // samples.jsonl, if present
	// Err joins the problems met reading the folder: a missing or unreadable file. The run is
	// still returned so a report can show it; when a finished ("ok") run lacks its metrics,
	// ReadRunDir also marks it failed.
	Err error
}

// ReadRunDir reads a run folder: run.json, metrics.arrow, eval.arrow, config.yaml and, if
// present, generation.arrow and samples.jsonl. Missing or corrupt files do not stop it: they are collected in
// Run.Err. A missing run.json marks the run failed, named after its folder. The error result is
// non-nil only when dir is not a readable folder.
func ReadRunDir(dir string) (Run, error) {
	r, _, err := readRunDir(dir)
	return r, err
}

// readRunDir is ReadRunDir; infoErr is why run.json could not be read, nil when it was.
func readRunDir(dir string) (r Run, infoErr, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Run{}, nil, fmt.Errorf("run folder: %w", err)
	}
	if !st.IsDir() {
		return Run{}, nil, fmt.Errorf("run folder %s: not a folder", dir)
	}
	r = Run{Dir: dir}
	var problems []error
	note := func(err error) { problems = append(problems, err) }

	info, infoErr := ReadCurrentRunInfo(dir)
	if infoErr != nil {
		note(infoErr)
		info = RunInfo{
			Name: filepath.Base(dir), ID: filepath.Base(dir), Status: StatusFailed,
			Error: fmt.Sprintf("%s unreadable", RunInfoFile), Summary: EmptySummary(),
		}
	}
	if info.Name == "" {
		info.Name = filepath.Base(dir)
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
	if r.Generations, err = ReadGenerations(filepath.Join(dir, GenerationsFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		note(err)
	}
	if r.Config, err = ReadConfig(filepath.Join(dir, ConfigFile)); err != nil {
		note(err)
	}
	if r.Samples, err = ReadSamples(filepath.Join(dir, SamplesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		note(err)
	}
	r.Info = info
	r.Err = errors.Join(problems...)
	return r, infoErr, nil
}

// ReadCurrentRunInfo reads the run.json of the run folder dir, with the status the run has now
// (see [CurrentStatus]) rather than the one last recorded: every command that shows a run's
// status reads it here.
func ReadCurrentRunInfo(dir string) (RunInfo, error) {
	info, err := ReadRunInfo(filepath.Join(dir, RunInfoFile))
	if err != nil {
		return info, err
	}
	if now := CurrentStatus(dir, info.Status); now != info.Status {
		info.Status = now
		if info.Error == "" {
			info.Error = "the process training it stopped without recording how (killed): the next sftlab run resumes it"
		}
	}
	return info, nil
}

// CurrentStatus is the status that the run in folder dir has now, given the one its run.json
// records ("" reads as running). A run is running only while a live process holds its claim
// ([ClaimFile]); recorded as running without one (no claim file, or one whose holder is gone:
// its pid no longer exists on this host, or its heartbeat stopped), the process training it was
// killed, and the run is interrupted: the next `sftlab run` resumes it from its checkpoint. A
// claim that cannot be read leaves the recorded status.
func CurrentStatus(dir string, recorded Status) Status {
	if recorded != StatusRunning && recorded != "" {
		return recorded
	}
	if _, live, err := claim.Holder(ClaimFile(dir), claim.Options{}); err == nil && !live {
		return StatusInterrupted
	}
	return StatusRunning
}

// ClaimsDir is the folder, inside an experiment's folder, that holds the claims of its runs;
// readers of an experiment skip it, as every folder whose name starts with ".".
const ClaimsDir = ".claims"

// ClaimFile is the lock file that a process holds while it trains the run in folder runDir
// (OUTPUT_DIR/NAME/RUN_ID): OUTPUT_DIR/NAME/.claims/RUN_ID.lock, outside the run folder, which
// training may delete and recreate.
func ClaimFile(runDir string) string {
	runDir = filepath.Clean(runDir)
	return filepath.Join(filepath.Dir(runDir), ClaimsDir, filepath.Base(runDir)+".lock")
}

// ReadExperiment reads every run folder under runsDir/name, sorted by run name, then folder.
// Folders whose names start with "." or "_" are skipped, and so are folders without a readable
// run.json, which hold no run to show (one being started, or one whose run.json was damaged and
// which the next `sftlab run` trains again): skipped says why for each of them.
func ReadExperiment(runsDir, name string) (runs []Run, skipped []error, err error) {
	dir := ExperimentDir(runsDir, name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("experiment %q: %w (run `sftlab run experiments/%s.yaml` first, or pass --runs)", name, err, name)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		r, infoErr, err := readRunDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		if infoErr != nil {
			skipped = append(skipped, fmt.Errorf("folder %s skipped: %w", r.Dir, infoErr))
			continue
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return nil, skipped, fmt.Errorf("experiment %q: no runs in %s (run `sftlab run experiments/%s.yaml` first)", name, dir, name)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if runs[i].Info.Name != runs[j].Info.Name {
			return runs[i].Info.Name < runs[j].Info.Name
		}
		return runs[i].Dir < runs[j].Dir
	})
	return runs, skipped, nil
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
	flat, _ := maps.Flatten(tree, nil, ".")
	return flat, nil
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

// The folder layout of sftlab's outputs. Runs live under each run's output.dir (configs
// default: "runs"), reports under ReportsDir; the baselines' folder belongs to regress. Every
// package that needs a path builds it here.

// ReportsDir is the folder, relative to the working directory, that holds one report folder
// per experiment.
const ReportsDir = "reports"

// ExperimentDir is where the runs of an experiment land: outputDir/EXPERIMENT.
func ExperimentDir(outputDir, experiment string) string {
	return filepath.Join(outputDir, experiment)
}

// RunDir is the folder of one run: outputDir/EXPERIMENT/RUN_ID.
func RunDir(outputDir, experiment, runID string) string {
	return filepath.Join(outputDir, experiment, runID)
}

// ReportDir is where the report of an experiment is written: reports/EXPERIMENT.
func ReportDir(experiment string) string {
	return filepath.Join(ReportsDir, experiment)
}
