package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/tokenizer"
)

// tokenizeOpts holds the flags of `sftlab tokenize`.
type tokenizeOpts struct {
	*globalOpts
	tokenizer string // directory with tokenizer.json; "" for the built-in Qwen3 tokenizer
	jsonl     bool   // one JSON string per input line, one JSON array per output line
}

// newTokenizeCmd builds `sftlab tokenize`.
func newTokenizeCmd(g *globalOpts) *cobra.Command {
	o := &tokenizeOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "tokenize",
		Short: "Print the token ids of the text on stdin",
		Long: `tokenize reads text from stdin and prints its token ids, as Hugging Face's tokenizers
encode it (added and special tokens included). Without --jsonl all of stdin is one text and the
ids are printed on one line, separated by spaces. With --jsonl each input line is a JSON string
and each output line the JSON array of its ids.

  echo -n '今天天气很好' | sftlab tokenize
  printf '"hello"\n"<|im_start|>user"\n' | sftlab tokenize --jsonl
  sftlab tokenize --tokenizer ./Llama-3.2-1B < prompt.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return tokenizeRun(o) },
	}
	cmd.Flags().StringVar(&o.tokenizer, "tokenizer", "", "directory with tokenizer.json(.gz) and tokenizer_config.json (default: the built-in Qwen3 tokenizer)")
	cmd.Flags().BoolVar(&o.jsonl, "jsonl", false, "read one JSON string per line and print one JSON array of ids per line")
	return cmd
}

// tokenizeRun encodes stdin and writes the ids to stdout.
func tokenizeRun(o *tokenizeOpts) error {
	tok, err := tokenizer.Open(o.tokenizer)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(o.stdout)
	if o.jsonl {
		err = tokenizeLines(tok, o.stdin, w)
	} else {
		err = tokenizeAll(tok, o.stdin, w)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// tokenizeAll encodes all of r as one text.
func tokenizeAll(tok tokenizer.Encoder, r io.Reader, w *bufio.Writer) error {
	text, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("tokenize: reading stdin: %w", err)
	}
	var buf []byte
	for i, id := range tok.Encode(string(text)) {
		if i > 0 {
			w.WriteByte(' ')
		}
		buf = strconv.AppendInt(buf[:0], int64(id), 10)
		w.Write(buf)
	}
	return w.WriteByte('\n')
}

// tokenizeLines encodes each line of r, a JSON string, into a JSON array.
func tokenizeLines(tok tokenizer.Encoder, r io.Reader, w *bufio.Writer) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("tokenize: reading stdin: %w", err)
		}
		if trimmed := strings.TrimSpace(line); trimmed != "" {
			var text string
			if jerr := json.Unmarshal([]byte(trimmed), &text); jerr != nil {
				return fmt.Errorf("tokenize: stdin line %d: want a JSON string (--jsonl): %w", n, jerr)
			}
			out, jerr := json.Marshal(tok.Encode(text))
			if jerr != nil {
				return fmt.Errorf("tokenize: stdin line %d: %w", n, jerr)
			}
			w.Write(out)
			w.WriteByte('\n')
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}
