package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/sftlab/sftlab/internal/atomicfile"
)

// Status is how a run ended, as recorded in run.json.
type Status string

// Run statuses.
const (
	StatusOK          Status = "ok"          // trained to max_steps and evaluated
	StatusFailed      Status = "failed"      // stopped by an error (see RunInfo.Error)
	StatusDiverged    Status = "diverged"    // stopped because the loss became NaN or Inf, or rose above train.divergence_factor × the first step's
	StatusRunning     Status = "running"     // started and not finished (or killed without a trace)
	StatusInterrupted Status = "interrupted" // stopped by a signal; resumable from its checkpoint
)

// RunInfo is the content of run.json: what a run is, how it ended, what produced it and its
// headline numbers.
type RunInfo struct {
	Name       string     `json:"name"`            // readable, e.g. "format=sft,lr=0.001,seed=1"
	ID         string     `json:"id"`              // stable hash of the resolved config; the folder name
	Experiment string     `json:"experiment"`      // experiment name, e.g. "lr_sweep"
	Status     Status     `json:"status"`          // see the Status constants
	Error      string     `json:"error,omitempty"` // why the run failed or diverged
	Params     []Param    `json:"params"`          // the swept keys and this run's values, in sweep order
	Provenance Provenance `json:"provenance"`
	Data       DataStats  `json:"data"`
	Summary    Summary    `json:"summary"`
}

// DataStats describes the examples a run trained and evaluated on, after tokenization.
type DataStats struct {
	TrainExamples int `json:"train_examples"`
	ValidExamples int `json:"valid_examples"`
	Truncated     int `json:"truncated"`      // examples cut at data.max_length (data.truncate: true)
	MaxTokens     int `json:"max_tokens"`     // the longest example, before truncation
	TrainedTokens int `json:"trained_tokens"` // positions carrying a label, both splits
	MaskedTokens  int `json:"masked_tokens"`  // positions labelled -100, both splits
}

// Param is one swept config key and this run's value for it.
type Param struct {
	Key   string `json:"key"`   // full config key path, e.g. "train.learning_rate"
	Value any    `json:"value"` // the resolved value: a string, number or bool
}

// Provenance records what produced a run.
type Provenance struct {
	GitCommit     string    `json:"git_commit"`
	GitDirty      bool      `json:"git_dirty"`
	GoVersion     string    `json:"go_version"`
	GoMLXVersion  string    `json:"gomlx_version"`
	Backend       string    `json:"backend"` // "cpu" or "gpu"
	Device        string    `json:"device"`  // e.g. CPU model or GPU name
	Host          string    `json:"host"`
	DatasetHash   string    `json:"dataset_hash"`
	TokenizerHash string    `json:"tokenizer_hash"`
	StartTime     time.Time `json:"start_time"`
	EndTime       time.Time `json:"end_time"`
	WallS         float64   `json:"wall_s"` // wall-clock seconds from start to end
}

// Summary holds a run's headline numbers. A value that was not measured is NaN; in JSON,
// NaN and ±Inf are written as the strings "NaN", "+Inf" and "-Inf", and null or a missing key
// reads as NaN.
type Summary struct {
	FinalTrainLoss float64 // train_loss of the last step
	EvalLoss       float64 // loss on the valid split at the last evaluation
	EvalLossTrain  float64 // loss on the train split at the last evaluation
	TokenAccuracy  float64 // token accuracy on the valid split at the last evaluation
	TokensPerS     float64 // mean tokens_per_s over the steps, the first step excluded when there are more
	Steps          int64   // number of the last step trained
}

// EmptySummary returns a Summary with every value unmeasured.
func EmptySummary() Summary {
	nan := math.NaN()
	return Summary{FinalTrainLoss: nan, EvalLoss: nan, EvalLossTrain: nan, TokenAccuracy: nan, TokensPerS: nan}
}

// Summarize derives a run's Summary from its metrics.arrow and eval.arrow rows. The report
// uses the same function, so run.json and the report always agree.
func Summarize(steps []Step, evals []Eval) Summary {
	s := EmptySummary()
	if n := len(steps); n > 0 {
		s.FinalTrainLoss = steps[n-1].TrainLoss
		s.Steps = steps[n-1].Step
		from := 0
		if n > 1 {
			from = 1 // the first step includes compiling the graph
		}
		var sum float64
		for _, st := range steps[from:] {
			sum += st.TokensPerS
		}
		s.TokensPerS = sum / float64(n-from)
	}
	if e, ok := LastEval(evals, SplitValid); ok {
		s.EvalLoss = e.Loss
		s.TokenAccuracy = e.TokenAccuracy
	}
	if e, ok := LastEval(evals, SplitTrain); ok {
		s.EvalLossTrain = e.Loss
	}
	return s
}

// LastEval returns the evaluation of split with the highest step (the last such row on ties).
func LastEval(evals []Eval, split string) (Eval, bool) {
	var best Eval
	found := false
	for _, e := range evals {
		if e.Split == split && (!found || e.Step >= best.Step) {
			best, found = e, true
		}
	}
	return best, found
}

// summaryJSON is the JSON shape of Summary.
type summaryJSON struct {
	FinalTrainLoss jsonFloat `json:"final_train_loss"`
	EvalLoss       jsonFloat `json:"eval_loss"`
	EvalLossTrain  jsonFloat `json:"eval_loss_train"`
	TokenAccuracy  jsonFloat `json:"token_accuracy"`
	TokensPerS     jsonFloat `json:"tokens_per_s"`
	Steps          int64     `json:"steps"`
}

// MarshalJSON writes the summary with non-finite values as strings.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{
		jsonFloat(s.FinalTrainLoss), jsonFloat(s.EvalLoss), jsonFloat(s.EvalLossTrain),
		jsonFloat(s.TokenAccuracy), jsonFloat(s.TokensPerS), s.Steps,
	})
}

// UnmarshalJSON reads a summary; missing or null values read as NaN.
func (s *Summary) UnmarshalJSON(data []byte) error {
	nan := jsonFloat(math.NaN())
	j := summaryJSON{nan, nan, nan, nan, nan, 0}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*s = Summary{float64(j.FinalTrainLoss), float64(j.EvalLoss), float64(j.EvalLossTrain),
		float64(j.TokenAccuracy), float64(j.TokensPerS), j.Steps}
	return nil
}

// jsonFloat is a float64 whose JSON form allows NaN and ±Inf as strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("number %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		*f = jsonFloat(v)
		return nil
	}
	v, err := strconv.ParseFloat(string(data), 64)
	if err != nil {
		return fmt.Errorf("number %s: %w", data, err)
	}
	*f = jsonFloat(v)
	return nil
}

// ReadRunInfo reads a run.json file.
func ReadRunInfo(path string) (RunInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return RunInfo{}, err
	}
	return parseRunInfo(path, data)
}

// parseRunInfo decodes the run.json data; path names it in errors.
func parseRunInfo(path string, data []byte) (RunInfo, error) {
	info := RunInfo{Summary: EmptySummary()}
	if err := json.Unmarshal(data, &info); err != nil {
		return RunInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// WriteRunInfo writes info to path as indented JSON, atomically.
func WriteRunInfo(path string, info RunInfo) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(info); err != nil {
		return fmt.Errorf("%s: encode run info: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}
