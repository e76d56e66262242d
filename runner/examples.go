package runner

import (
	"fmt"

	"github.com/sftlab/sftlab/datasets"
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
