package train_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/train"
)

// TestCheckpointNeverFollowsLinks checks that saving a checkpoint removes nothing through a
// symbolic link: a linked checkpoint folder is refused, and a linked step-* entry inside a
// real one is left alone, as is what it points to.
func TestCheckpointNeverFollowsLinks(t *testing.T) {
	tmp := t.TempDir()
	// Someone else's checkpoints, which cleanup must not touch.
	other := filepath.Join(tmp, "other")
	precious := filepath.Join(other, "step-00000001", "state.json")
	if err := os.MkdirAll(filepath.Dir(precious), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(precious, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("linked checkpoint folder", func(t *testing.T) {
		link := filepath.Join(tmp, "ckpt-link")
		if err := os.Symlink(other, link); err != nil {
			t.Fatal(err)
		}
		cfg := tinyConfig()
		cfg.CheckpointDir, cfg.CheckpointEvery, cfg.MaxSteps = link, 1, 2
		_, err := newTrainer(t, cfg).Run(context.Background(), randomData(12, 1), nil, train.Hooks{})
		if err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
			t.Fatalf("err %v, want the link refused", err)
		}
		if _, err := os.Stat(precious); err != nil {
			t.Fatalf("the link's target lost its checkpoint: %v", err)
		}
	})
	t.Run("linked step folder", func(t *testing.T) {
		dir := filepath.Join(tmp, "ckpt")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(other, "step-00000001"), filepath.Join(dir, "step-00000001")); err != nil {
			t.Fatal(err)
		}
		cfg := tinyConfig()
		cfg.CheckpointDir, cfg.CheckpointEvery, cfg.MaxSteps = dir, 1, 2
		if _, err := newTrainer(t, cfg).Run(context.Background(), randomData(12, 1), nil, train.Hooks{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(precious); err != nil {
			t.Fatalf("the linked folder's content was removed: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "step-00000002", "state.json")); err != nil {
			t.Fatalf("no checkpoint of step 2: %v", err)
		}
	})
}
