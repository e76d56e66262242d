package datasets

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sftlab/sftlab/tokenizer"
)

// qwen3 loads the committed Qwen3 tokenizer once per test binary.
var qwen3 = sync.OnceValues(tokenizer.Qwen3)

func loadTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := qwen3()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func toInts(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

func toInt32s(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

func TestEncodeTemplates(t *testing.T) {
	tok := loadTokenizer(t)
	rec := alpacaRecs[0]
	tests := []struct {
		format, prompt string
	}{
		{FormatSFT, "问题：图书馆周末不开放。\n回答："},
		{FormatInstruction, "指令：翻译成英文。\n输入：图书馆周末不开放。\n回答："},
		{FormatChat, "<|im_start|>user\n翻译成英文。\n图书馆周末不开放。<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			ex, err := Encode(tok, rec, EncodeOptions{Format: tt.format, Masking: MaskEOSSafe, MaxLength: 512})
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.prompt + rec.Output + "<|im_end|>"; ex.Text != want {
				t.Errorf("Text = %q\nwant   %q", ex.Text, want)
			}
			if got := tok.Decode(toInts(ex.IDs)); got != ex.Text {
				t.Errorf("Decode(IDs) = %q, Text = %q", got, ex.Text)
			}
			// The boundary is where the separately encoded prompt ends.
			wantIDs := append(toInt32s(tok.Encode(tt.prompt)), toInt32s(tok.Encode(rec.Output))...)
			wantIDs = append(wantIDs, int32(tok.EOS()))
			if !slices.Equal(ex.IDs, wantIDs) {
				t.Errorf("IDs = %v\nwant  %v", ex.IDs, wantIDs)
			}
			if want := len(tok.Encode(tt.prompt)); ex.PromptLen != want {
				t.Errorf("PromptLen = %d, want %d", ex.PromptLen, want)
			}
			if ex.Truncated || ex.FullLen != len(ex.IDs) {
				t.Errorf("Truncated = %v, FullLen = %d, len = %d", ex.Truncated, ex.FullLen, len(ex.IDs))
			}
		})
	}
}

// responseRuns returns the decoded text of each maximal run of trained positions.
func responseRuns(tok *tokenizer.Tokenizer, ex Example) []string {
	var runs []string
	var cur []int
	for i, l := range ex.Labels {
		if l != IgnoreIndex {
			cur = append(cur, int(ex.IDs[i]))
		}
		if (l == IgnoreIndex || i == len(ex.Labels)-1) && len(cur) > 0 {
			runs = append(runs, tok.Decode(cur))
			cur = nil
		}
	}
	return runs
}

func TestMasking(t *testing.T) {
	tok := loadTokenizer(t)
	builtin, err := Load("builtin:teaching_zh")
	if err != nil {
		t.Fatal(err)
	}
	eos := int32(tok.EOS())
	for _, format := range Formats() {
		recs := builtin
		if format == FormatChat {
			recs = append(slices.Clone(builtin), chatRecs...)
		}
		for _, masking := range Maskings() {
			t.Run(format+"/"+masking, func(t *testing.T) {
				exs, st, err := EncodeAll(tok, recs, EncodeOptions{Format: format, Masking: masking, MaxLength: 512})
				if err != nil {
					t.Fatal(err)
				}
				if st.N != len(recs) || st.Truncated != 0 {
					t.Fatalf("Stats = %+v", st)
				}
				for i, ex := range exs {
					last := len(ex.IDs) - 1
					if len(ex.Labels) != len(ex.IDs) || ex.IDs[last] != eos {
						t.Fatalf("record %d: %d ids, %d labels, last id %d; want equal lengths ending in eos %d",
							i, len(ex.IDs), len(ex.Labels), ex.IDs[last], eos)
					}
					for p, l := range ex.Labels {
						if l != IgnoreIndex && l != ex.IDs[p] {
							t.Fatalf("record %d: label[%d] = %d, want %d or -100", i, p, l, ex.IDs[p])
						}
					}
					switch masking {
					case MaskPad:
						for p, id := range ex.IDs {
							if (id == eos) != (ex.Labels[p] == IgnoreIndex) {
								t.Fatalf("record %d: position %d (id %d) has label %d; pad masks exactly the eos positions",
									i, p, id, ex.Labels[p])
							}
						}
					case MaskEOSSafe:
						if ex.Masked() != 0 {
							t.Fatalf("record %d: %d masked positions, want none", i, ex.Masked())
						}
					case MaskCompletionOnly:
						var want []string
						for _, m := range recs[i].ChatMessages() {
							if m.Role == RoleAssistant {
								want = append(want, m.Content+"<|im_end|>")
							}
						}
						if format != FormatChat {
							_, _, out := recs[i].Alpaca()
							want = []string{out + "<|im_end|>"}
						}
						if got := responseRuns(tok, ex); !slices.Equal(got, want) {
							t.Fatalf("record %d: trained spans %q, want the responses and their eos %q", i, got, want)
						}
						for p := range ex.PromptLen {
							if ex.Labels[p] != IgnoreIndex {
								t.Fatalf("record %d: prompt position %d is trained", i, p)
							}
						}
					}
					if masking != MaskPad && ex.Labels[last] != eos {
						t.Fatalf("record %d: the final eos is masked under %s", i, masking)
					}
					// answer_loss scores the responses and their eos whatever the masking: the
					// positions completion_only trains.
					answers, err := Encode(tok, recs[i], EncodeOptions{Format: format, Masking: MaskCompletionOnly, MaxLength: 512})
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(ex.AnswerLabels, answers.Labels) {
						t.Fatalf("record %d: AnswerLabels %v, want the completion_only labels %v", i, ex.AnswerLabels, answers.Labels)
					}
				}
			})
		}
	}
}

type chatReference struct {
	Name                string              `json:"name"`
	AddGenerationPrompt bool                `json:"add_generation_prompt"`
	Messages            []tokenizer.Message `json:"messages"`
	Text                string              `json:"text"`
}

// TestChatTemplateReference checks the chat format against Qwen3's own Jinja chat template,
// rendered by testdata/chat_template/gen_reference.mjs.
func TestChatTemplateReference(t *testing.T) {
	tok := loadTokenizer(t)
	data, err := os.ReadFile(filepath.Join("testdata", "chat_template", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refs []chatReference
	if err := json.Unmarshal(data, &refs); err != nil {
		t.Fatal(err)
	}
	if len(refs) < 6 {
		t.Fatalf("%d references, want at least 6", len(refs))
	}
	for _, ref := range refs {
		t.Run(ref.Name, func(t *testing.T) {
			if got, err := tok.RenderChat(ref.Messages, ref.AddGenerationPrompt); err != nil || got != ref.Text {
				t.Errorf("RenderChat = %q, %v\nJinja      %q", got, err, ref.Text)
			}
			if ref.AddGenerationPrompt {
				return
			}
			for _, masking := range Maskings() {
				ex, err := Encode(tok, Record{Messages: ref.Messages}, EncodeOptions{Format: FormatChat, Masking: masking, MaxLength: 4096})
				if err != nil {
					t.Fatal(err)
				}
				// The sequence stops at the final <|im_end|>: the template's trailing "\n" is not trained.
				if ex.Text+"\n" != ref.Text {
					t.Errorf("%s: Text = %q\nJinja  %q (without its final newline)", masking, ex.Text, ref.Text)
				}
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	tok := loadTokenizer(t)
	full, err := Encode(tok, alpacaRecs[0], EncodeOptions{Format: FormatInstruction, Masking: MaskEOSSafe, MaxLength: 512})
	if err != nil {
		t.Fatal(err)
	}
	n := len(full.IDs)
	tests := []struct {
		name          string
		maxLength     int
		wantTruncated bool
	}{
		{"fits exactly", n, false},
		{"eos cut", n - 1, true},
		{"inside the prompt", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := EncodeOptions{Format: FormatInstruction, Masking: MaskCompletionOnly, MaxLength: tt.maxLength}
			exs, st, err := EncodeAll(tok, alpacaRecs[:1], opts)
			if err != nil {
				t.Fatal(err)
			}
			ex := exs[0]
			if ex.Truncated != tt.wantTruncated || len(ex.IDs) != tt.maxLength || len(ex.Labels) != tt.maxLength ||
				ex.FullLen != n || !slices.Equal(ex.IDs, full.IDs[:tt.maxLength]) {
				t.Errorf("Encode = truncated %v, %d ids, %d labels, FullLen %d; want truncated %v, %d, FullLen %d",
					ex.Truncated, len(ex.IDs), len(ex.Labels), ex.FullLen, tt.wantTruncated, tt.maxLength, n)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantTruncated]; st.Truncated != want || st.MaxLen != n {
				t.Errorf("Stats.Truncated = %d, MaxLen = %d; want %d, %d", st.Truncated, st.MaxLen, want, n)
			}
			if ex.PromptLen > len(ex.IDs) {
				t.Errorf("PromptLen %d beyond %d ids", ex.PromptLen, len(ex.IDs))
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tok := loadTokenizer(t)
	ok := EncodeOptions{Format: FormatChat, Masking: MaskPad, MaxLength: 64}
	tests := []struct {
		name    string
		rec     Record
		opts    EncodeOptions
		wantErr string
	}{
		{"unknown format", alpacaRecs[0], EncodeOptions{Format: "alpaca", Masking: MaskPad, MaxLength: 64}, `format "alpaca"`},
		{"unknown masking", alpacaRecs[0], EncodeOptions{Format: FormatSFT, Masking: "none", MaxLength: 64}, `masking "none"`},
		{"zero max length", alpacaRecs[0], EncodeOptions{Format: FormatSFT, Masking: MaskPad}, "max_length 0"},
		{"think block in content", Record{Messages: []tokenizer.Message{{Role: "user", Content: "hi"},
			{Role: "assistant", Content: "<think>\nhmm\n</think>\n\nhello"}}}, ok, "cannot be told from the prompt"},
		{"chat ending with user", Record{Messages: []tokenizer.Message{{Role: "user", Content: "hi"}}}, ok, "must end with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tok, tt.rec, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Encode error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	_, _, err := EncodeAll(tok, []Record{alpacaRecs[0], {Messages: []tokenizer.Message{{Role: "user", Content: "x"}}}}, ok)
	if err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("EncodeAll error = %v, want one naming record 1", err)
	}
}

// TestEncodeAllContextStops checks that encoding stops with ctx's error once ctx is done.
func TestEncodeAllContextStops(t *testing.T) {
	tok := loadTokenizer(t)
	recs, err := Load("builtin:teaching_zh")
	if err != nil {
		t.Fatal(err)
	}
	opts := EncodeOptions{Format: FormatSFT, Masking: MaskEOSSafe, MaxLength: 512}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if exs, _, err := EncodeAllContext(ctx, tok, recs, opts); !errors.Is(err, context.Canceled) || exs != nil {
		t.Fatalf("EncodeAllContext = %d examples, %v; want none and context.Canceled", len(exs), err)
	}
	if exs, _, err := EncodeAllContext(context.Background(), tok, recs, opts); err != nil || len(exs) != len(recs) {
		t.Fatalf("EncodeAllContext without cancelling = %d examples, %v; want %d", len(exs), err, len(recs))
	}
}

func TestSummarize(t *testing.T) {
	var exs []Example
	for n := 20; n >= 1; n-- { // lengths 1..20, unsorted
		ex := Example{FullLen: n, IDs: make([]int32, min(n, 16)), Labels: make([]int32, min(n, 16)), Truncated: n > 16}
		ex.Labels[0] = IgnoreIndex
		exs = append(exs, ex)
	}
	got := Summarize(exs)
	want := Stats{N: 20, Truncated: 4, MinLen: 1, MedianLen: 10, P95Len: 19, MaxLen: 20,
		TrainedTokens: (16*5 + 15*16/2) - 20, MaskedTokens: 20}
	if got != want {
		t.Errorf("Summarize = %+v\nwant      %+v", got, want)
	}
	if (Summarize(nil) != Stats{}) {
		t.Error("Summarize(nil) is not zero")
	}
}

func TestPadID(t *testing.T) {
	tok := loadTokenizer(t)
	tests := []struct {
		masking string
		want    int
	}{
		{MaskPad, 151645},
		{MaskEOSSafe, 151643},
		{MaskCompletionOnly, 151643},
	}
	for _, tt := range tests {
		t.Run(tt.masking, func(t *testing.T) {
			if got := PadID(tok, tt.masking); got != tt.want {
				t.Errorf("PadID = %d, want %d", got, tt.want)
			}
		})
	}
}

// llama3 loads the Llama-3-style tokenizer of testdata/llama3_tiny: a TemplateProcessing
// post-processor that puts <|begin_of_text|> before every sequence, eos <|eot_id|> and no
// pad_token. single, when not nil, replaces the template's single-sequence pieces.
func llama3(t *testing.T, single []any) *tokenizer.Tokenizer {
	t.Helper()
	src := filepath.Join("testdata", "llama3_tiny")
	dir := src
	if single != nil {
		data, err := os.ReadFile(filepath.Join(src, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		procs := m["post_processor"].(map[string]any)["processors"].([]any)
		procs[1].(map[string]any)["single"] = single
		procs[1].(map[string]any)["special_tokens"] = map[string]any{
			"<|begin_of_text|>": map[string]any{"id": "<|begin_of_text|>", "ids": []int{268}, "tokens": []string{"<|begin_of_text|>"}},
			"<|eot_id|>":        map[string]any{"id": "<|eot_id|>", "ids": []int{270}, "tokens": []string{"<|eot_id|>"}},
		}
		dir = t.TempDir()
		if data, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		cfg, err := os.ReadFile(filepath.Join(src, "tokenizer_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSpecialTokensOnce encodes with tokenizers whose post-processor adds special tokens: each
// appears once per sequence, where Hugging Face's tokenizer(prompt + response) puts it, never
// once per piece.
func TestSpecialTokensOnce(t *testing.T) {
	piece := func(kind, id string) map[string]any {
		return map[string]any{kind: map[string]any{"id": id, "type_id": 0}}
	}
	bos, seq, eot := piece("SpecialToken", "<|begin_of_text|>"), piece("Sequence", "A"), piece("SpecialToken", "<|eot_id|>")
	rec := alpacaRecs[0]
	tests := []struct {
		name   string
		single []any // nil: the committed Llama 3 template, <|begin_of_text|> $A
		bos    bool  // the sequence starts with <|begin_of_text|>
	}{
		{"llama 3: bos before", nil, true},
		{"bos before, eos after", []any{bos, seq, eot}, true},
		{"eos after", []any{seq, eot}, false},
	}
	for _, tt := range tests {
		for _, format := range []string{FormatSFT, FormatInstruction} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				tok := llama3(t, tt.single)
				eos := tok.EOS()
				if tok.TokenText(eos) != "<|eot_id|>" || tok.Pad() != -1 {
					t.Fatalf("eos %q, pad %d; want <|eot_id|> and none", tok.TokenText(eos), tok.Pad())
				}
				ex, err := Encode(tok, rec, EncodeOptions{Format: format, Masking: MaskCompletionOnly, MaxLength: 512})
				if err != nil {
					t.Fatal(err)
				}
				segs, err := segments(tok, rec, format)
				if err != nil {
					t.Fatal(err)
				}
				prompt, response := segs[0].text, segs[1].text
				// What Hugging Face's tokenizer(prompt + response) gives, with the eos once at the end.
				want := toInt32s(tok.Encode(prompt + response))
				if len(want) == 0 || want[len(want)-1] != int32(eos) {
					want = append(want, int32(eos))
				}
				if !slices.Equal(ex.IDs, want) {
					t.Fatalf("IDs %v\nwant %v (tokenizer(prompt + response), closed by one eos)", ex.IDs, want)
				}
				count := func(id int) int {
					n := 0
					for _, x := range ex.IDs {
						if int(x) == id {
							n++
						}
					}
					return n
				}
				if got := count(268); got != map[bool]int{true: 1}[tt.bos] {
					t.Errorf("<|begin_of_text|> occurs %d times", got)
				}
				if got := count(eos); got != 1 || ex.IDs[len(ex.IDs)-1] != int32(eos) {
					t.Errorf("eos occurs %d times, last id %d; want once, at the end", got, ex.IDs[len(ex.IDs)-1])
				}
				prefix := map[bool]int{true: 1}[tt.bos]
				if wantLen := prefix + len(tok.EncodePlain(prompt)); ex.PromptLen != wantLen {
					t.Errorf("PromptLen %d, want %d", ex.PromptLen, wantLen)
				}
				if got := tok.Decode(toInts(ex.IDs[ex.PromptLen:])); got != response+"<|eot_id|>" {
					t.Errorf("response and end %q, want %q", got, response+"<|eot_id|>")
				}
				for p := range ex.IDs {
					if trained := ex.Labels[p] != IgnoreIndex; trained != (p >= ex.PromptLen) || ex.AnswerLabels[p] != ex.Labels[p] {
						t.Fatalf("position %d (%q): label %d, answer label %d; want the response and its eos only",
							p, tok.TokenText(int(ex.IDs[p])), ex.Labels[p], ex.AnswerLabels[p])
					}
				}
				if got := PadID(tok, MaskEOSSafe); got != eos {
					t.Errorf("PadID without a pad_token = %d, want eos %d", got, eos)
				}
			})
		}
	}
}

// TestCountScored counts scored, prompt, answer and unseen positions on hand-made examples.
func TestCountScored(t *testing.T) {
	const ig = IgnoreIndex
	trained := []Example{
		// Labels 1 2 3 are trained; position 0's label 9 is never scored, so 9 is not "seen".
		{IDs: []int32{9, 1, 2, 3}, Labels: []int32{9, 1, 2, 3}},
		{IDs: []int32{5, 3}, Labels: []int32{ig, ig}},
	}
	evaluated := []Example{
		// prompt 1 4 | answer 2 9 (9 is the eos, masked by pad masking)
		{IDs: []int32{7, 1, 4, 2, 9}, Labels: []int32{7, 1, 4, 2, ig}, AnswerLabels: []int32{ig, ig, ig, 2, 9}},
		{IDs: []int32{8, 5}, Labels: []int32{8, 5}, AnswerLabels: []int32{ig, 5}},
	}
	got := CountScored(trained, evaluated)
	want := Scored{Scored: 4, Prompt: 2, Answer: 3, Unseen: 2, UnseenAnswer: 2}
	if got != want {
		t.Fatalf("CountScored = %+v, want %+v", got, want)
	}
	if got.PromptShare() != 0.5 || got.UnseenShare() != 0.5 || got.UnseenAnswerShare() != 2.0/3 {
		t.Errorf("shares %v %v %v, want 0.5 0.5 2/3", got.PromptShare(), got.UnseenShare(), got.UnseenAnswerShare())
	}
	if (CountScored(nil, nil) != Scored{}) || (Scored{}).PromptShare() != 0 {
		t.Error("empty sets: want zero counts and shares")
	}
}

// BenchmarkEncodeAll encodes the built-in teaching set in each format.
func BenchmarkEncodeAll(b *testing.B) {
	tok, err := qwen3()
	if err != nil {
		b.Fatal(err)
	}
	recs, err := Load("builtin:teaching_zh")
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range Formats() {
		b.Run(format, func(b *testing.B) {
			opts := EncodeOptions{Format: format, Masking: MaskCompletionOnly, MaxLength: 512}
			for b.Loop() {
				if _, _, err := EncodeAll(tok, recs, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncodeSentencePiece encodes with a SentencePiece-style tokenizer with byte fallback
// (Mistral-7B-v0.1's, written as Llama 2's is): <s> once before the sequence, </s> closing the
// response, and the response encoded as it continues the prompt, without a "▁" of its own, so that
// the ids are those of Hugging Face's tokenizer(prompt + response) followed by </s>.
func TestEncodeSentencePiece(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join("..", "tokenizer", "testdata", "mistral"))
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{Instruction: "把下面的句子翻译成英文。", Input: "今天天气很好。", Output: "The weather is nice today. 𠀀"}
	for _, format := range []string{FormatSFT, FormatInstruction} {
		t.Run(format, func(t *testing.T) {
			ex, err := Encode(tok, rec, EncodeOptions{Format: format, Masking: MaskCompletionOnly, MaxLength: 512})
			if err != nil {
				t.Fatal(err)
			}
			segs, err := segments(tok, rec, format)
			if err != nil {
				t.Fatal(err)
			}
			prompt := tok.EncodePlain(segs[0].text)
			response := tok.EncodeAfter(prompt[len(prompt)-1], segs[1].text)
			want := toInt32s(slices.Concat([]int{1}, tok.EncodePlain(segs[0].text+segs[1].text), []int{2}))
			if !slices.Equal(ex.IDs, want) {
				t.Fatalf("IDs %v\nwant <s> ++ plain(prompt + response) ++ </s> = %v", ex.IDs, want)
			}
			if got := toInt32s(slices.Concat([]int{1}, prompt, response, []int{2})); !slices.Equal(ex.IDs, got) {
				t.Errorf("IDs %v\nwant <s> ++ plain(prompt) ++ after(response) ++ </s> = %v", ex.IDs, got)
			}
			if first := tok.TokenText(response[0]); ex.PromptLen != 1+len(prompt) || first != "The" {
				t.Errorf("PromptLen %d, response starts with %q; want %d and \"The\" (no space)", ex.PromptLen, first, 1+len(prompt))
			}
			if want := "<s> " + segs[0].text + segs[1].text + "</s>"; ex.Text != want {
				t.Errorf("Text %q, want %q", ex.Text, want)
			}
			if got := tok.Decode(toInts(ex.IDs[ex.PromptLen:])); got != rec.Output+"</s>" {
				t.Errorf("response decodes to %q, want %q", got, rec.Output+"</s>")
			}
		})
	}
}

// TestEncodeBuiltinSentencePieceReference encodes the built-in teaching set in the sft and
// instruction formats with Mistral's tokenizer and compares with Hugging Face's ids of
// tokenizer(prompt + response), which tokenizer/testdata/mistral/pair_ids.json.gz records for
// each record's prompt and response (tokenizer/testdata/gen_reference_pairs.mjs): no merge joins
// a prompt's end to its response's start in this set, so the ids are the same, with the boundary
// where the prompt's own ids end.
func TestEncodeBuiltinSentencePieceReference(t *testing.T) {
	dir := filepath.Join("..", "tokenizer", "testdata", "mistral")
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "pair_ids.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Pairs []struct {
			Source, Prompt, Response string
			PromptIDs                []int `json:"prompt_ids"`
			IDs                      []int
		}
	}
	if err := json.NewDecoder(zr).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	recs, err := Load("builtin:teaching_zh")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatSFT, FormatInstruction} {
		t.Run(format, func(t *testing.T) {
			i := 0
			for _, p := range ref.Pairs {
				if p.Source != "builtin "+format {
					continue
				}
				if i >= len(recs) {
					t.Fatalf("more %s pairs in the reference than the %d records of the set", format, len(recs))
				}
				segs, err := segments(tok, recs[i], format)
				if err != nil {
					t.Fatal(err)
				}
				if len(segs) != 2 || segs[0].text != p.Prompt || segs[1].text != p.Response {
					t.Fatalf("record %d renders as %+v, the reference has (%q, %q): regenerate it", i, segs, p.Prompt, p.Response)
				}
				ex, err := Encode(tok, recs[i], EncodeOptions{Format: format, Masking: MaskCompletionOnly, MaxLength: 4096})
				if err != nil {
					t.Fatal(err)
				}
				if want := toInt32s(slices.Concat([]int{1}, p.IDs, []int{2})); !slices.Equal(ex.IDs, want) {
					t.Errorf("record %d: IDs %v\nwant <s> ++ Hugging Face's tokenizer(prompt + response) ++ </s> = %v", i, ex.IDs, want)
				}
				if want := 1 + len(p.PromptIDs); ex.PromptLen != want {
					t.Errorf("record %d: PromptLen %d, want %d", i, ex.PromptLen, want)
				}
				i++
			}
			if i != len(recs) {
				t.Errorf("%d %s pairs in the reference, want one per record (%d)", i, format, len(recs))
			}
		})
	}
}
