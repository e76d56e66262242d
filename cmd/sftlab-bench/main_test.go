package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunPeerQwen3 runs a stand-in for peer_torch_qwen3.py that prints what the real one
// prints, and checks the arguments it got and the summary read back.
func TestRunPeerQwen3(t *testing.T) {
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	script := filepath.Join(dir, "peer.sh")
	body := `echo "$@" > ` + argsFile + `
echo "step 1 loss 12.0700 30000.0 ms"
echo "step 2 loss 12.0500 14100.5 ms"
echo "step 3 loss 12.0300 13700.0 ms"
echo '{"peer": "torch-qwen3", "median_s_per_step": 13.9, "tokens_per_s": 18.4, "peak_rss_mb": 5400.5}'
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	c := benchConfigs[3]
	if c.Name != "Q0.6B-LoRA16" {
		t.Fatalf("config 3 is %s", c.Name)
	}
	s, err := runPeerQwen3(context.Background(), "/bin/sh", script, c, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.TokensPerS != 18.4 || s.MedianMs != 13900 || s.PeakRSSMB != 5400.5 || s.MinMs != 13700 {
		t.Errorf("summary %+v", s)
	}
	args, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(args)), "speed --preset 0.6b --seq_len 128 --batch 2 --steps 3 --threads 2 --lora 16"; got != want {
		t.Errorf("peer arguments %q, want %q", got, want)
	}
	if _, err := runPeerQwen3(context.Background(), "/bin/sh", "/dev/null", c, 3, 2); err == nil {
		t.Error("a peer that prints nothing: want an error")
	}
}
