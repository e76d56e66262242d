package model

import (
	"errors"
	"fmt"
)

// Config holds the sizes of a GPT model.
type Config struct {
	Vocab   int  // vocabulary size (compact or full)
	DModel  int  // width of the residual stream
	Heads   int  // attention heads; DModel must be a multiple of Heads
	Layers  int  // transformer blocks
	MLP     int  // hidden width of each block's MLP
	Context int  // longest sequence; size of the positional embedding
	Tied    bool // LM head shares the token embedding matrix
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	positive := []struct {
		key string
		v   int
	}{{"vocab", c.Vocab}, {"d_model", c.DModel}, {"heads", c.Heads}, {"layers", c.Layers}, {"mlp", c.MLP}, {"context", c.Context}}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("model: key %q: must be > 0, got %d", p.key, p.v))
		}
	}
	if c.Heads > 0 && c.DModel%c.Heads != 0 {
		errs = append(errs, fmt.Errorf("model: key \"d_model\": %d is not a multiple of heads=%d", c.DModel, c.Heads))
	}
	return errors.Join(errs...)
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.DModel / c.Heads }

// NumParams returns the number of parameters, and those outside the token and positional
// embedding tables (an untied LM head counts as non-embedding, as in the PyTorch peer).
func (c Config) NumParams() (total, nonEmbedding int) {
	d := c.DModel
	perLayer := 2*d + // ln_1
		d*3*d + 3*d + // qkv
		d*d + d + // attention output projection
		2*d + // ln_2
		d*c.MLP + c.MLP + // mlp fc
		c.MLP*d + d // mlp proj
	nonEmbedding = c.Layers*perLayer + 2*d // + ln_f
	if !c.Tied {
		nonEmbedding += d * c.Vocab
	}
	return nonEmbedding + c.Vocab*d + c.Context*d, nonEmbedding
}

// TrainFLOPs is the FLOP count of one training step over tokens = batch·seqLen positions:
// 6·N·tokens + 12·L·D·seqLen·tokens, with N the non-embedding parameter count (the formula
// the PyTorch peer prints).
func (c Config) TrainFLOPs(batch, seqLen int) float64 {
	_, n := c.NumParams()
	tokens := float64(batch * seqLen)
	return 6*float64(n)*tokens + 12*float64(c.Layers*c.DModel*seqLen)*tokens
}
