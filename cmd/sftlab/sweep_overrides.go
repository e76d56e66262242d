package main

import (
	"log/slog"

	"github.com/sftlab/sftlab/configs"
)

// logSweepOverrides says which sweep axes a --set replaced, and how to sweep other values.
func logSweepOverrides(log *slog.Logger, exp *configs.Experiment) {
	for _, o := range exp.SweepOverrides {
		log.Warn(o.String())
	}
}
