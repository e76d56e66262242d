package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
)

// quickSets shrink an experiment to a few seconds per run: a one-layer model, two steps, no
// samples.
var quickSets = []string{
	"model.d_model=32", "model.n_heads=2", "model.n_layers=1", "model.d_mlp=64",
	"train.max_steps=2", "train.warmup_steps=1", "eval.samples=0",
}

// withSets turns key=value pairs into repeated --set flags after args.
func withSets(args []string, sets ...string) []string {
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// runInfos reads run.json of every run of experiment name under runs, by run name.
func runInfos(t *testing.T, runs, name string) map[string]metrics.RunInfo {
	t.Helper()
	out := map[string]metrics.RunInfo{}
	for _, d := range runDirs(t, runs, name) {
		info, err := metrics.ReadRunInfo(filepath.Join(d, metrics.RunInfoFile))
		if err != nil {
			t.Fatal(err)
		}
		out[info.Name] = info
	}
	return out
}

// TestPairedRunsShareInitialWeights runs sft_vs_instruction (shrunk, two seeds) through the CLI
// and checks that runs differing only in their format share one vocabulary and start from
// bit-identical weights, while runs differing in their seed do not: the pairing the report's
// paired t-test relies on.
func TestPairedRunsShareInitialWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	runs := filepath.Join(t.TempDir(), "runs")
	exp := filepath.Join("..", "..", "experiments", "sft_vs_instruction.yaml")
	args := withSets([]string{"run", exp, "--quiet"}, append(quickSets, "output.dir="+runs, "sweep.seeds=[1, 2]")...)
	if code, out, errOut := sftlab(t, args...); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	infos := runInfos(t, runs, "sft_vs_instruction")
	if len(infos) != 4 {
		t.Fatalf("%d runs, want 4", len(infos))
	}
	vocab := func(name string) string {
		data, err := os.ReadFile(filepath.Join(runs, "sft_vs_instruction", infos[name].ID, "vocab.json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for _, seed := range []string{"1", "2"} {
		sft, instr := infos["format=sft,seed="+seed], infos["format=instruction,seed="+seed]
		if sft.Model.VocabSize == 0 || sft.Model.VocabSize != instr.Model.VocabSize {
			t.Errorf("seed %s: vocabulary sizes %d (sft) and %d (instruction), want one nonzero size", seed, sft.Model.VocabSize, instr.Model.VocabSize)
		}
		if sft.Model.InitHash == "" || sft.Model.InitHash != instr.Model.InitHash {
			t.Errorf("seed %s: init_hash %q (sft) and %q (instruction), want the same", seed, sft.Model.InitHash, instr.Model.InitHash)
		}
		if vocab("format=sft,seed="+seed) != vocab("format=instruction,seed="+seed) {
			t.Errorf("seed %s: vocab.json differs between the formats", seed)
		}
	}
	if a, b := infos["format=sft,seed=1"].Model.InitHash, infos["format=sft,seed=2"].Model.InitHash; a == b {
		t.Errorf("seeds 1 and 2 start from the same weights (init_hash %s)", a)
	}
	// The scored positions are recorded: eval_loss scores the prompts too (eos_safe), answer_loss
	// the same answers in both formats.
	sft, instr := infos["format=sft,seed=1"].Data.Eval, infos["format=instruction,seed=1"].Data.Eval
	if sft.Scored == 0 || sft.Prompt == 0 || sft.Answer != instr.Answer || instr.Prompt <= sft.Prompt {
		t.Errorf("scored positions sft %+v, instruction %+v: want prompts scored, more of them for instruction, and equal answers", sft, instr)
	}
}

// writeRecords writes n alpaca records to path; record edit gets another output.
func writeRecords(t *testing.T, path string, n, edit int, tag string) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		out := fmt.Sprintf("第%d个答案。", i)
		if i == edit {
			out = "改过的答案。"
		}
		rec := map[string]string{"instruction": "回答问题。", "input": fmt.Sprintf("%s问题%d？", tag, i), "output": out}
		line, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEditedDatasetRetrains edits one record of one of two JSONL datasets of a sweep: the runs
// that use it train again, saying why, and the others are reused. The run ID hashes only the
// dataset's path; the check on its content hash is what catches the edit.
func TestEditedDatasetRetrains(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a.jsonl"), filepath.Join(tmp, "b.jsonl")
	writeRecords(t, a, 10, -1, "甲")
	writeRecords(t, b, 10, -1, "乙")
	exp := filepath.Join(tmp, "two_datasets.yaml")
	yaml := fmt.Sprintf("extends: configs/base.yaml\ndata:\n  masking: eos_safe\n  padding: longest\nsweep:\n  grid:\n    data.dataset: [%s, %s]\n", a, b)
	if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(tmp, "runs")
	args := withSets([]string{"run", exp}, append(quickSets, "output.dir="+runs)...)
	if code, out, errOut := sftlab(t, args...); code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
	}
	before := runInfos(t, runs, "two_datasets")

	writeRecords(t, a, 10, 3, "甲") // one record's output changes
	code, out, errOut := sftlab(t, args...)
	if code != 0 {
		t.Fatalf("after the edit: exit %d\n%s\n%s", code, out, errOut)
	}
	rowOf := func(out, dataset string) string {
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			if strings.Contains(sc.Text(), dataset) {
				return sc.Text()
			}
		}
		t.Fatalf("no summary row for %s in\n%s", dataset, out)
		return ""
	}
	if row := rowOf(out, a); strings.Contains(row, "reused") {
		t.Errorf("the run on the edited dataset was reused: %s", row)
	}
	if row := rowOf(out, b); !strings.Contains(row, "ok (reused)") {
		t.Errorf("the run on the unchanged dataset was not reused: %s", row)
	}
	if !strings.Contains(errOut, "data.dataset "+a+" changed since it was trained") || strings.Contains(errOut, "data.dataset "+b+" changed") {
		t.Errorf("the log does not say (only) that %s changed:\n%s", a, errOut)
	}
	after := runInfos(t, runs, "two_datasets")
	for name, info := range after {
		changed := info.Provenance.DatasetHash != before[name].Provenance.DatasetHash
		if changed != strings.Contains(name, "a.jsonl") {
			t.Errorf("run %s: dataset hash %s → %s", name, before[name].Provenance.DatasetHash, info.Provenance.DatasetHash)
		}
	}
	// Nothing changed since: both are reused.
	if code, out, _ := sftlab(t, args...); code != 0 || strings.Count(out, "ok (reused)") != 2 {
		t.Errorf("third run: exit %d, want both runs reused:\n%s", code, out)
	}
}

// TestLlama3Tokenizer trains with a Llama-3-style tokenizer (a TemplateProcessing post-processor
// that adds <|begin_of_text|>, and no pad_token): every sequence starts with the BOS once, the
// missing pad token falls back to eos with a logged note, and the run finishes.
func TestLlama3Tokenizer(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	tokDir := filepath.Join("..", "..", "datasets", "testdata", "llama3_tiny")
	code, out, errOut := sftlab(t, "preview", "--data", "builtin:teaching_zh", "--format", "instruction", "--masking", "eos_safe",
		"--set", "data.tokenizer="+tokDir, "-n", "1000", "--json")
	if code != 0 {
		t.Fatalf("preview: exit %d\n%s", code, errOut)
	}
	const bos = 268 // <|begin_of_text|>
	n := 0
	for line := range strings.Lines(out) {
		var ex struct{ IDs []int }
		if err := json.Unmarshal([]byte(line), &ex); err != nil || len(ex.IDs) == 0 {
			continue // the statistics after the examples
		}
		n++
		count := 0
		for _, id := range ex.IDs {
			if id == bos {
				count++
			}
		}
		if ex.IDs[0] != bos || count != 1 {
			t.Fatalf("example %d starts with %d and holds <|begin_of_text|> %d times, want once, first: %v", n, ex.IDs[0], count, ex.IDs)
		}
	}
	if n < 50 {
		t.Fatalf("%d examples previewed, want the built-in set", n)
	}

	runs := filepath.Join(t.TempDir(), "runs")
	exp := filepath.Join("..", "..", "experiments", "smoke.yaml")
	args := withSets([]string{"run", exp}, append(quickSets, "output.dir="+runs, "data.tokenizer="+tokDir)...)
	code, out, errOut = sftlab(t, args...)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "tokenizer has no pad_token: padding with its eos token") {
		t.Errorf("no note about the missing pad token:\n%s", errOut)
	}
	for name, info := range runInfos(t, runs, "smoke") {
		if info.Status != metrics.StatusOK || info.Model.VocabSize == 0 {
			t.Errorf("%s: status %s, vocabulary %d", name, info.Status, info.Model.VocabSize)
		}
	}
}
