//go:build !unix

package safetensors

import (
	"io"
	"os"
)

// mmap reads the whole file where memory mapping is not available.
func mmap(f *os.File, size int) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
