// Package runner runs experiments: it turns each resolved run of an experiment file into a
// trained model and the files of its run folder.
//
// [Runner.Run] first prepares the data of each distinct data configuration of the sweep once
// (tokenizer, dataset, encoding, the model's checks; shared by the runs that use it), so that bad
// input stops the sweep before any training, then trains the runs one by one, creating each
// run's folder when it starts. Each run follows one recipe (recipe.go) with named stages:
//
//   - reuse: a finished run found on disk is kept (or, when [Options.Reuse] refuses it, removed);
//   - begin: the run folder, the resolved config.yaml and a "running" run.json are written;
//   - setUp: the backend, the model (its [modelKind] decides how) and the examples;
//   - train: the trainer runs, resuming from the latest checkpoint, with metrics hooks;
//   - save: what the model kind keeps after training, and the sample completions;
//   - record: the outcome, whatever it is, goes into metrics.arrow, eval.arrow and run.json.
//
// Model families live behind [modelKind]: a GPT trained from scratch (gpt.go) and a pretrained
// Hugging Face model (pretrained.go). [LoadTrained] loads a finished run back for generation.
package runner
