package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCorruptArrowFiles damages a metrics.arrow, an eval.arrow and a generation.arrow byte by byte (each byte set
// to 0x00, 0xff and flipped in its top bit) and reads each: every read must return rows or an
// error. A damaged metrics.arrow used to crash report and every resume of its run.
func TestCorruptArrowFiles(t *testing.T) {
	dir := t.TempDir()
	steps, evals := filepath.Join(dir, StepsFile), filepath.Join(dir, EvalsFile)
	if err := WriteSteps(steps, []Step{{1, 0.1, 6.5, 1e-3, 2.5, 100, 1e4, 0.2}, {2, 0.2, 6.1, 2e-3, 2.25, 230, 1.2e4, 0.4}}); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvals(evals, []Eval{{Step: 10, Split: SplitValid, Loss: 2.5, TokenAccuracy: 0.5, Tokens: 100, AnswerLoss: 2.25, AnswerTokens: 40}, {Step: 10, Split: SplitTrain, Loss: 2.25, TokenAccuracy: 0.55, Tokens: 120, AnswerLoss: 2, AnswerTokens: 50}}); err != nil {
		t.Fatal(err)
	}
	gens := filepath.Join(dir, GenerationsFile)
	if err := WriteGenerations(gens, []Generation{{Step: 10, Split: SplitValid, Prompts: 4, ExactMatch: 0.25, RougeL: 0.5, ChrF: 40, NewTokens: 60, Seconds: 1.5}}); err != nil {
		t.Fatal(err)
	}
	mutations := []func(byte) byte{func(byte) byte { return 0 }, func(byte) byte { return 0xff }, func(b byte) byte { return b ^ 0x80 }}
	if testing.Short() {
		mutations = mutations[2:]
	}
	for _, tc := range []struct {
		path string
		read func(string) error
	}{
		{steps, func(p string) error { _, err := ReadSteps(p); return err }},
		{evals, func(p string) error { _, err := ReadEvals(p); return err }},
		{gens, func(p string) error { _, err := ReadGenerations(p); return err }},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			orig, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			damaged := filepath.Join(t.TempDir(), filepath.Base(tc.path))
			read, refused := 0, 0
			for i := range orig {
				for _, mutate := range mutations {
					data := bytes.Clone(orig)
					if data[i] = mutate(data[i]); data[i] == orig[i] {
						continue
					}
					if err := os.WriteFile(damaged, data, 0o644); err != nil {
						t.Fatal(err)
					}
					if tc.read(damaged) != nil {
						refused++
					} else {
						read++
					}
				}
			}
			t.Logf("%d bytes: %d damaged files read, %d refused", len(orig), read, refused)
		})
	}
}
