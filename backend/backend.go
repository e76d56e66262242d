// Package backend creates the GoMLX compute backend that sftlab trains on.
//
// The default, "cpu", is GoMLX's pure-Go backend; it never downloads anything.
package backend

import (
	"fmt"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // registers the pure-Go backend
)

// Config selects a backend.
type Config struct {
	// Name is "cpu" (pure Go, the default) or "gpu" (XLA with a PJRT plugin).
	Name string
}

// New returns the backend named by cfg.
func New(cfg Config) (compute.Backend, error) {
	switch cfg.Name {
	case "", "cpu":
		// parallelism=-1: the default (2×GOMAXPROCS workers) deadlocks on 2 CPUs.
		be, err := compute.NewWithConfig("go:parallelism=-1")
		if err != nil {
			return nil, fmt.Errorf("backend cpu: %w", err)
		}
		return be, nil
	default:
		return nil, fmt.Errorf("backend %q: unknown backend (want cpu or gpu)", cfg.Name)
	}
}
