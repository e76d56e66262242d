// Package datasets turns instruction data into the token ids and labels a causal language model
// trains on.
//
// It loads records from the built-in Chinese teaching set ("builtin:teaching_zh") or from files
// (JSONL, a JSON array, Parquet or Arrow IPC) in either the alpaca shape (instruction, input,
// output) or the chat shape (a list of role/content messages), splits them into train and valid
// sets, renders them in one of three formats and encodes them with a tokenizer, masking labels
// according to one of three masking modes.
//
// # Formats
//
//   - "sft": 问题：{input}\n回答：{output}
//   - "instruction": 指令：{instruction}\n输入：{input}\n回答：{output}
//   - "chat": the tokenizer's own chat template (Qwen3's for the built-in tokenizer), thinking
//     disabled.
//
// A record of one shape can be rendered in every format; see [Record.ChatMessages] and
// [Record.Alpaca] for the conversion rules.
//
// # Encoding
//
// A sequence is encode(prompt) ++ encode(response) ++ [eos]. The prompt and the response are
// tokenized separately: this is what happens at inference, where the model continues the token ids
// of the prompt, and it makes the prompt/response boundary an exact token position instead of
// something found by searching the token ids for the response text. The pieces are encoded
// without special tokens, and the special tokens a tokenizer's post-processor adds (Llama 3's
// <|begin_of_text|>) are put around the whole sequence once, as Hugging Face's tokenizer(text)
// does; a post-processor suffix that starts with eos closes the last response in its place. Each
// piece after the first is encoded as it is inside the whole text, after the last token before it
// ([tokenizer.Tokenizer.EncodeAfter]): with a SentencePiece-style tokenizer (Llama 2) a response
// that continues its prompt gets no "▁" of its own, so the ids are those of tokenizer(prompt +
// response) unless a merge would join the prompt's end to the response's start; byte-level
// tokenizers (Qwen3, Llama 3) encode each piece as on its own. For "chat", the sequence is
// the template's rendering of the conversation, cut as TRL cuts it: the prompt of an assistant
// message is the rendering of the messages before it with add_generation_prompt, and its response
// is what the rendering with the message adds, whose end-of-turn token (<|im_end|> for Qwen3) must
// be the tokenizer's eos. The whitespace the template puts after the final eos is left out, so
// every sequence ends with the eos token and Example.Text is the template's rendering without it.
// Chat renderings are tokenized without the tokenizer's post-processor tokens, since templates
// write their own (Llama's <|begin_of_text|>). Text is always Decode(IDs).
//
// # Masking
//
//   - "pad": the classroom behaviour. The pad id is the eos id, and every position holding the
//     eos id gets label -100, so the real end of sequence is never learned.
//   - "eos_safe": every token carries a label; only padding (added by the trainer) is masked.
//   - "completion_only": prompt tokens are masked too; only response tokens and their end token
//     carry a label.
//
// Labels are not shifted: label[i] is ids[i] or -100, and the trainer predicts label[i+1] from
// position i. Padding is added per batch by the trainer, with [PadID] and label -100.
//
// Whatever the masking, Example.AnswerLabels marks the response tokens and their end token: the
// positions answer_loss scores, so that formats with different prompts, or different masking,
// are compared on the same tokens. [CountScored] counts the positions an evaluation scores,
// how many of them are prompt tokens, and how many hold a token never trained as a label.
//
// # Preview
//
// [WritePreview], [WriteStats] and [WriteJSON] show encoded examples as the model sees them:
// the decoded text with special tokens, every token with its id and whether it is trained, and
// the dataset's length distribution and truncation count.
package datasets
