package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "f.txt")
	if err := WriteFile(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "two" {
		t.Fatalf("got %q, %v; want \"two\"", got, err)
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	if err := WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Fatalf("file = %q after failed write, want \"old\"", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestWriteUnwritableDir(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := WriteFile(filepath.Join(blocker, "x"), []byte("x")); err == nil {
		t.Fatal("want an error writing under a regular file")
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"a directory", dir, false},
		{"a missing directory", filepath.Join(dir, "missing"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SyncDir(tt.dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SyncDir(%s) = %v, want error %v", tt.dir, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.dir) {
				t.Errorf("error %q does not name the directory", err)
			}
		})
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"run.json", "metrics.arrow", "checkpoints/step-00000004/state.json", ".hidden"}
	stale := []string{".run.json.tmp123", "checkpoints/step-00000004/.weights.safetensors.tmp9",
		// A checkpoint folder being written (TempDir), with a file already renamed into it.
		"checkpoints/.step-00000008.tmp77/tensors.bin"}
	for _, name := range append(append([]string{}, keep...), stale...) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A temporary file behind a symbolic link to another folder is not this folder's.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, ".x.tmp1"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	n, err := RemoveStale(dir)
	if err != nil || n != len(stale) {
		t.Fatalf("RemoveStale = %d, %v; want %d", n, err, len(stale))
	}
	for _, name := range append(stale, "checkpoints/.step-00000008.tmp77") {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s left", name)
		}
	}
	if tmp, err := TempDir(dir, "step-00000012"); err != nil || !IsTemp(filepath.Base(tmp)) {
		t.Errorf("TempDir = %q, %v; want a folder IsTemp recognises", tmp, err)
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(other, ".x.tmp1")); err != nil {
		t.Errorf("followed the symbolic link: %v", err)
	}
}
