package metrics

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// seed returns the bytes that write produced in a file named name.
func seed(f *testing.F, name string, write func(path string) error) []byte {
	path := filepath.Join(f.TempDir(), name)
	if err := write(path); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzReadSteps feeds mutated metrics.arrow files to ReadSteps: rows or an error, never a
// panic, and never more rows than the file's bytes could hold.
func FuzzReadSteps(f *testing.F) {
	rows := []Step{{1, 0.1, 6.5, 1e-3, 2.5, 100, 1e4, 0.2}, {2, 0.2, 6.1, 2e-3, math.NaN(), 230, 1.2e4, 0.4}}
	f.Add(seed(f, StepsFile, func(p string) error { return WriteSteps(p, rows) }))
	f.Add(seed(f, StepsFile, func(p string) error { return WriteSteps(p, nil) }))
	f.Add(seed(f, EvalsFile, func(p string) error {
		return WriteEvals(p, []Eval{{Step: 10, Split: SplitValid, Loss: 2.5, TokenAccuracy: 0.5, Tokens: 100, AnswerLoss: 2.25, AnswerTokens: 40}})
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readSteps(StepsFile, bytes.NewReader(data), int64(len(data)))
		if err == nil && len(got)*8*8 > len(data)*64 {
			t.Fatalf("%d rows from %d bytes", len(got), len(data))
		}
	})
}

// FuzzReadEvals feeds mutated eval.arrow files to ReadEvals.
func FuzzReadEvals(f *testing.F) {
	f.Add(seed(f, EvalsFile, func(p string) error {
		return WriteEvals(p, []Eval{{Step: 10, Split: SplitValid, Loss: 2.5, TokenAccuracy: 0.5, Tokens: 100, AnswerLoss: 2.25, AnswerTokens: 40}, {Step: 10, Split: SplitTrain, Loss: 2.25, TokenAccuracy: 0.55, Tokens: 120, AnswerLoss: 2, AnswerTokens: 50}})
	}))
	f.Add(seed(f, StepsFile, func(p string) error { return WriteSteps(p, []Step{{Step: 1}}) }))
	f.Fuzz(func(t *testing.T, data []byte) {
		readEvals(EvalsFile, bytes.NewReader(data), int64(len(data)))
	})
}

// FuzzReadGenerations feeds mutated generation.arrow files to ReadGenerations.
func FuzzReadGenerations(f *testing.F) {
	f.Add(seed(f, GenerationsFile, func(p string) error {
		return WriteGenerations(p, []Generation{{Step: 10, Split: SplitValid, Prompts: 4, ExactMatch: 0.25, RougeL: 0.5, ChrF: 40, NewTokens: 60, Seconds: 1.5}})
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		readGenerations(GenerationsFile, bytes.NewReader(data), int64(len(data)))
	})
}

// FuzzReadRunInfo feeds mutated run.json files to ReadRunInfo.
func FuzzReadRunInfo(f *testing.F) {
	info := RunInfo{
		Name: "format=sft,lr=0.001,seed=1", ID: "3fa2c1", Experiment: "lr_sweep", Status: StatusDiverged,
		Error: "step 7", Params: []Param{{"data.format", "sft"}, {"train.learning_rate", 0.001}},
		Provenance: Provenance{GitCommit: "abc", Backend: "cpu", StartTime: time.Unix(0, 0).UTC(), WallS: 4},
		Summary:    Summary{FinalTrainLoss: math.NaN(), EvalLoss: math.Inf(1), EvalLossTrain: 3.25, Steps: 7},
	}
	f.Add(seed(f, RunInfoFile, func(p string) error { return WriteRunInfo(p, info) }))
	f.Add([]byte(`{"summary": {"eval_loss": "-Inf", "steps": null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseRunInfo(RunInfoFile, data)
		if err != nil {
			return
		}
		// What was read can be written back.
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("an accepted run.json cannot be written back: %v", err)
		}
	})
}

// FuzzReadConfig feeds mutated config.yaml files to ReadConfig.
func FuzzReadConfig(f *testing.F) {
	f.Add([]byte("name: smoke\ntrain:\n  max_steps: 12\n  learning_rate: 3.0e-3\nsweep:\n  grid:\n    data.format: [sft, instruction]\n"))
	f.Add([]byte("a: &x [1, 2]\nb: *x\nc: {d: {e: null}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseConfig(ConfigFile, data)
	})
}

// FuzzReadSamples feeds mutated samples.jsonl files to ReadSamples.
func FuzzReadSamples(f *testing.F) {
	f.Add(seed(f, SamplesFile, func(p string) error {
		return WriteSamples(p, []Sample{{Prompt: "问题：你好\n回答：", Completion: "你好", Reference: "你好！", Format: "sft"}})
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseSamples(SamplesFile, data)
	})
}
