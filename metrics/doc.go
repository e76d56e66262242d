// Package metrics reads and writes the files a run leaves in its folder: the per-step and
// per-eval Arrow IPC files (metrics.arrow, eval.arrow, generation.arrow), run.json, and the
// samples.jsonl of generated completions.
//
// The Arrow files use the IPC file format (the "Feather v2" layout), so pyarrow.ipc.open_file,
// polars.read_ipc and DuckDB open them directly. Each file holds one or more record batches
// with the schema below; readers look columns up by name, so extra columns are ignored.
//
//	metrics.arrow  step int64, epoch float64, train_loss float64, lr float64, grad_norm float64,
//	               tokens int64, tokens_per_s float64, elapsed_s float64
//	eval.arrow     step int64, split utf8, loss float64, token_accuracy float64, tokens int64,
//	               answer_loss float64, answer_tokens int64
//	generation.arrow  step int64, split utf8, prompts int64, exact_match float64, rouge_l float64,
//	               chrf float64, new_tokens int64, seconds float64
//
// loss is eval_loss, over the positions the run's masking labels; answer_loss is over the
// response tokens and their closing EOS only, whatever the masking, so that runs whose
// formats or masking score different prompt tokens can be compared on the same tokens. Files
// written before the answer columns existed still read (answer_loss NaN, answer_tokens 0).
// generation.arrow holds the scores of greedy completions of held-out prompts (package scores);
// runs recorded before it existed have none, and readers treat it as optional.
//
// Every file is written atomically (a temporary file in the same folder, synced, then renamed),
// so a killed run never leaves half a file behind.
package metrics
