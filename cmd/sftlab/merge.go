package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/runner"
)

// mergeOpts holds the arguments of `sftlab merge`.
type mergeOpts struct {
	*globalOpts
	runDir, outDir string
}

// newMergeCmd builds `sftlab merge`.
func newMergeCmd(g *globalOpts) *cobra.Command {
	o := &mergeOpts{globalOpts: g}
	return &cobra.Command{
		Use:   "merge RUN_DIR OUT_DIR",
		Short: "Fold a LoRA run's adapters into a plain Hugging Face model directory",
		Long: `merge loads the pretrained model of a LoRA run (model.pretrained of RUN_DIR/config.yaml) with
the adapters it trained (RUN_DIR/adapter, PEFT's layout), folds them into the weights,
W + (alpha/r)·B·A as PEFT's merge_and_unload does, and writes OUT_DIR: config.json, the weights
in the run's model.dtype, the tokenizer files and generation_config.json. Transformers, vLLM or
sftlab itself (model.pretrained: OUT_DIR) then load it as an ordinary model.

RUN_DIR/adapter itself already loads with PEFT:
  PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(BASE), "RUN_DIR/adapter")`,
		Example: `  sftlab merge runs/lora_rank/0123456789ab merged/lora-r16`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.runDir, o.outDir = args[0], args[1]
			return mergeRun(o)
		},
	}
}

// mergeRun writes the merged model and says where.
func mergeRun(o *mergeOpts) error {
	if err := runner.Merge(o.runDir, o.outDir); err != nil {
		return err
	}
	_, err := fmt.Fprintf(o.stdout, "merged model written to %s\n", o.outDir)
	return err
}
