package regress

import (
	"testing"
	"time"
)

// FuzzParseBaseline feeds mutated baseline files to ParseBaseline: it must return a baseline
// or an error, never panic, and a baseline it accepts must be able to fail a gate (it has runs,
// each finished and with a known metric).
func FuzzParseBaseline(f *testing.F) {
	f.Add([]byte(`{"experiment":"smoke","recorded":"2026-01-02T03:04:05Z","runs":[{"id":"a1","name":"format=sft","status":"ok","metrics":{"eval_loss":6.6,"token_accuracy":0.15},"provenance":{"backend":"cpu"}}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"experiment":"smoke","runs":[{"name":"a","status":"failed","metrics":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBaseline("b.json", data)
		if err != nil {
			return
		}
		if len(b.Runs) == 0 {
			t.Fatal("accepted a baseline without runs")
		}
		// Gating nothing against it must fail; gating its own numbers must pass.
		if !Compare(b, nil, nil, false).Failed() {
			t.Fatal("a gate without current runs passed")
		}
		if res := Compare(b, b.Runs, nil, true); res.Failed() {
			t.Fatalf("a baseline does not pass against itself:\n%s", res.Markdown())
		}
		if _, err := Record(b.Experiment, b.Runs, time.Unix(0, 0)); err != nil {
			t.Fatalf("Record refuses an accepted baseline's runs: %v", err)
		}
	})
}
