// Package regress compares an experiment's finished runs against a recorded baseline and decides,
// metric by metric and within tolerances, whether fine-tuning got worse.
//
// A [Baseline] is recorded from finished runs ([Record]) and stored as JSON ([Save], [LoadBaseline]).
// [Compare] matches current runs to baseline runs by their readable sweep-point name, so a run whose
// configuration was changed with --set is still compared with the point it replaces.
package regress
