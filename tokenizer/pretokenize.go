package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The Split patterns this package scans by hand. They differ only in how many digits a number
// pre-token may hold.
const (
	// qwenPattern is the Split regex of Qwen2 and Qwen3: one digit per pre-token.
	qwenPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// llama3Pattern is the Split regex of Llama 3: up to three digits per pre-token.
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// knownPatterns maps each supported Split regex to the longest run of digits it keeps together.
func knownPatterns() map[string]int {
	return map[string]int{qwenPattern: 1, llama3Pattern: 3}
}

// Rune classes of the Split pattern. Every rune is exactly one of them.
const (
	classOther   uint8 = iota // [^\s\p{L}\p{N}]
	classLetter               // \p{L}
	classNumber               // \p{N}
	classSpace                // \s other than CR and LF
	classNewline              // \r or \n
)

// bmpClasses caches the class of every rune of the Basic Multilingual Plane; it is computed once
// and never changed.
var bmpClasses = sync.OnceValue(func() *[0x10000]uint8 {
	var t [0x10000]uint8
	for r := range t {
		t[r] = classifySlow(rune(r))
	}
	return &t
})

// classifySlow classifies r with the unicode tables. \s is Unicode's White_Space property, which
// is what unicode.IsSpace tests.
func classifySlow(r rune) uint8 {
	switch {
	case r == '\r' || r == '\n':
		return classNewline
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// splitter cuts normalized text into the pre-tokens of the Split pattern
// (behavior Isolated: every match is a pre-token; the pattern matches every position).
type splitter struct {
	classes   *[0x10000]uint8
	maxDigits int // 1 for Qwen, 3 for Llama 3
}

// runeAt decodes the rune at s[i:] and returns its class and width. Invalid UTF-8 counts as a
// one-byte "other" rune.
func (p *splitter) runeAt(s string, i int) (class uint8, width int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return p.classes[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return classOther, 1
	}
	if r < 0x10000 {
		return p.classes[r], w
	}
	return classifySlow(r), w
}

// skip returns the end of the run of runes of class want starting at i.
func (p *splitter) skip(s string, i int, want uint8) int {
	for i < len(s) {
		c, w := p.runeAt(s, i)
		if c != want {
			break
		}
		i += w
	}
	return i
}

// next returns the end of the pre-token that starts at s[i] (i < len(s)), trying the pattern's
// alternatives in order, as a backtracking regex engine does.
func (p *splitter) next(s string, i int) int {
	c0, w0 := p.runeAt(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if s[i] == '\'' {
		if n := contraction(s[i+1:]); n > 0 {
			return i + 1 + n
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == classLetter {
		return p.skip(s, i, classLetter)
	}
	if (c0 == classOther || c0 == classSpace) && i+w0 < len(s) {
		if c1, _ := p.runeAt(s, i+w0); c1 == classLetter {
			return p.skip(s, i+w0, classLetter)
		}
	}
	// \p{N} or \p{N}{1,3}
	if c0 == classNumber {
		end := i + w0
		for range p.maxDigits - 1 {
			if end >= len(s) {
				break
			}
			c, w := p.runeAt(s, end)
			if c != classNumber {
				break
			}
			end += w
		}
		return end
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	j := i
	if s[i] == ' ' {
		j++
	}
	if j < len(s) {
		if c, _ := p.runeAt(s, j); c == classOther {
			end := p.skip(s, j, classOther)
			for end < len(s) && (s[end] == '\r' || s[end] == '\n') {
				end++
			}
			return end
		}
	}
	// Here s[i] starts a whitespace run: `\s*[\r\n]+`, then `\s+(?!\S)`, then `\s+`.
	end, lastNewline, lastStart := i, -1, i
	for end < len(s) {
		c, w := p.runeAt(s, end)
		if c != classSpace && c != classNewline {
			break
		}
		if c == classNewline {
			lastNewline = end
		}
		lastStart = end
		end += w
	}
	switch {
	case lastNewline >= 0:
		return lastNewline + 1
	case end == len(s) || lastStart == i:
		return end
	default:
		return lastStart
	}
}

// contraction returns the length of the contraction suffix (after the apostrophe) that s starts
// with, matching case-insensitively as Oniguruma does (U+017F LONG S folds to s), or 0.
func contraction(s string) int {
	if s == "" {
		return 0
	}
	// Only ASCII letters become their lower case under |0x20 and land on these letters.
	switch s[0] | 0x20 {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) >= 2 && s[1]|0x20 == 'e' {
			return 2
		}
	case 'l':
		if len(s) >= 2 && s[1]|0x20 == 'l' {
			return 2
		}
	}
	if len(s) >= 2 && s[0] == 0xC5 && s[1] == 0xBF { // ſ
		return 2
	}
	return 0
}
