package runner

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/scores"
	"github.com/sftlab/sftlab/tokenizer"
)

// TestScoredCompletions runs the smoke experiment scoring 3 held-out completions every 4 steps,
// once unpacked and once packed, and checks generation.arrow, run.json and samples.jsonl
// against each other, the packed run's losses against the unpacked run's, and the padding
// shares recorded.
func TestScoredCompletions(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	runs := map[bool]metrics.Run{}
	for _, packing := range []bool{false, true} {
		sets := []string{"eval.generate_every=4", "eval.samples=3", "eval.batch_size=2"}
		if packing {
			sets = append(sets, "data.packing=true")
		}
		exp := smoke(t, t.TempDir(), sets...)
		if sum, err := New(Options{}).Run(context.Background(), exp); err != nil || sum.Failed() != 0 {
			t.Fatalf("packing %v: %v, %d failed", packing, err, sum.Failed())
		}
		runs[packing] = readRun(t, RunDir(exp, exp.Runs[0]))
	}
	for packing, r := range runs {
		gens := r.Generations
		if len(gens) != 3 || gens[0].Step != 4 || gens[1].Step != 8 || gens[2].Step != 12 {
			t.Fatalf("packing %v: generation rows %+v, want steps 4, 8, 12", packing, gens)
		}
		last := gens[2]
		if last.Split != metrics.SplitValid || last.Prompts != 3 || last.NewTokens <= 0 || !(last.Seconds > 0) {
			t.Errorf("packing %v: last row %+v, want 3 valid prompts, tokens and a time", packing, last)
		}
		s := r.Info.Summary
		if s.ExactMatch != last.ExactMatch || s.RougeL != last.RougeL || s.ChrF != last.ChrF || s.GenerateS != last.Seconds {
			t.Errorf("packing %v: summary %+v disagrees with the last generation row %+v", packing, s, last)
		}
		if len(r.Samples) != 3 {
			t.Fatalf("packing %v: %d samples, want 3", packing, len(r.Samples))
		}
		var cands, refs []string
		var rouge float64
		for _, smp := range r.Samples {
			if smp.Scores == nil || smp.Reference == "" {
				t.Fatalf("packing %v: sample %+v has no scores or reference", packing, smp)
			}
			cands, refs = append(cands, smp.Completion), append(refs, smp.Reference)
			rouge += smp.Scores.RougeL
			if smp.Scores.ChrF != scores.ChrF(smp.Completion, smp.Reference) {
				t.Errorf("sample chrF %v, recomputed %v", smp.Scores.ChrF, scores.ChrF(smp.Completion, smp.Reference))
			}
		}
		if got := scores.CorpusChrF(cands, refs); got != last.ChrF || math.Abs(rouge/3-last.RougeL) > 1e-12 {
			t.Errorf("packing %v: chrF %v and ROUGE-L %v from samples.jsonl, %v and %v recorded", packing, got, rouge/3, last.ChrF, last.RougeL)
		}
		ps := r.Info.Data.PaddingShare
		if ps == nil || !(ps.Packed < ps.Unpacked) || ps.Unpacked <= 0 || ps.Unpacked >= 1 {
			t.Errorf("packing %v: padding share %+v, want 0 ≤ packed < unpacked < 1", packing, ps)
		}
	}
	a, b := runs[false], runs[true]
	if *a.Info.Data.PaddingShare != *b.Info.Data.PaddingShare {
		t.Errorf("padding shares differ with packing on: %+v vs %+v", a.Info.Data.PaddingShare, b.Info.Data.PaddingShare)
	}
	for i := range a.Steps {
		if d := math.Abs(a.Steps[i].TrainLoss - b.Steps[i].TrainLoss); d > 1e-5*a.Steps[i].TrainLoss || a.Steps[i].Tokens != b.Steps[i].Tokens {
			t.Errorf("step %d: unpacked loss %v, packed %v", i+1, a.Steps[i].TrainLoss, b.Steps[i].TrainLoss)
		}
	}
	if d := math.Abs(a.Info.Summary.EvalLoss - b.Info.Summary.EvalLoss); d > 1e-5*a.Info.Summary.EvalLoss {
		t.Errorf("eval_loss unpacked %v, packed %v", a.Info.Summary.EvalLoss, b.Info.Summary.EvalLoss)
	}
}

// TestPromptTextReencodes checks that a sample's prompt text encodes back to the prompt's ids
// as `sftlab generate --format raw` encodes it: with a post-processor BOS (a SentencePiece-style
// tokenizer, whose piece after <s> starts with ▁) and without one (Qwen3).
func TestPromptTextReencodes(t *testing.T) {
	sp, err := tokenizer.Load(filepath.Join("..", "tokenizer", "testdata", "mistral"))
	if err != nil {
		t.Fatal(err)
	}
	qwen3, err := tokenizer.Qwen3()
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]*tokenizer.Tokenizer{"sentencepiece": sp, "qwen3": qwen3} {
		for _, text := range []string{"问题：今天天气很好。\n回答：", "指令：Translate.\n输入： two  spaces\n回答："} {
			ids := tok.Encode(text)
			got := promptText(tok, tokenizer.IDs32(ids))
			if again := tok.Encode(got); !slices.Equal(again, ids) {
				t.Errorf("%s: %q: prompt text %q encodes to %v, want %v", name, text, got, again, ids)
			}
		}
	}
	if prefix, _ := sp.Affixes(); len(prefix) == 0 {
		t.Fatal("the SentencePiece-style tokenizer adds no BOS: the test does not exercise the prefix")
	}
}
