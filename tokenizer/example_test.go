package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/sftlab/sftlab/tokenizer"
)

func ExampleQwen3() {
	tok, err := tokenizer.Qwen3()
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("今天天气很好")
	fmt.Println(ids, tok.Decode(ids))
	fmt.Println(tok.VocabSize(), tok.TokenText(tok.EOS()), tok.TokenText(tok.Pad()))
	// Output:
	// [100644 104307 101243] 今天天气很好
	// 151669 <|im_end|> <|endoftext|>
}

func ExampleTokenizer_RenderChat() {
	tok, err := tokenizer.Qwen3()
	if err != nil {
		log.Fatal(err)
	}
	text, err := tok.RenderChat([]tokenizer.Message{
		{Role: "user", Content: "1+1=?"},
		{Role: "assistant", Content: "2"},
	}, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", text)
	// Output:
	// "<|im_start|>user\n1+1=?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n2<|im_end|>\n"
}
