package datasets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ANSI styles used by WritePreview when colour is on.
const (
	ansiTrained = "\x1b[1;32m" // bold green
	ansiMasked  = "\x1b[2m"    // dim
	ansiBold    = "\x1b[1m"
	ansiReset   = "\x1b[0m"
)

// Token markers in the preview's token list.
const (
	markTrained = "train"
	markMasked  = "mask"
)

// PreviewOptions controls WritePreview.
type PreviewOptions struct {
	Color bool // highlight trained tokens and dim masked ones with ANSI escapes
}

// WritePreview writes a human-readable view of exs: for each example its counts, its text
// exactly as decoded from its ids (special tokens shown, each line prefixed by "│ "), and its
// tokens one per line with position, id, label marker and quoted token text.
func WritePreview(w io.Writer, tok Tokenizer, exs []Example, opts PreviewOptions) error {
	bw := bufio.NewWriter(w)
	style := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + ansiReset
	}
	for i, ex := range exs {
		if i > 0 {
			bw.WriteString("\n")
		}
		fmt.Fprintf(bw, "%s %d tokens: %d trained, %d masked, %s\n",
			style(ansiBold, fmt.Sprintf("example %d:", i+1)), len(ex.IDs), ex.Trained(), ex.Masked(), truncatedWord(ex))
		for line := range strings.SplitSeq(ex.Text, "\n") {
			bw.WriteString("│ " + line + "\n")
		}
		fmt.Fprintf(bw, "%5s %8s %-5s %s\n", "pos", "id", "label", "token")
		for p, id := range ex.IDs {
			mark, code := markTrained, ansiTrained
			if ex.Labels[p] == IgnoreIndex {
				mark, code = markMasked, ansiMasked
			}
			row := fmt.Sprintf("%5d %8d %-5s %s", p, id, mark, strconv.Quote(tok.TokenText(int(id))))
			bw.WriteString(style(code, row) + "\n")
		}
	}
	return bw.Flush()
}

func truncatedWord(ex Example) string {
	if ex.Truncated {
		return fmt.Sprintf("truncated (%d tokens before truncation)", ex.FullLen)
	}
	return "not truncated"
}

// WriteStats writes the dataset summary: example count, the length distribution (tokens before
// truncation), how many examples maxLength truncates, and the trained and masked token counts.
func WriteStats(w io.Writer, st Stats, maxLength int) error {
	_, err := fmt.Fprintf(w, "dataset: %d examples, %d truncated at max_length %d\n"+
		"lengths (tokens before truncation): min %d, median %d, p95 %d, max %d\n"+
		"labels: %d trained, %d masked\n",
		st.N, st.Truncated, maxLength, st.MinLen, st.MedianLen, st.P95Len, st.MaxLen, st.TrainedTokens, st.MaskedTokens)
	return err
}

// JSONExample is the JSON form of one example written by WriteJSON.
type JSONExample struct {
	Index     int     `json:"index"`
	Format    string  `json:"format"`
	Masking   string  `json:"masking"`
	Text      string  `json:"text"`
	IDs       []int32 `json:"ids"`
	Labels    []int32 `json:"labels"`
	PromptLen int     `json:"prompt_len"`
	Truncated bool    `json:"truncated"`
}

// WriteJSON writes one JSON object per line for each example, with text, ids and labels (-100
// where masked). HTML characters are not escaped, so special tokens read as themselves.
func WriteJSON(w io.Writer, exs []Example, opts EncodeOptions) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, ex := range exs {
		je := JSONExample{Index: i, Format: opts.Format, Masking: opts.Masking, Text: ex.Text, IDs: ex.IDs,
			Labels: ex.Labels, PromptLen: ex.PromptLen, Truncated: ex.Truncated}
		if err := enc.Encode(je); err != nil {
			return fmt.Errorf("example %d: %w", i, err)
		}
	}
	return nil
}
