package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantOut    string
		wantCode   int
		wantErrMsg string
	}{
		{"whole stdin is one text", []string{"tokenize"}, "今天天气很好，我们去公园散步。\n",
			"100644 104307 101243 3837 97639 85336 102077 111261 8997\n", 0, ""},
		{"special tokens", []string{"tokenize"}, "<|im_start|>user", "151644 872\n", 0, ""},
		{"empty stdin", []string{"tokenize"}, "", "\n", 0, ""},
		{"jsonl", []string{"tokenize", "--jsonl"}, "\"Hello, world!\"\n\n\"<think>\\n\"\n\"\"", "[9707,11,1879,0]\n[151667,198]\n[]\n", 0, ""},
		{"jsonl without final newline", []string{"tokenize", "--jsonl"}, `"hi"`, "[6023]\n", 0, ""},
		{"jsonl line not a string", []string{"tokenize", "--jsonl"}, "\"ok\"\n{\"text\": 1}\n", "", 1, "stdin line 2: want a JSON string"},
		{"missing tokenizer directory", []string{"tokenize", "--tokenizer", "/nonexistent/tok"}, "x", "", 1, "/nonexistent/tok"},
		{"no arguments allowed", []string{"tokenize", "file.txt"}, "", "", 1, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if tt.wantCode == 0 && stdout.String() != tt.wantOut {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErrMsg) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantErrMsg)
			}
		})
	}
}
