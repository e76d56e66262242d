// Package export writes every run of an experiment as one tidy, long-form table, for DuckDB,
// pandas, polars or a spreadsheet: Parquet, CSV or Arrow IPC.
//
// A row is one value of one metric of one run at one step:
//
//	experiment, run, run_id, status, <one column per swept key>, step, split, metric, value
//
// Training rows (one per step, from metrics.arrow) have split null and metric epoch,
// train_loss, lr, grad_norm, tokens, tokens_per_s or elapsed_s. Evaluation rows (from
// eval.arrow) have split "valid" or "train" and metric eval_loss, token_accuracy or
// eval_tokens. A swept key is named by its short alias where it has one (format, lr, seed,
// steps, …), otherwise by its key path with "_" for "." (model_d_model); its column is int64,
// float64, bool or utf8 as its values are. Runs are in name order, rows in step order.
package export
