package datasets

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/sftlab/sftlab/tokenizer"
)

// Formats: how a record is rendered as text.
const (
	FormatSFT         = "sft"         // 问题：{input}\n回答：{output}
	FormatInstruction = "instruction" // 指令：{instruction}\n输入：{input}\n回答：{output}
	FormatChat        = "chat"        // the tokenizer's chat template, thinking disabled
)

// Masking modes: which positions carry a label.
const (
	MaskPad            = "pad"             // pad = eos, every eos position masked (the classroom collator)
	MaskEOSSafe        = "eos_safe"        // every token trained; only padding masked
	MaskCompletionOnly = "completion_only" // prompt masked; response tokens and their end token trained
)

// IgnoreIndex is the label of a position that does not count in the loss.
const IgnoreIndex = -100

// Formats returns the supported format names.
func Formats() []string { return []string{FormatSFT, FormatInstruction, FormatChat} }

// Maskings returns the supported masking mode names.
func Maskings() []string { return []string{MaskPad, MaskEOSSafe, MaskCompletionOnly} }

// Tokenizer is what encoding needs from a tokenizer; *tokenizer.Tokenizer implements it.
type Tokenizer interface {
	Encode(text string) []int
	// EncodeAfter encodes text without the post-processor's special tokens as it encodes inside
	// a longer string right after the token prev (as it encodes alone when prev < 0): for a
	// SentencePiece-style tokenizer, no "▁" before text that continues plain text.
	EncodeAfter(prev int, text string) []int
	// Affixes are the ids the post-processor puts before and after a whole sequence.
	Affixes() (prefix, suffix []int)
	Decode(ids []int) string
	EOS() int
	Pad() int
	TokenText(id int) string
	RenderChat(msgs []tokenizer.Message, addGenerationPrompt bool) (string, error)
}

// EncodeOptions selects the format, the masking mode and the truncation length.
type EncodeOptions struct {
	Format    string // FormatSFT, FormatInstruction or FormatChat
	Masking   string // MaskPad, MaskEOSSafe or MaskCompletionOnly
	MaxLength int    // keep at most this many tokens (the start of the sequence); must be positive
}

// Validate reports an unknown format or masking mode or a non-positive MaxLength.
func (o EncodeOptions) Validate() error {
	if !slices.Contains(Formats(), o.Format) {
		return fmt.Errorf("format %q: unknown format: use one of %s", o.Format, strings.Join(Formats(), ", "))
	}
	if !slices.Contains(Maskings(), o.Masking) {
		return fmt.Errorf("masking %q: unknown masking mode: use one of %s", o.Masking, strings.Join(Maskings(), ", "))
	}
	if o.MaxLength <= 0 {
		return fmt.Errorf("max_length %d: must be a positive number of tokens", o.MaxLength)
	}
	return nil
}

// Example is one encoded record: token ids and their unshifted labels.
type Example struct {
	Text      string  // Decode(IDs): the text exactly as the model sees it, special tokens included
	IDs       []int32 // token ids, truncated to MaxLength
	Labels    []int32 // IDs[i] where trained, IgnoreIndex where masked; not shifted
	PromptLen int     // tokens before the first response token (capped at len(IDs))
	Truncated bool    // the sequence was longer than MaxLength and its end was cut
	FullLen   int     // number of tokens before truncation
	// AnswerLabels is IDs[i] on the response tokens and the end token closing each response,
	// IgnoreIndex elsewhere, whatever the masking: the positions answer_loss scores.
	AnswerLabels []int32
}

// Trained returns the number of positions that carry a label.
func (e Example) Trained() int {
	n := 0
	for _, l := range e.Labels {
		if l != IgnoreIndex {
			n++
		}
	}
	return n
}

// Masked returns the number of positions labelled IgnoreIndex.
func (e Example) Masked() int { return len(e.Labels) - e.Trained() }

// PadID returns the token id the trainer pads with under masking: the eos id for MaskPad (the
// classroom's pad = eos), the tokenizer's own pad id otherwise. A tokenizer without a pad_token
// (Llama 3's tokenizer_config.json has none) pads with eos too, as transformers users set
// tokenizer.pad_token = tokenizer.eos_token. Padding positions always get label IgnoreIndex.
func PadID(tok Tokenizer, masking string) int {
	if masking == MaskPad || tok.Pad() < 0 {
		return tok.EOS()
	}
	return tok.Pad()
}

// segment is a piece of a rendered record: prompt text (never a response) or a response, which
// is followed by the eos token.
type segment struct {
	text     string
	response bool
}

// Template prefixes of the sft and instruction formats, byte for byte the classroom's.
const (
	sftQuestion      = "问题："
	sftAnswer        = "\n回答："
	instrInstruction = "指令："
	instrInput       = "\n输入："
	instrAnswer      = "\n回答："
)

// segments renders r in format as alternating prompt and response pieces.
func segments(tok Tokenizer, r Record, format string) ([]segment, error) {
	switch format {
	case FormatSFT:
		_, input, output := r.Alpaca()
		return []segment{{text: sftQuestion + input + sftAnswer}, {text: output, response: true}}, nil
	case FormatInstruction:
		instruction, input, output := r.Alpaca()
		return []segment{{text: instrInstruction + instruction + instrInput + input + instrAnswer}, {text: output, response: true}}, nil
	case FormatChat:
		return chatSegments(tok, r.ChatMessages())
	}
	return nil, fmt.Errorf("format %q: unknown format: use one of %s", format, strings.Join(Formats(), ", "))
}

// chatSegments renders msgs with the tokenizer's chat template and cuts the rendering into
// prompts and responses, one response per assistant message. The boundaries come from the
// template itself, as TRL finds them: for the assistant message msgs[i], the prompt is the
// rendering of msgs[:i] with add_generation_prompt, exactly what the model continues at
// inference, and the response is what the rendering of msgs[:i+1] adds to it, up to and
// including its end-of-turn token, which must be the tokenizer's eos token (<|im_end|> for Qwen3,
// <|eot_id|> for Llama 3 Instruct); the whitespace after it belongs to the next prompt.
//
// The sequence is the template's rendering of the whole conversation, without the whitespace
// after its final eos, so that it ends with the eos like the other formats. A template that
// renders earlier turns differently once the conversation goes on (Qwen3 drops the empty <think>
// block of an assistant message before the last user message) has each earlier response found in
// that rendering after the rendering of the messages before it.
func chatSegments(tok Tokenizer, msgs []tokenizer.Message) ([]segment, error) {
	if err := validateChat(msgs); err != nil {
		return nil, err
	}
	full, err := tok.RenderChat(msgs, false)
	if err != nil {
		return nil, err
	}
	eosText := tok.TokenText(tok.EOS())
	if eosText == "" {
		return nil, fmt.Errorf("the tokenizer has no eos_token (tokenizer_config.json): the chat format ends each response with it")
	}
	var segs []segment
	cursor := 0 // the end, in full, of the last response and its eos
	k := 0      // the assistant message's number, for errors
	for i, m := range msgs {
		if m.Role != RoleAssistant {
			continue
		}
		prompt, err := tok.RenderChat(msgs[:i], true)
		if err != nil {
			return nil, err
		}
		withTurn, err := tok.RenderChat(msgs[:i+1], false)
		if err != nil {
			return nil, err
		}
		turn, ok := strings.CutPrefix(withTurn, prompt)
		if !ok {
			return nil, fmt.Errorf("assistant message %d (messages[%d]): the chat template's rendering with this message does not start with its prompt (the rendering of the messages before it with add_generation_prompt), so the response cannot be told from the prompt; give plain assistant content (for Qwen3, no <think> block)", k, i)
		}
		response, ok := strings.CutSuffix(strings.TrimRightFunc(turn, unicode.IsSpace), eosText)
		if !ok {
			return nil, fmt.Errorf("assistant message %d (messages[%d]): the chat template ends it with %q, not with the eos token %s of tokenizer_config.json; set eos_token to the template's end-of-turn token", k, i, lastRunes(turn, 12), eosText)
		}
		// Where the response sits in the whole conversation's rendering.
		start := len(prompt)
		if !strings.HasPrefix(full, withTurn) {
			history, err := tok.RenderChat(msgs[:i], false)
			if err != nil {
				return nil, err
			}
			at := -1
			if strings.HasPrefix(full, history) && len(history) >= cursor {
				at = strings.Index(full[len(history):], response+eosText)
			}
			if at < 0 {
				return nil, fmt.Errorf("assistant message %d (messages[%d]): the chat template renders it differently once the conversation goes on, and its response %q is not found in the rendering of the whole conversation", k, i, response)
			}
			start = len(history) + at
		}
		if start < cursor {
			return nil, fmt.Errorf("assistant message %d (messages[%d]): the chat template renders its prompt before the end of the previous response", k, i)
		}
		segs = append(segs, segment{text: full[cursor:start]}, segment{text: response, response: true})
		cursor = start + len(response) + len(eosText)
		k++
	}
	if tail := full[cursor:]; strings.TrimSpace(tail) != "" {
		return nil, fmt.Errorf("the chat template renders %q after the last assistant message; the sequence must end with its eos token %s", tail, eosText)
	}
	return segs, nil
}

// lastRunes returns the last n runes of s.
func lastRunes(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

// Encode renders r in opts.Format, tokenizes it and labels it according to opts.Masking.
//
// The sequence is prefix ++ plain(prompt) ++ after(response) ++ [eos] ++ suffix: each piece is
// tokenized on its own without special tokens, so the boundary is a token position and the
// prompt's tokens are those the model continues at inference, and the post-processor's special
// tokens (prefix and suffix, e.g. Llama 3's <|begin_of_text|>) are put around the whole sequence
// once, as Hugging Face's tokenizer(text) does for the whole text (a chat template writes its own,
// so chat sequences get none added). Each piece after the first is encoded as it is inside the
// whole text, after the last token before it (EncodeAfter): a response that continues its prompt
// gets no "▁" of its own from a SentencePiece-style tokenizer (Llama 2), so the ids are those of
// tokenizer(prompt + response) unless a merge would join the prompt's end to the response's
// start; byte-level BPE (Qwen3, Llama 3) encodes each piece as it would alone. When the suffix
// starts with the eos token it closes the last response, which then gets no second eos. Chat
// records give one (prompt, response) pair per assistant turn. Sequences longer than
// opts.MaxLength keep their first MaxLength tokens and are marked Truncated (their eos is cut).
func Encode(tok Tokenizer, r Record, opts EncodeOptions) (Example, error) {
	if err := opts.Validate(); err != nil {
		return Example{}, err
	}
	eos := tok.EOS()
	if eos < 0 {
		return Example{}, fmt.Errorf("the tokenizer names no eos_token: every sequence ends with it; set eos_token in tokenizer_config.json")
	}
	segs, err := segments(tok, r, opts.Format)
	if err != nil {
		return Example{}, err
	}
	prefix, suffix := tok.Affixes()
	if opts.Format == FormatChat {
		// A chat template writes the model's own special tokens (Llama's <|begin_of_text|>).
		prefix, suffix = nil, nil
	}
	suffixCloses := len(suffix) > 0 && suffix[0] == eos
	var ids, labels, answer []int32
	add := func(id int, response bool) {
		label, answerLabel := int32(id), int32(IgnoreIndex)
		switch {
		case opts.Masking == MaskPad && id == eos:
			label = IgnoreIndex
		case opts.Masking == MaskCompletionOnly && !response:
			label = IgnoreIndex
		}
		if response {
			answerLabel = int32(id)
		}
		ids = append(ids, int32(id))
		labels = append(labels, label)
		answer = append(answer, answerLabel)
	}
	for _, id := range prefix {
		add(id, false)
	}
	promptLen := -1
	prev := -1 // the last token of the text so far (the prefix is not part of the text)
	for i, s := range segs {
		if s.response && promptLen < 0 {
			promptLen = len(ids)
		}
		toks := tok.EncodeAfter(prev, s.text)
		if s.response && !(suffixCloses && i == len(segs)-1) {
			toks = append(toks, eos)
		}
		for _, id := range toks {
			add(id, s.response)
		}
		if len(toks) > 0 {
			prev = toks[len(toks)-1]
		}
	}
	// The suffix follows the last response and ends it.
	for _, id := range suffix {
		add(id, true)
	}
	ex := Example{FullLen: len(ids), PromptLen: promptLen}
	if len(ids) > opts.MaxLength {
		ids, labels, answer = ids[:opts.MaxLength], labels[:opts.MaxLength], answer[:opts.MaxLength]
		ex.Truncated = true
	}
	ex.IDs, ex.Labels, ex.AnswerLabels = ids, labels, answer
	ex.PromptLen = min(ex.PromptLen, len(ids))
	ex.Text = tok.Decode(tokenizer.IDs(ids))
	return ex, nil
}

// Stats summarises a dataset's encoding. Lengths are token counts before truncation, so MaxLen
// above the max_length shows how much truncation cuts; token counts are after truncation.
type Stats struct {
	N             int // examples
	Truncated     int // examples longer than MaxLength
	MinLen        int
	MedianLen     int // nearest-rank median (the lower middle for an even count)
	P95Len        int // nearest-rank 95th percentile
	MaxLen        int
	TrainedTokens int // positions carrying a label
	MaskedTokens  int // positions labelled IgnoreIndex
}

// EncodeAll encodes every record with opts and summarises the result.
func EncodeAll(tok Tokenizer, recs []Record, opts EncodeOptions) ([]Example, Stats, error) {
	return EncodeAllContext(context.Background(), tok, recs, opts)
}

// EncodeAllContext is EncodeAll that stops when ctx is done, checking it between records, so
// that encoding a large dataset can be interrupted. The error then wraps ctx's.
func EncodeAllContext(ctx context.Context, tok Tokenizer, recs []Record, opts EncodeOptions) ([]Example, Stats, error) {
	if err := opts.Validate(); err != nil {
		return nil, Stats{}, err
	}
	exs := make([]Example, 0, len(recs))
	for i, r := range recs {
		if err := ctx.Err(); err != nil {
			return nil, Stats{}, fmt.Errorf("encode: stopped at record %d of %d: %w", i, len(recs), err)
		}
		ex, err := Encode(tok, r, opts)
		if err != nil {
			return nil, Stats{}, fmt.Errorf("record %d: %w", i, err)
		}
		exs = append(exs, ex)
	}
	return exs, Summarize(exs), nil
}

// Summarize computes the Stats of exs.
func Summarize(exs []Example) Stats {
	st := Stats{N: len(exs)}
	if len(exs) == 0 {
		return st
	}
	lens := make([]int, len(exs))
	for i, ex := range exs {
		lens[i] = ex.FullLen
		if ex.Truncated {
			st.Truncated++
		}
		tr := ex.Trained()
		st.TrainedTokens += tr
		st.MaskedTokens += len(ex.Labels) - tr
	}
	slices.Sort(lens)
	st.MinLen, st.MaxLen = lens[0], lens[len(lens)-1]
	st.MedianLen = lens[(len(lens)-1)/2]
	st.P95Len = lens[(95*len(lens)+99)/100-1] // nearest rank: ceil(0.95 n)
	return st
}
