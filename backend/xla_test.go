//go:build xla

package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewGPURejectsInvalidPlugin checks that a file that is not a PJRT plugin gives an error
// naming it (and nothing is installed in its place).
func TestNewGPURejectsInvalidPlugin(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), "xla_cuda_plugin.so")
	if err := os.WriteFile(plugin, []byte("not a shared library"), 0o600); err != nil {
		t.Fatal(err)
	}
	be, err := New(Config{Name: GPU, Plugin: plugin})
	if err == nil {
		be.Finalize()
		t.Fatal("New accepted a file that is not a PJRT plugin")
	}
	if !strings.Contains(err.Error(), plugin) {
		t.Errorf("error %q does not name the plugin file", err)
	}
}
