package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/sftlab/sftlab/configs"
)

// experimentsDir is the folder of the experiment files, relative to the repository root.
const experimentsDir = "experiments"

// experimentPath maps an experiment name to experiments/NAME.yaml; a path is kept as it is.
func experimentPath(name string) string {
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.ContainsRune(name, filepath.Separator) {
		return name
	}
	return filepath.Join(experimentsDir, name+".yaml")
}

// experimentFile is where an experiment named on the command line was found.
type experimentFile struct {
	// Path is the experiment file.
	Path string
	// Root is the repository root it was found in when that is not the working directory, else "".
	Root string
}

// inRoot returns the path rel (relative to the repository root) as seen from the working
// directory; absolute paths are kept.
func (f experimentFile) inRoot(rel string) string {
	if f.Root == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(f.Root, rel)
}

// findExperiment returns the experiment file of name (see experimentPath) and whether it
// exists. A bare name not found in the working directory is looked up in the repository root:
// the nearest parent folder holding experiments/NAME.yaml.
func findExperiment(name string) (experimentFile, bool) {
	path := experimentPath(name)
	if _, err := os.Stat(path); err == nil || path != filepath.Join(experimentsDir, name+".yaml") {
		return experimentFile{Path: path}, err == nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return experimentFile{Path: path}, false
	}
	for dir := filepath.Dir(wd); dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, path)); err == nil {
			return experimentFile{Path: filepath.Join(dir, path), Root: dir}, true
		}
	}
	return experimentFile{Path: path}, false
}

// load loads the experiment file with the --set overrides. For a file found in the repository
// root, a relative output.dir is taken relative to that root, where `make` runs write them.
func (f experimentFile) load(sets []string) (*configs.Experiment, error) {
	exp, err := configs.Load(f.Path, sets)
	if err != nil {
		return nil, err
	}
	exp.Base.Output.Dir = f.inRoot(exp.Base.Output.Dir)
	for i := range exp.Runs {
		exp.Runs[i].Config.Output.Dir = f.inRoot(exp.Runs[i].Config.Output.Dir)
	}
	return exp, nil
}
