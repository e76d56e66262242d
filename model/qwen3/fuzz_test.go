package qwen3

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
		if len(c.weightSpecs()) != 2+11*c.NumHiddenLayers+map[bool]int{true: 0, false: 1}[c.TieWordEmbeddings] {
			t.Fatal("weightSpecs count")
		}
		if _, err := c.JSON(); err != nil {
			t.Fatalf("JSON of an accepted config: %v", err)
		}
	})
}
