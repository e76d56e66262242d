package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/runner"
	"github.com/sftlab/sftlab/tokenizer"
)

// formatRaw passes the prompt to the model as it is, without a template.
const formatRaw = "raw"

// generateOpts holds the flags of `sftlab generate`.
type generateOpts struct {
	*globalOpts
	runDir       string
	prompt       string // --prompt: the instruction, question or user message
	input        string // --input: the instruction format's input
	format       string // --format; "" uses the run's data.format
	maxNewTokens int    // --max-new-tokens; 0 uses the run's eval.max_new_tokens
	backend      string // --backend; "" uses the run's backend
}

// newGenerateCmd builds `sftlab generate`.
func newGenerateCmd(g *globalOpts) *cobra.Command {
	o := &generateOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "generate RUN_DIR --prompt TEXT",
		Short: "Complete a prompt greedily with the model a run trained",
		Long: `generate loads the model trained into a run folder (output.dir/NAME/RUN_ID), renders the
prompt the way the run's data.format renders the prompt part of its examples, and prints the
greedy (argmax) completion, which ends at the tokenizer's end token or after --max-new-tokens.

A pretrained run is loaded from the Hugging Face model directory it saved in RUN_DIR/model; a
LoRA run from its base model (model.pretrained) with the adapters of RUN_DIR/adapter; a model
trained from scratch from RUN_DIR/config.yaml and its latest checkpoint.

  --format instruction   指令：{prompt}\n输入：{input}\n回答：
  --format sft           问题：{prompt}\n回答：
  --format chat          the tokenizer's chat template with one user turn: {prompt}\n{input}
  --format raw           the prompt text exactly as given`,
		Example: `  sftlab generate runs/qwen3_sft_vs_instruction/1a2b3c4d5e6f --prompt 把下面的句子翻译成英文 --input 今天天气很好
  sftlab generate runs/smoke/0123456789ab --format raw --prompt $'问题：今天天气很好。\n回答：'
  (a run trained from scratch with model.vocab: compact knows only the tokens of its data)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.runDir = args[0]
			return generateRun(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.prompt, "prompt", "", "the instruction (instruction format), question (sft), user message (chat) or whole text (raw)")
	f.StringVar(&o.input, "input", "", "the input of the instruction format (输入); appended to the user message in the chat format")
	f.StringVar(&o.format, "format", "", "sft, instruction, chat or raw (default: the run's data.format)")
	f.IntVar(&o.maxNewTokens, "max-new-tokens", 0, "most tokens to generate (default: the run's eval.max_new_tokens)")
	f.StringVar(&o.backend, "backend", "", "cpu or gpu (default: the run's backend.name)")
	_ = cmd.MarkFlagRequired("prompt")
	return cmd
}

// generateRun loads the run's model and prints the completion of the prompt.
func generateRun(o *generateOpts) error {
	trained, err := runner.LoadTrained(o.runDir, o.backend)
	if err != nil {
		return err
	}
	format := o.format
	if format == "" {
		format = trained.Config.Data.Format
	}
	prompt, err := promptIDs(trained.Tokenizer, format, o.prompt, o.input)
	if err != nil {
		return err
	}
	maxNew := o.maxNewTokens
	if maxNew == 0 {
		maxNew = trained.Config.Eval.MaxNewTokens
	}
	o.logger().Debug("generate", "run", o.runDir, "format", format, "prompt_tokens", len(prompt), "max_new_tokens", maxNew)
	out, err := trained.Generate(prompt, maxNew)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.stdout, trained.Tokenizer.Decode(tokenizer.IDs(out)))
	return err
}

// promptIDs renders the prompt part of an example in format (the text before the response, as
// training saw it) and returns its token ids; formatRaw encodes text as it is.
func promptIDs(tok datasets.Tokenizer, format, text, input string) ([]int32, error) {
	if format == formatRaw {
		if input != "" {
			return nil, fmt.Errorf("--input: the raw format takes the whole text in --prompt")
		}
		return tokenizer.IDs32(tok.Encode(text)), nil
	}
	if !slices.Contains(datasets.Formats(), format) {
		return nil, fmt.Errorf("--format %q: want one of %s, %s", format, strings.Join(datasets.Formats(), ", "), formatRaw)
	}
	rec := datasets.Record{Instruction: text, Input: input}
	if format == datasets.FormatSFT {
		if input != "" {
			return nil, fmt.Errorf("--input: the sft format has no input (问题：{prompt}\\n回答：): put the whole question in --prompt")
		}
		rec = datasets.Record{Input: text}
	}
	// An empty response: the example's prompt tokens are exactly what the model continues.
	ex, err := datasets.Encode(tok, rec, datasets.EncodeOptions{Format: format, Masking: datasets.MaskEOSSafe, MaxLength: math.MaxInt32})
	if err != nil {
		return nil, fmt.Errorf("--format %s: %w", format, err)
	}
	return ex.IDs[:ex.PromptLen], nil
}
