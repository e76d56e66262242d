package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCorruptArrowFiles damages a metrics.arrow and an eval.arrow byte by byte (each byte set
// to 0x00, 0xff and flipped in its top bit) and reads each: every read must return rows or an
// error. A damaged metrics.arrow used to crash report and every resume of its run.
func TestCorruptArrowFiles(t *testing.T) {
	dir := t.TempDir()
	steps, evals := filepath.Join(dir, StepsFile), filepath.Join(dir, EvalsFile)
	if err := WriteSteps(steps, []Step{{1, 0.1, 6.5, 1e-3, 2.5, 100, 1e4, 0.2}, {2, 0.2, 6.1, 2e-3, 2.25, 230, 1.2e4, 0.4}}); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvals(evals, []Eval{{10, SplitValid, 2.5, 0.5, 100}, {10, SplitTrain, 2.25, 0.55, 120}}); err != nil {
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
