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
	StatusRunning     Status = "running"     // being trained: a live process holds its claim (see CurrentStatus)
	StatusInterrupted Status = "interrupted" // stopped by a signal, or its process killed; resumable from its checkpoint
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
	Model      ModelStats `json:"model"`
	Summary    Summary    `json:"summary"`
}

// ModelStats describes the model a run trained. A run.json written before these fields existed
// reads as zero values.
type ModelStats struct {
	VocabSize  int   `json:"vocab_size"` // ids of the model's embedding and output head
	Parameters int64 `json:"parameters"` // trainable parameter values
	// InitHash is the hex SHA-256 of the trainable parameters before the first step: two runs
	// with the same hash start from bit-identical weights, which a paired comparison needs.
	InitHash string `json:"init_hash"`
}

// ScoredTokens describes the label positions of the split that eval_loss is measured on: how
// many eval_loss scores and how many of them are prompt tokens, how many answer_loss scores,
// and how many of each hold a token that never occurs as a trained label (the model cannot have
// learned to predict it). Scored is 0 in a run.json written before these fields existed.
type ScoredTokens struct {
	Split             string  `json:"split"`               // "valid", or "train" with data.eval_on: train
	Scored            int     `json:"scored"`              // positions eval_loss scores
	Prompt            int     `json:"prompt"`              // of those, prompt tokens (not a response or its closing EOS)
	Answer            int     `json:"answer"`              // positions answer_loss scores
	Unseen            int     `json:"unseen"`              // eval_loss positions whose token is never a trained label
	UnseenAnswer      int     `json:"unseen_answer"`       // answer_loss positions whose token is never a trained label
	PromptShare       float64 `json:"prompt_share"`        // Prompt / Scored
	UnseenShare       float64 `json:"unseen_share"`        // Unseen / Scored
	UnseenAnswerShare float64 `json:"unseen_answer_share"` // UnseenAnswer / Answer
}

// DataStats describes the examples a run trained and evaluated on, after tokenization.
type DataStats struct {
	TrainExamples int `json:"train_examples"`
	ValidExamples int `json:"valid_examples"`
	Truncated     int `json:"truncated"`      // examples cut at data.max_length (data.truncate: true)
	MaxTokens     int `json:"max_tokens"`     // the longest example, before truncation
	TrainedTokens int `json:"trained_tokens"` // positions carrying a label, both splits
	MaskedTokens  int `json:"masked_tokens"`  // positions labelled -100, both splits
	// Eval describes the positions scored on the split eval_loss is measured on.
	Eval ScoredTokens `json:"eval"`
	// PaddingShare is the share of padding in the training batches, laid out one example per
	// row and packed (data.packing); nil in runs recorded before it was counted.
	PaddingShare *PaddingShare `json:"padding_share,omitempty"`
}

// PaddingShare is the share of the positions of a run's training batches that hold padding,
// in [0, 1], with one example per row and with the examples packed; data.packing says which
// the run trained with.
type PaddingShare struct {
	Unpacked float64 `json:"unpacked"`
	Packed   float64 `json:"packed"`
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
	FinalTrainLoss  float64 // train_loss of the last step
	TrainLoss       float64 // mean train_loss over all steps, as Hugging Face's Trainer reports train_loss
	EvalLoss        float64 // loss on the valid split at the last evaluation
	AnswerLoss      float64 // answer_loss (response tokens and closing EOS only) on the valid split at the last evaluation
	EvalLossTrain   float64 // loss on the train split at the last evaluation
	AnswerLossTrain float64 // answer_loss on the train split at the last evaluation
	TokenAccuracy   float64 // token accuracy on the valid split at the last evaluation
	TokensPerS      float64 // mean tokens_per_s over the steps, the first step excluded when there are more
	Steps           int64   // number of the last step trained
	ExactMatch      float64 // exact match of the last scored completions (generation.arrow)
	RougeL          float64 // their mean character-level ROUGE-L F1
	ChrF            float64 // their corpus chrF2, 0–100
	GenerateS       float64 // seconds the last generation took
}

// EmptySummary returns a Summary with every value unmeasured.
func EmptySummary() Summary {
	nan := math.NaN()
	return Summary{FinalTrainLoss: nan, TrainLoss: nan, EvalLoss: nan, AnswerLoss: nan, EvalLossTrain: nan,
		AnswerLossTrain: nan, TokenAccuracy: nan, TokensPerS: nan, ExactMatch: nan, RougeL: nan, ChrF: nan, GenerateS: nan}
}

// Summarize derives a run's Summary from its metrics.arrow and eval.arrow rows. The report
// uses the same function, so run.json and the report always agree.
func Summarize(steps []Step, evals []Eval) Summary {
	s := EmptySummary()
	if n := len(steps); n > 0 {
		s.FinalTrainLoss = steps[n-1].TrainLoss
		s.Steps = steps[n-1].Step
		var loss float64
		for _, st := range steps {
			loss += st.TrainLoss
		}
		s.TrainLoss = loss / float64(n)
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
		s.AnswerLoss = e.AnswerLoss
		s.TokenAccuracy = e.TokenAccuracy
	}
	if e, ok := LastEval(evals, SplitTrain); ok {
		s.EvalLossTrain = e.Loss
		s.AnswerLossTrain = e.AnswerLoss
	}
	return s
}

// SummarizeFor is Summarize for a run whose data.eval_on is evalOn: with "train" (the
// classroom script's choice, nothing held out) eval_loss and token accuracy are those of the
// training split. The runner records and the report shows this one summary.
func SummarizeFor(steps []Step, evals []Eval, evalOn string) Summary {
	s := Summarize(steps, evals)
	if evalOn == SplitTrain {
		if e, ok := LastEval(evals, SplitTrain); ok {
			s.EvalLoss, s.AnswerLoss, s.TokenAccuracy = e.Loss, e.AnswerLoss, e.TokenAccuracy
		}
	}
	return s
}

// AddGenerations sets the generation scores of s from the last row of gens; with no rows they
// stay unmeasured.
func (s *Summary) AddGenerations(gens []Generation) {
	if g, ok := LastGeneration(gens); ok {
		s.ExactMatch, s.RougeL, s.ChrF, s.GenerateS = g.ExactMatch, g.RougeL, g.ChrF, g.Seconds
	}
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
	FinalTrainLoss  jsonFloat `json:"final_train_loss"`
	TrainLoss       jsonFloat `json:"train_loss"`
	EvalLoss        jsonFloat `json:"eval_loss"`
	AnswerLoss      jsonFloat `json:"answer_loss"`
	EvalLossTrain   jsonFloat `json:"eval_loss_train"`
	AnswerLossTrain jsonFloat `json:"answer_loss_train"`
	TokenAccuracy   jsonFloat `json:"token_accuracy"`
	TokensPerS      jsonFloat `json:"tokens_per_s"`
	Steps           int64     `json:"steps"`
	ExactMatch      jsonFloat `json:"exact_match"`
	RougeL          jsonFloat `json:"rouge_l"`
	ChrF            jsonFloat `json:"chrf"`
	GenerateS       jsonFloat `json:"generate_s"`
}

// MarshalJSON writes the summary with non-finite values as strings.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{
		FinalTrainLoss: jsonFloat(s.FinalTrainLoss), TrainLoss: jsonFloat(s.TrainLoss),
		EvalLoss: jsonFloat(s.EvalLoss), AnswerLoss: jsonFloat(s.AnswerLoss),
		EvalLossTrain: jsonFloat(s.EvalLossTrain), AnswerLossTrain: jsonFloat(s.AnswerLossTrain),
		TokenAccuracy: jsonFloat(s.TokenAccuracy), TokensPerS: jsonFloat(s.TokensPerS), Steps: s.Steps,
		ExactMatch: jsonFloat(s.ExactMatch), RougeL: jsonFloat(s.RougeL), ChrF: jsonFloat(s.ChrF), GenerateS: jsonFloat(s.GenerateS),
	})
}

// UnmarshalJSON reads a summary; missing or null values read as NaN.
func (s *Summary) UnmarshalJSON(data []byte) error {
	nan := jsonFloat(math.NaN())
	j := summaryJSON{FinalTrainLoss: nan, TrainLoss: nan, EvalLoss: nan, AnswerLoss: nan, EvalLossTrain: nan,
		AnswerLossTrain: nan, TokenAccuracy: nan, TokensPerS: nan, ExactMatch: nan, RougeL: nan, ChrF: nan, GenerateS: nan}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*s = Summary{
		FinalTrainLoss: float64(j.FinalTrainLoss), TrainLoss: float64(j.TrainLoss),
		EvalLoss: float64(j.EvalLoss), AnswerLoss: float64(j.AnswerLoss),
		EvalLossTrain: float64(j.EvalLossTrain), AnswerLossTrain: float64(j.AnswerLossTrain),
		TokenAccuracy: float64(j.TokenAccuracy), TokensPerS: float64(j.TokensPerS), Steps: j.Steps,
		ExactMatch: float64(j.ExactMatch), RougeL: float64(j.RougeL), ChrF: float64(j.ChrF), GenerateS: float64(j.GenerateS),
	}
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
