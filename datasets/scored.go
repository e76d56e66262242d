package datasets

// Scored describes the label positions that evaluating a set of examples scores: those of
// eval_loss (Labels) and of answer_loss (AnswerLabels). Position 0 is never scored, since the
// model predicts label i+1 from position i.
type Scored struct {
	Scored       int // positions eval_loss scores
	Prompt       int // of those, prompt positions: not a response token nor a response's end token
	Answer       int // positions answer_loss scores: response tokens and their end tokens
	Unseen       int // of the Scored positions, those whose token is never a label of the training examples
	UnseenAnswer int // of the Answer positions, those whose token is never a label of the training examples
}

// CountScored counts the positions that evaluating evaluated scores, and how many of them hold
// a token that never occurs as a trained label (a Labels entry at a scored position) of
// trained. A model cannot learn to predict such a token, so where they are many the loss
// measures the vocabulary, not the format.
func CountScored(trained, evaluated []Example) Scored {
	seen := map[int32]bool{}
	for _, ex := range trained {
		for _, l := range ex.Labels[min(1, len(ex.Labels)):] {
			if l != IgnoreIndex {
				seen[l] = true
			}
		}
	}
	var s Scored
	for _, ex := range evaluated {
		for i := 1; i < len(ex.Labels); i++ {
			answer := i < len(ex.AnswerLabels) && ex.AnswerLabels[i] != IgnoreIndex
			if l := ex.Labels[i]; l != IgnoreIndex {
				s.Scored++
				if !answer {
					s.Prompt++
				}
				if !seen[l] {
					s.Unseen++
				}
			}
			if answer {
				s.Answer++
				if !seen[ex.AnswerLabels[i]] {
					s.UnseenAnswer++
				}
			}
		}
	}
	return s
}

// share is part/whole, or 0 when whole is 0.
func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// PromptShare is the share of the eval_loss positions that are prompt tokens.
func (s Scored) PromptShare() float64 { return share(s.Prompt, s.Scored) }

// UnseenShare is the share of the eval_loss positions whose token is never a trained label.
func (s Scored) UnseenShare() float64 { return share(s.Unseen, s.Scored) }

// UnseenAnswerShare is the share of the answer_loss positions whose token is never a trained label.
func (s Scored) UnseenAnswerShare() float64 { return share(s.UnseenAnswer, s.Answer) }
