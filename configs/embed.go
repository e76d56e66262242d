package configs

import "embed"

// builtinFS holds the YAML presets of this folder, so that `extends: configs/base.yaml` resolves
// even where the checkout is not at hand. Files on disk take precedence (see the package doc).
//
//go:embed *.yaml
var builtinFS embed.FS

// builtinDir is the folder the embedded presets live in, relative to the repository root.
const builtinDir = "configs"

// builtinPrefix marks an embedded file in messages and in Experiment.Files.
const builtinPrefix = "builtin:"
