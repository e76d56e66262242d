package main

import (
	"path/filepath"
	"testing"
)

// TestFindExperimentFromSubfolder resolves an experiment name from a subfolder of the
// repository: the file is the repository's, and baselines and reports resolve to its root.
func TestFindExperimentFromSubfolder(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(root, "configs"))
	f, ok := findExperiment("smoke")
	if !ok {
		t.Fatal("smoke not found from configs/")
	}
	if want := filepath.Join(root, "experiments", "smoke.yaml"); f.Path != want || f.Root != root {
		t.Errorf("found %+v, want path %s in root %s", f, want, root)
	}
	if got, want := f.inRoot("baselines/smoke.avx2.json"), filepath.Join(root, "baselines", "smoke.avx2.json"); got != want {
		t.Errorf("inRoot = %s, want %s", got, want)
	}
	exp, err := f.load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "runs"); exp.Base.Output.Dir != want || exp.Runs[0].Config.Output.Dir != want {
		t.Errorf("output.dir %s (run %s), want %s", exp.Base.Output.Dir, exp.Runs[0].Config.Output.Dir, want)
	}
	if _, ok := findExperiment("no_such_experiment"); ok {
		t.Error("a missing experiment was found")
	}
	t.Chdir(root)
	if f, ok := findExperiment("smoke"); !ok || f.Root != "" || f.Path != filepath.Join("experiments", "smoke.yaml") {
		t.Errorf("from the root: %+v, %v", f, ok)
	}
}
