package runner

import (
	"fmt"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/train"
)

// toTrainExamples maps encoded examples onto the model's vocabulary.
func toTrainExamples(exs []datasets.Example, vocab *model.CompactVocab) ([]train.Example, error) {
	out := make([]train.Example, len(exs))
	for i, ex := range exs {
		ids, labels, answer := ex.IDs, ex.Labels, ex.AnswerLabels
		if vocab != nil {
			var err error
			if ids, err = vocab.ToDense(ids); err != nil {
				return nil, fmt.Errorf("example %d: %w", i, err)
			}
			if labels, err = vocab.ToDense(labels); err != nil {
				return nil, fmt.Errorf("example %d: %w", i, err)
			}
			if answer, err = vocab.ToDense(answer); err != nil {
				return nil, fmt.Errorf("example %d: %w", i, err)
			}
		}
		out[i] = train.Example{IDs: ids, Labels: labels, AnswerLabels: answer}
	}
	return out, nil
}

// generateSamples completes the first held-out prompts greedily with the trained model.
func generateSamples(generate generateFunc, p *prepared, vocab *model.CompactVocab, cfg configs.Config) ([]metrics.Sample, error) {
	exs, recs := p.valid, p.validRecs
	if len(exs) == 0 {
		exs = p.train // eval_on: train with nothing held out
	}
	n := min(cfg.Eval.Samples, len(exs))
	stop := int32(p.tok.EOS())
	if vocab != nil {
		dense, err := vocab.ToDense([]int32{stop})
		if err != nil {
			return nil, err
		}
		stop = dense[0]
	}
	samples := make([]metrics.Sample, 0, n)
	for i := range n {
		ex := exs[i]
		prompt := ex.IDs[:ex.PromptLen]
		if vocab != nil {
			var err error
			if prompt, err = vocab.ToDense(prompt); err != nil {
				return nil, err
			}
		}
		gen, err := generate(prompt, cfg.Eval.MaxNewTokens, stop)
		if err != nil {
			return nil, err
		}
		if vocab != nil {
			if gen, err = vocab.ToFull(gen); err != nil {
				return nil, err
			}
		}
		ref := ""
		if i < len(recs) && len(p.valid) > 0 {
			ref = recs[i].Output
		}
		samples = append(samples, metrics.Sample{
			Prompt:     p.tok.Decode(ints(ex.IDs[:ex.PromptLen])),
			Completion: p.tok.Decode(ints(gen)),
			Reference:  ref,
			Format:     cfg.Data.Format,
		})
	}
	return samples, nil
}

func ints(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}
