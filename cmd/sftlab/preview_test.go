package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/datasets"
)

func init() {
	// Another test file of this package may already define -update.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "update golden files")
	}
}

// updateGolden reports whether -update was given.
func updateGolden() bool {
	return flag.Lookup("update").Value.(flag.Getter).Get().(bool)
}

// runPreview runs `sftlab preview args...` and returns its exit status, stdout and stderr.
func runPreview(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"preview"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// decodeJSONLines parses one JSON example per line.
func decodeJSONLines(t *testing.T, out string) []datasets.JSONExample {
	t.Helper()
	var exs []datasets.JSONExample
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ex datasets.JSONExample
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		exs = append(exs, ex)
	}
	return exs
}

// TestPreviewJSONGolden pins the --json output of every format and masking mode on two fixed
// alpaca examples, and of the chat format on two fixed chat conversations.
func TestPreviewJSONGolden(t *testing.T) {
	type tc struct{ name, data, format, masking string }
	var tests []tc
	for _, format := range datasets.Formats() {
		for _, masking := range datasets.Maskings() {
			tests = append(tests, tc{format + "_" + masking, "alpaca.jsonl", format, masking})
		}
	}
	for _, masking := range datasets.Maskings() {
		tests = append(tests, tc{"chat_messages_" + masking, "chat.jsonl", datasets.FormatChat, masking})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runPreview(t, "--data", filepath.Join("testdata", "preview", tt.data),
				"--format", tt.format, "--masking", tt.masking, "--max-length", "512", "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			exs := decodeJSONLines(t, out)
			if len(exs) != 2 {
				t.Fatalf("%d examples, want 2", len(exs))
			}
			checkMasking(t, exs, tt.masking)
			if tt.format == datasets.FormatChat {
				checkJinja(t, exs, tt.data)
			}
			path := filepath.Join("testdata", "preview", tt.name+".golden")
			if updateGolden() {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (run go test -update to accept):\n%s", path, out)
			}
		})
	}
}

// jinjaCases names, for each chat fixture, the Jinja reference rendering of each of its examples.
var jinjaCases = map[string][]string{
	"alpaca.jsonl": {"user_assistant", ""},
	"chat.jsonl":   {"system_user_assistant", "multi_turn"},
}

// checkJinja compares each example's text with Qwen3's chat template as rendered by a Jinja
// engine (datasets/testdata/chat_template/reference.json): the same text up to the final
// <|im_end|>, whose trailing newline the encoding leaves out.
func checkJinja(t *testing.T, exs []datasets.JSONExample, data string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "datasets", "testdata", "chat_template", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refs []struct{ Name, Text string }
	if err := json.Unmarshal(raw, &refs); err != nil {
		t.Fatal(err)
	}
	for i, name := range jinjaCases[data] {
		if name == "" {
			continue
		}
		idx := slices.IndexFunc(refs, func(r struct{ Name, Text string }) bool { return r.Name == name })
		if idx < 0 {
			t.Fatalf("no Jinja reference %q", name)
		}
		if exs[i].Text+"\n" != refs[idx].Text {
			t.Errorf("example %d: text %q\nJinja %q", i, exs[i].Text, refs[idx].Text)
		}
	}
}

// eosID is <|im_end|>, the Qwen3 end-of-sequence token.
const eosID = 151645

// checkMasking checks what each masking mode must show about every example's final eos and its
// response tokens.
func checkMasking(t *testing.T, exs []datasets.JSONExample, masking string) {
	t.Helper()
	for i, ex := range exs {
		last := len(ex.IDs) - 1
		if ex.IDs[last] != eosID || !strings.HasSuffix(ex.Text, "<|im_end|>") {
			t.Fatalf("example %d does not end with <|im_end|>: %q", i, ex.Text)
		}
		switch masking {
		case datasets.MaskPad:
			if ex.Labels[last] != datasets.IgnoreIndex {
				t.Errorf("example %d: pad leaves the eos trained", i)
			}
		case datasets.MaskEOSSafe:
			if ex.Labels[last] != eosID || slices.Contains(ex.Labels, datasets.IgnoreIndex) {
				t.Errorf("example %d: eos_safe masks a position: %v", i, ex.Labels)
			}
		case datasets.MaskCompletionOnly:
			if ex.Labels[last] != eosID {
				t.Errorf("example %d: completion_only masks the eos", i)
			}
			for p := range ex.PromptLen {
				if ex.Labels[p] != datasets.IgnoreIndex {
					t.Errorf("example %d: prompt position %d is trained", i, p)
				}
			}
			if ex.Labels[ex.PromptLen] != ex.IDs[ex.PromptLen] {
				t.Errorf("example %d: the first response token (position %d) is masked", i, ex.PromptLen)
			}
		}
	}
}

func TestPreviewText(t *testing.T) {
	code, out, errOut := runPreview(t, "--data", filepath.Join("testdata", "preview", "alpaca.jsonl"),
		"--format", "instruction", "--masking", "pad", "--max-length", "512", "-n", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"format instruction, masking pad, max_length 512: 1 of 2 examples",
		"│ 指令：把下面的英文翻译成中文。\n│ 输入：Practice makes perfect.\n│ 回答：熟能生巧。<|im_end|>\n",
		`mask  "<|im_end|>"`,
		"dataset: 2 examples",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("ANSI escapes written to a non-terminal")
	}
	if strings.Contains(out, "example 2:") {
		t.Error("-n 1 showed a second example")
	}
}

func TestPreviewErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := `{"instruction":"a","input":"b","output":"c"}` + "\n"
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"missing dataset file", []string{"--data", filepath.Join(dir, "missing.jsonl")}, []string{"missing.jsonl", "no such file"}},
		{"empty dataset", []string{"--data", write("empty.jsonl", "")}, []string{"empty.jsonl", "empty dataset"}},
		{"malformed jsonl line", []string{"--data", write("bad.jsonl", good+good+"{oops\n")}, []string{"bad.jsonl:3:", "bad JSON"}},
		{"unknown format", []string{"--data", write("ok.jsonl", good), "--format", "alpaca"}, []string{`format "alpaca"`, "sft, instruction, chat"}},
		{"no data", nil, []string{"--data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runPreview(t, tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, want an error; stdout:\n%s", out)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q lacks %q", errOut, want)
				}
			}
		})
	}
}

func TestPreviewTruncation(t *testing.T) {
	code, out, errOut := runPreview(t, "--data", filepath.Join("testdata", "preview", "alpaca.jsonl"),
		"--format", "instruction", "--masking", "eos_safe", "--max-length", "8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "2 truncated at max_length 8") || !strings.Contains(out, "8 tokens: 8 trained, 0 masked, truncated") {
		t.Errorf("truncation not reported:\n%s", out)
	}
	_, jsonOut, _ := runPreview(t, "--data", filepath.Join("testdata", "preview", "alpaca.jsonl"),
		"--format", "instruction", "--masking", "eos_safe", "--max-length", "8", "--json")
	for i, ex := range decodeJSONLines(t, jsonOut) {
		if !ex.Truncated || len(ex.IDs) != 8 || ex.IDs[7] == eosID {
			t.Errorf("example %d: truncated %v, %d ids; want truncated, 8 ids, eos cut", i, ex.Truncated, len(ex.IDs))
		}
	}
}

func TestPreviewExperimentAndSet(t *testing.T) {
	data, err := filepath.Abs(filepath.Join("testdata", "preview", "alpaca.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(t.TempDir(), "preview_exp.yaml")
	yaml := "data:\n  dataset: " + data + "\n  masking: completion_only\n  max_length: 64\n" +
		"sweep:\n  grid:\n    data.format: [sft, instruction]\n  seeds: [1, 2]\n"
	if err := os.WriteFile(exp, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		args        []string
		want, avoid []string
	}{
		{"one preview per distinct data setting", []string{exp, "-n", "1"},
			[]string{"format sft, masking completion_only, max_length 64", "format instruction, masking completion_only, max_length 64"},
			[]string{"masking pad"}},
		{"--set overrides the experiment", []string{exp, "-n", "1", "--set", "data.masking=pad"},
			[]string{"format sft, masking pad", "format instruction, masking pad"}, []string{"completion_only"}},
		{"--set on the defaults with --data", []string{"--data", data, "-n", "1", "--set", "data.max_length=8", "--set", "data.format=sft"},
			[]string{"format sft, masking pad, max_length 8", "2 truncated at max_length 8"}, nil},
		{"flags override the experiment", []string{exp, "-n", "1", "--format", "chat"},
			[]string{"format chat, masking completion_only"}, []string{"format sft", "format instruction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runPreview(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
		})
	}
	code, _, errOut := runPreview(t, exp, "--set", "data.maskin=pad")
	if code == 0 || !strings.Contains(errOut, "data.masking") {
		t.Errorf("unknown --set key: exit %d, stderr %q; want an error suggesting data.masking", code, errOut)
	}
}
