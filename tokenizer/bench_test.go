package tokenizer

import (
	"flag"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sftlab/sftlab/internal/atomicfile"
)

var benchTextPath = flag.String("benchtext", "", "write the benchmark text to this file (to time other tokenizers on it)")

// benchText returns about size bytes of mixed Chinese and English text, one paragraph per line,
// built deterministically from the tokenizer's own words: Chinese sentences of 1-4 character
// words, English sentences, numbers and punctuation.
func benchText(tok *Tokenizer, size int) string {
	var zh, en []string
	for _, s := range tok.tokens {
		switch {
		case isHan(s):
			zh = append(zh, s)
		case len(s) >= 4 && len(s) <= 11 && s[0] == ' ' && isLowerASCII(s[1:]):
			en = append(en, s[1:])
		}
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	var b strings.Builder
	for b.Len() < size {
		for range 1 + rng.IntN(4) {
			if rng.IntN(2) == 0 {
				for range 4 + rng.IntN(16) {
					b.WriteString(pick(zh))
					if rng.IntN(8) == 0 {
						b.WriteString("，")
					}
				}
				b.WriteString(pick([]string{"。", "！", "？", "："}))
			} else {
				for i := range 4 + rng.IntN(14) {
					w := pick(en)
					if i == 0 {
						w = strings.ToUpper(w[:1]) + w[1:]
					} else {
						b.WriteByte(' ')
					}
					b.WriteString(w)
					switch rng.IntN(12) {
					case 0:
						b.WriteString(",")
					case 1:
						b.WriteString(" " + strings.Repeat("7", 1+rng.IntN(4)))
					}
				}
				b.WriteString(pick([]string{". ", "? ", "! ", "; "}))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func isHan(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 1 || n > 4 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return true
}

func isLowerASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// BenchmarkEncode encodes 1 MiB of mixed Chinese and English text line by line (a paragraph per
// line, as a dataset is encoded), with the pre-token cache warm from earlier iterations and cold.
func BenchmarkEncode(b *testing.B) {
	tok := loadQwen3(b)
	text := benchText(tok, 1<<20)
	if *benchTextPath != "" {
		if err := atomicfile.WriteFile(*benchTextPath, []byte(text)); err != nil {
			b.Fatal(err)
		}
	}
	lines := strings.SplitAfter(text, "\n")
	b.Run("lines", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			for _, l := range lines {
				tok.Encode(l)
			}
		}
	})
	b.Run("lines-cold-cache", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			tok.cacheMu.Lock()
			clear(tok.cache)
			tok.cacheMu.Unlock()
			for _, l := range lines {
				tok.Encode(l)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			tok.Encode(text)
		}
	})
}
