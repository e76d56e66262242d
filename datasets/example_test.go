package datasets_test

import (
	"fmt"

	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/tokenizer"
)

// Encode renders a record in the classroom's instruction format, tokenizes the prompt and the
// response separately and masks the labels.
func ExampleEncode() {
	tok, err := tokenizer.Qwen3()
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := datasets.Record{Instruction: "把下面的英文翻译成中文。", Input: "Practice makes perfect.", Output: "熟能生巧。"}
	for _, masking := range datasets.Maskings() {
		ex, err := datasets.Encode(tok, rec, datasets.EncodeOptions{Format: datasets.FormatInstruction, Masking: masking, MaxLength: 512})
		if err != nil {
			fmt.Println(err)
			return
		}
		last := len(ex.IDs) - 1
		fmt.Printf("%s: %d tokens, %d trained, prompt %d, eos label %d\n", masking, len(ex.IDs), ex.Trained(), ex.PromptLen, ex.Labels[last])
	}
	ex, _ := datasets.Encode(tok, rec, datasets.EncodeOptions{Format: datasets.FormatInstruction, Masking: datasets.MaskPad, MaxLength: 512})
	fmt.Printf("%q\n", ex.Text)
	// Output:
	// pad: 24 tokens, 23 trained, prompt 18, eos label -100
	// eos_safe: 24 tokens, 24 trained, prompt 18, eos label 151645
	// completion_only: 24 tokens, 6 trained, prompt 18, eos label 151645
	// "指令：把下面的英文翻译成中文。\n输入：Practice makes perfect.\n回答：熟能生巧。<|im_end|>"
}

// Split holds out a seeded, per-task share of the built-in teaching set.
func ExampleSplit() {
	recs, err := datasets.Load("builtin:teaching_zh")
	if err != nil {
		fmt.Println(err)
		return
	}
	train, valid := datasets.Split(recs, 0.2, 42)
	fmt.Println(len(recs), "records:", len(train), "train,", len(valid), "valid")
	// Output: 80 records: 66 train, 14 valid
}
