package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/tokenizer"
)

// A run's schedule follows backend.schedule, and "auto" the size of the run's model.
func TestScheduleOf(t *testing.T) {
	tiny := filepath.Join("..", "model", "decoder", "testdata", "tiny")
	big := t.TempDir()
	data, err := os.ReadFile(filepath.Join(tiny, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Qwen3-0.6B's dimensions; no weights are read.
	for _, kv := range [][2]string{{`"hidden_size": 64`, `"hidden_size": 1024`}, {`"intermediate_size": 128`, `"intermediate_size": 3072`},
		{`"num_hidden_layers": 2`, `"num_hidden_layers": 28`}, {`"vocab_size": 512`, `"vocab_size": 151936`},
		{`"head_dim": 16`, `"head_dim": 128`}, {`"num_attention_heads": 4`, `"num_attention_heads": 16`},
		{`"num_key_value_heads": 2`, `"num_key_value_heads": 8`}} {
		if !strings.Contains(string(data), kv[0]) {
			t.Fatalf("fixture config.json lacks %s", kv[0])
		}
		data = []byte(strings.Replace(string(data), kv[0], kv[1], 1))
	}
	if err := os.WriteFile(filepath.Join(big, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Open("")
	if err != nil {
		t.Fatal(err)
	}
	gpt := configs.Default() // the built-in GPT over the whole Qwen3 vocabulary: below 100M
	gpt.Model.Vocab = "full"
	largeGPT := gpt
	largeGPT.Model.DModel, largeGPT.Model.DMLP = 1024, 4096 // 151,669 × 1,024 embeddings alone: 155M
	pretrained := func(dir, schedule string) configs.Config {
		c := configs.Default()
		c.Model.Pretrained, c.Backend.Schedule = dir, schedule
		return c
	}
	with := func(c configs.Config, schedule string) configs.Config {
		c.Backend.Schedule = schedule
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  configs.Config
		want backend.Schedule
	}{
		{"small GPT", gpt, backend.SchedulePar},
		{"large GPT", largeGPT, backend.ScheduleSeq},
		{"large GPT, parallel", with(largeGPT, "parallel"), backend.SchedulePar},
		{"small GPT, sequential", with(gpt, "sequential"), backend.ScheduleSeq},
		{"tiny pretrained", pretrained(tiny, "auto"), backend.SchedulePar},
		{"0.6B-shaped pretrained", pretrained(big, "auto"), backend.ScheduleSeq},
		{"0.6B-shaped pretrained, parallel", pretrained(big, "parallel"), backend.SchedulePar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, trained, err := kindOf(tc.cfg).numParams(tc.cfg, &prepared{preparedData: &preparedData{tok: tok}})
			if err != nil {
				t.Fatal(err)
			}
			if got := scheduleOf(tc.cfg, trained); got != tc.want {
				t.Errorf("schedule %s (%d parameters trained), want %s", got, trained, tc.want)
			}
		})
	}
	if _, _, err := (pretrainedKind{}).numParams(pretrained(t.TempDir(), "auto"), nil); err == nil || !strings.Contains(err.Error(), "model.pretrained") {
		t.Errorf("a folder without config.json: err = %v, want one naming model.pretrained", err)
	}
}

// LoRA trains the adapters only (the schedule follows them); the model is the base's size (the
// collector's target follows that).
func TestScheduleOfLoRA(t *testing.T) {
	tiny := filepath.Join("..", "model", "decoder", "testdata", "tiny")
	c := configs.Default()
	c.Model.Pretrained = tiny
	c.Model.LoRA.Rank, c.Model.LoRA.Alpha = 16, 32
	total, n, err := pretrainedKind{}.numParams(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full, _, _ := (pretrainedKind{}).numParams(configs.Config{Model: configs.ModelConfig{Pretrained: tiny}}, nil); total != full {
		t.Errorf("LoRA model total %d, want the base model's %d", total, full)
	}
	// The fixture: 2 layers, hidden 64, q 4×16 = 64, k/v 2×16 = 32; the default targets are
	// the attention projections: q and o rank 16 × (64 + 64), k and v 16 × (64 + 32), per layer.
	if want := 2 * (2*16*(64+64) + 2*16*(64+32)); n != want {
		t.Errorf("LoRA trains %d parameters, want %d (default targets %v)", n, want, c.Model.LoRA.Targets)
	}
}
