package runner

import (
	"fmt"

	"github.com/sftlab/sftlab/metrics"
)

// staleInputs says why a run found on disk no longer matches the inputs it would train on now:
// "" when the dataset and tokenizer content hashes in its run.json equal those of the prepared
// run, else which of them changed. The run ID hashes the config, which names the dataset by its
// path, so without this check a run trained on an edited file's old contents would be reused
// (or resumed) and mixed into reports and the regression gate.
func staleInputs(previous metrics.RunInfo, p *prepared) string {
	short := func(h string) string {
		if len(h) > 12 {
			return h[:12]
		}
		if h == "" {
			return "none recorded"
		}
		return h
	}
	was, now := previous.Provenance, p.tok.Hash()
	switch {
	case was.DatasetHash != p.datasetHash:
		return fmt.Sprintf("data.dataset %s changed since it was trained (content hash %s, now %s)",
			p.run.Config.Data.Dataset, short(was.DatasetHash), short(p.datasetHash))
	case was.TokenizerHash != now:
		return fmt.Sprintf("the tokenizer changed since it was trained (tokenizer.json hash %s, now %s)",
			short(was.TokenizerHash), short(now))
	}
	return ""
}
