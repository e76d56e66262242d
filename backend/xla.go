//go:build xla

package backend

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
)

// xlaCompiled reports whether this binary includes the XLA backend.
const xlaCompiled = true

// newXLA loads the PJRT plugin at the absolute path pluginPath. An absolute path bypasses
// go-xla's plugin search and its automatic installation, which is also switched off here.
func newXLA(pluginPath string) (compute.Backend, error) {
	xla.EnableAutoInstall(false)
	be, err := xla.NewWithOptions(pluginPath, nil)
	if err != nil {
		return nil, fmt.Errorf("loading the XLA backend: %w", err)
	}
	return be, nil
}
