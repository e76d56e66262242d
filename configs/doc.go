// Package configs turns an experiment file into validated, fully resolved run configurations.
//
// An experiment file (experiments/NAME.yaml) names a base with `extends:` (chains allowed),
// overrides any key, and may declare a `sweep:`. Load reads the chain, applies `--set key=value`
// overrides, decodes the result strictly into the typed [Config] (unknown keys and wrong types are
// errors, never silently ignored or converted), validates every expanded run before any starts,
// and reports all problems together, each with its file, line and key path:
//
//	experiments/x.yaml:12: train.learing_rate: unknown key (did you mean train.learning_rate?)
//
// Every default lives in [Default]; the YAML files beside this package (base.yaml, tiny.yaml) are
// named presets that override it, and are embedded in the binary so that `extends: configs/base.yaml`
// also resolves outside a checkout.
//
// # Layers and precedence
//
// Values are merged in this order, later layers winning: [Default], the deepest base, …, the
// experiment file, the `--set` flags, and finally the sweep values of each run. A layer that sets
// model.preset also sets the preset's dimensions (d_model, n_heads, n_layers, d_mlp, context),
// except those the same layer sets explicitly; a later layer can still override them.
// A `--set` of a key that the sweep varies (in sweep.grid, sweep.zip, or train.seed with
// sweep.seeds) replaces that key's axis by a grid axis of the one value given, recorded in
// [Experiment.SweepOverrides]; `--set 'sweep.grid.KEY=[...]'` sweeps other values instead.
// The `name` key is not inherited: only the experiment file (or `--set name=...`) names an
// experiment, and it defaults to the file's base name.
//
// # Resolving extends
//
// A relative `extends:` path is tried, in order: relative to the directory of the file that
// extends, relative to the repository root above that file (the nearest directory holding go.mod
// or .git), relative to the repository root above the working directory (or the working directory
// itself), and finally among the presets embedded in the binary (paths "configs/NAME.yaml").
// The first that exists is used; [Experiment.Files] records which one.
//
// # Run identity
//
// Each run's ID is the first 12 hex digits of the SHA-256 of its canonical resolved config: the
// sorted key=value lines of [Config.Flat], minus the keys that cannot change what training
// computes (see [Config.ID]). The same config gives the same ID whatever the key order or the
// file it came from.
package configs
