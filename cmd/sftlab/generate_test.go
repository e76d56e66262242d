package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/tokenizer"
)

// TestPromptIDs checks that each format renders the prompt part of a training example, token
// for token.
func TestPromptIDs(t *testing.T) {
	tok, err := tokenizer.Qwen3()
	if err != nil {
		t.Fatal(err)
	}
	chat, err := tok.RenderChat([]tokenizer.Message{{Role: "user", Content: "总结\n今天天气很好"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, format, prompt, input string
		want                        string // text whose encoding is the expected prompt
		wantErr                     string
	}{
		{name: "instruction", format: "instruction", prompt: "总结", input: "今天天气很好", want: "指令：总结\n输入：今天天气很好\n回答："},
		{name: "instruction without input", format: "instruction", prompt: "总结", want: "指令：总结\n输入：\n回答："},
		{name: "sft", format: "sft", prompt: "今天天气很好", want: "问题：今天天气很好\n回答："},
		{name: "chat", format: "chat", prompt: "总结", input: "今天天气很好", want: chat},
		{name: "raw", format: "raw", prompt: "问题：你好\n回答：", want: "问题：你好\n回答："},
		{name: "sft with input", format: "sft", prompt: "a", input: "b", wantErr: "the sft format has no input"},
		{name: "raw with input", format: "raw", prompt: "a", input: "b", wantErr: "the raw format takes the whole text"},
		{name: "unknown format", format: "alpaca", prompt: "a", wantErr: `--format "alpaca": want one of sft, instruction, chat, raw`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := promptIDs(tok, tc.format, tc.prompt, tc.input)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tokenizer.IDs32(tok.Encode(tc.want)); !slices.Equal(got, want) {
				t.Errorf("ids = %v (%q), want %v (%q)", got, tok.Decode(tokenizer.IDs(got)), want, tc.want)
			}
		})
	}
}

// TestGenerateGPT trains the smoke experiment's tiny GPTs for a few steps and checks that
// `sftlab generate` on each run folder reproduces the run's own sample completion, from the
// sample's prompt text (raw) and from the prompt's fields in the run's format.
func TestGenerateGPT(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	runs := filepath.Join(t.TempDir(), "runs")
	exp := filepath.Join("..", "..", "experiments", "smoke.yaml")
	code, out, errOut := sftlab(t, "run", exp, "--set", "output.dir="+runs, "--set", "train.max_steps=3", "--quiet")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	dirs := runDirs(t, runs, "smoke")
	if len(dirs) != 2 {
		t.Fatalf("want 2 run folders, got %v", dirs)
	}
	for _, dir := range dirs {
		r, err := metrics.ReadRunDir(dir)
		if err != nil || r.Err != nil || len(r.Samples) == 0 {
			t.Fatalf("read %s: %v %v, %d samples", dir, err, r.Err, len(r.Samples))
		}
		s := r.Samples[0]
		t.Run(s.Format, func(t *testing.T) {
			if s.Completion == "" {
				t.Fatalf("the run's sample completion is empty: nothing to compare with")
			}
			code, out, errOut := sftlab(t, "generate", dir, "--format", "raw", "--prompt", s.Prompt)
			if code != 0 || out != s.Completion+"\n" {
				t.Errorf("generate --format raw: exit %d, output %q, want the run's sample %q\n%s", code, out, s.Completion, errOut)
			}
			args := []string{"generate", dir}
			switch s.Format {
			case "sft":
				q, ok := strings.CutPrefix(strings.TrimSuffix(s.Prompt, "\n回答："), "问题：")
				if !ok {
					t.Fatalf("sft prompt %q", s.Prompt)
				}
				args = append(args, "--prompt", q)
			case "instruction":
				instr, input, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(s.Prompt, "指令："), "\n回答："), "\n输入：")
				if !ok {
					t.Fatalf("instruction prompt %q", s.Prompt)
				}
				args = append(args, "--prompt", instr, "--input", input)
			}
			code, out, errOut = sftlab(t, args...)
			if code != 0 || out != s.Completion+"\n" {
				t.Errorf("generate in the run's format: exit %d, output %q, want the run's sample %q\n%s", code, out, s.Completion, errOut)
			}
			// --max-new-tokens caps the completion: one token decodes to a prefix of it.
			code, out, errOut = sftlab(t, "generate", dir, "--format", "raw", "--prompt", s.Prompt, "--max-new-tokens", "1")
			if code != 0 || !strings.HasPrefix(s.Completion, strings.TrimSuffix(out, "\n")) || len(out) >= len(s.Completion)+1 {
				t.Errorf("generate --max-new-tokens 1: exit %d, output %q, want a strict prefix of %q\n%s", code, out, s.Completion, errOut)
			}
		})
	}

	errTests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no run folder", []string{"generate", filepath.Join(runs, "nope"), "--prompt", "x"}, "config.yaml"},
		{"token outside the compact vocabulary", []string{"generate", dirs[0], "--format", "raw", "--prompt", "zebra"}, "is not in the run's compact vocabulary"},
		{"missing prompt", []string{"generate", dirs[0]}, `required flag(s) "prompt" not set`},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := sftlab(t, tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q, want a failure naming %q", code, errOut, tc.wantErr)
			}
		})
	}
}
