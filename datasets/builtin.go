package datasets

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// builtinFS holds the built-in datasets, one JSONL file each.
//
//go:embed builtin/*.jsonl
var builtinFS embed.FS

// Builtins returns the names of the built-in datasets, sorted; load one with
// Load("builtin:" + name).
func Builtins() []string {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		panic(fmt.Sprintf("datasets: embedded builtin directory: %v", err))
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".jsonl"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// loadBuiltin reads the embedded dataset name.
func loadBuiltin(name string) ([]Record, error) {
	if !slices.Contains(Builtins(), name) {
		return nil, fmt.Errorf("dataset %s%s: no such built-in dataset: use one of %s%s",
			BuiltinPrefix, name, BuiltinPrefix, strings.Join(Builtins(), ", "+BuiltinPrefix))
	}
	f, err := builtinFS.Open("builtin/" + name + ".jsonl")
	if err != nil {
		return nil, fmt.Errorf("dataset %s%s: %w", BuiltinPrefix, name, err)
	}
	defer f.Close()
	return readJSONL(BuiltinPrefix+name, f)
}
