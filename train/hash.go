package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
)

// ParamsHash returns the hex SHA-256 of the model's trainable parameters as they are now: for
// each, in creation order, its store path, its dimensions and its values' bytes (in the host's
// byte order, little-endian on amd64 and arm64). Called right after New, before any step or
// checkpoint load, it identifies the initial weights: two runs with equal hashes start from
// bit-identical parameters.
func (t *Trainer) ParamsHash() (string, error) {
	h := sha256.New()
	for _, p := range t.params {
		value, err := p.Value()
		if err != nil {
			return "", fmt.Errorf("train: hash parameter %q: %w", p.Path(), err)
		}
		writeString(h, p.Path())
		writeString(h, value.DType().String())
		for _, d := range p.Shape().Dimensions {
			binary.Write(h, binary.LittleEndian, int64(d)) // hash.Hash writes never fail
		}
		if err := value.ConstBytes(func(data []byte) { h.Write(data) }); err != nil {
			return "", fmt.Errorf("train: hash parameter %q: %w", p.Path(), err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ParamCount returns the number of trainable parameter values.
func (t *Trainer) ParamCount() int64 {
	var n int64
	for _, p := range t.params {
		n += int64(p.Shape().Size())
	}
	return n
}

// writeString writes s to h with its length first, so that consecutive strings cannot run
// into each other.
func writeString(h hash.Hash, s string) {
	binary.Write(h, binary.LittleEndian, int64(len(s)))
	h.Write([]byte(s))
}
