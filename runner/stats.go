package runner

import (
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/tokenizer"
	"github.com/sftlab/sftlab/train"
)

// modelStats describes the model the trainer holds, for run.json: its vocabulary size, its
// trainable parameter count and the hash of its parameters. Called before a checkpoint is
// loaded, the hash is that of the initial weights.
func modelStats(trainer *train.Trainer, m train.Model, tok *tokenizer.Tokenizer) (metrics.ModelStats, error) {
	h, err := trainer.ParamsHash()
	if err != nil {
		return metrics.ModelStats{}, err
	}
	return metrics.ModelStats{VocabSize: vocabSize(m, tok), Parameters: trainer.ParamCount(), InitHash: h}, nil
}

// vocabSize is the number of ids the model's embedding and head cover.
func vocabSize(m train.Model, tok *tokenizer.Tokenizer) int {
	switch mm := m.(type) {
	case *model.GPT:
		return mm.Cfg.Vocab
	case interface{ Config() decoder.Config }:
		return mm.Config().VocabSize
	}
	return tok.VocabSize()
}

// scoredTokens describes, for run.json, the label positions of the split eval_loss is measured
// on (see datasets.CountScored).
func scoredTokens(p *prepared) metrics.ScoredTokens {
	s := p.scored
	split := metrics.SplitValid
	if p.run.Config.Data.EvalOn == metrics.SplitTrain {
		split = metrics.SplitTrain
	}
	return metrics.ScoredTokens{
		Split: split, Scored: s.Scored, Prompt: s.Prompt, Answer: s.Answer, Unseen: s.Unseen, UnseenAnswer: s.UnseenAnswer,
		PromptShare: s.PromptShare(), UnseenShare: s.UnseenShare(), UnseenAnswerShare: s.UnseenAnswerShare(),
	}
}
