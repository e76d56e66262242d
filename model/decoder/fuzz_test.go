package decoder

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseConfig feeds mutated config.json files to ParseConfig: it must return a config or an
// error, never panic, and a config it accepts must be small enough to size a model from
// without overflow.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(qwen3_4B))
	tiny, err := os.ReadFile(filepath.Join("testdata", "tiny", "config.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tiny)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("config.json", data)
		if err != nil {
			return
		}
		if n := c.NumParams(); n <= 0 {
			t.Fatalf("NumParams %d of an accepted config %+v", n, c)
		}
		// Each layer has at most a dozen tensors (Qwen2 adds q/k/v biases, Qwen3 q/k norms).
		if n := len(c.weightSpecs()); n < 2+c.NumHiddenLayers || n > 3+14*c.NumHiddenLayers {
			t.Fatalf("%d weight tensors for %d layers", n, c.NumHiddenLayers)
		}
		if _, err := c.JSON(); err != nil {
			t.Fatalf("JSON of an accepted config: %v", err)
		}
	})
}
