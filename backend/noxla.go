//go:build !xla

package backend

import (
	"errors"

	"github.com/gomlx/compute"
)

// xlaCompiled reports whether this binary includes the XLA backend.
const xlaCompiled = false

// newXLA fails: the XLA backend needs cgo and is compiled only with the build tag "xla".
func newXLA(string) (compute.Backend, error) {
	return nil, errors.New("this binary was built without the XLA backend: rebuild with " +
		"`go build -tags xla` (needs cgo and a C compiler) to use backend.name: gpu")
}
